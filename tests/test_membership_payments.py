"""Memberships are paid for: test mode records a paid test payment, Stripe Checkout makes the
membership wait for the webhook, and with neither nothing is granted (nor renewed)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from parkapp.extensions import db
from parkapp.memberships import renewals as membership_renewals
from parkapp.memberships import subscriptions as memberships
from parkapp.models import (
    Membership,
    MembershipPayment,
    MembershipStatus,
    PaymentStatus,
    utcnow,
)
from tests.conftest import hours_from_now, iso
from tests.stripe_stub import WEBHOOK_SECRET, StripeStub
from tests.test_api_memberships import PLAN, add_vehicles, subscribe
from tests.test_memberships import a_car, make_plan

API = "/api/v1"
WEBHOOK = f"{API}/payments/stripe/webhook"


@pytest.fixture
def plan(client, admin_headers):
    response = client.post(f"{API}/membership-plans", json=PLAN, headers=admin_headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def no_payments(app, monkeypatch):
    """As in production without a Stripe key: PAYMENTS_TEST_MODE=false."""
    monkeypatch.setitem(app.config, "PAYMENTS_TEST_MODE", False)


@pytest.fixture
def stub(app, monkeypatch):
    server = StripeStub().start()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_parkapp")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", server.url)
    yield server
    server.stop()


def count(model):
    db.session.rollback()
    return db.session.scalar(select(func.count(model.id)))


def quote_total(client, headers, lot):
    stay = {
        "lot_id": lot.id,
        "starts_at": iso(hours_from_now(2)),
        "ends_at": iso(hours_from_now(4)),
        "vehicle_plate": "AB12CDE",
    }
    return client.post(f"{API}/quotes", json=stay, headers=headers).get_json()["total_cents"]


def test_without_any_payment_service_subscribing_is_refused_and_grants_nothing(
    client, driver_headers, lot, plan, no_payments
):
    [car] = add_vehicles(client, driver_headers, "AB12 CDE")
    before = quote_total(client, driver_headers, lot)

    response = subscribe(client, driver_headers, plan["id"], [car])

    assert response.status_code == 503, response.get_json()
    body = response.get_json()
    assert body["code"] == "payments_unavailable" and body["message"]
    assert set(body) == {"message", "code", "errors"}
    assert count(Membership) == 0 and count(MembershipPayment) == 0
    assert quote_total(client, driver_headers, lot) == before == 400


def test_test_mode_subscription_carries_a_paid_test_payment_with_a_receipt(
    client, driver_headers, lot, plan
):
    [car] = add_vehicles(client, driver_headers, "AB12 CDE")
    response = subscribe(client, driver_headers, plan["id"], [car])

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    payment = body["payment"]
    assert body["status"] == "active"
    assert (payment["status"], payment["purpose"], payment["test_mode"]) == (
        "paid",
        "subscribe",
        True,
    )
    assert payment["amount"]["amount_cents"] == 4900 and payment["receipt_number"].startswith("M-")
    assert payment["paid_at"] and payment["checkout_url"] is None
    assert count(MembershipPayment) == 1


def test_idempotency_key_again_returns_the_first_membership_and_charges_once(
    client, driver_headers, plan
):
    headers = {**driver_headers, "Idempotency-Key": "member-1"}
    [car] = add_vehicles(client, driver_headers, "IDEM 1")
    body = {"plan_id": plan["id"], "vehicle_ids": [car]}
    first = client.post(f"{API}/memberships", json=body, headers=headers)
    again = client.post(f"{API}/memberships", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(MembershipPayment) == 1


def test_with_stripe_the_membership_waits_for_its_checkout_to_be_paid(
    client, driver_headers, lot, plan, stub
):
    [car] = add_vehicles(client, driver_headers, "AB12 CDE")
    before = quote_total(client, driver_headers, lot)
    response = subscribe(client, driver_headers, plan["id"], [car])

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["total_paid"]["amount_cents"] == 0
    assert body["payment"]["status"] == "pending" and body["payment"]["test_mode"] is False
    payment = db.session.get(MembershipPayment, body["payment"]["id"])
    assert body["payment"]["checkout_url"].endswith(payment.provider_ref)
    assert quote_total(client, driver_headers, lot) == before  # nothing until it is paid

    session = stub.complete(payment.provider_ref)
    payload, headers = stub.event("checkout.session.completed", session)
    for _ in range(2):  # Stripe may deliver twice: one term all the same
        assert client.post(WEBHOOK, data=payload, headers=headers).status_code == 200
    db.session.expire_all()
    membership = db.session.get(Membership, body["id"])
    assert membership.status == MembershipStatus.ACTIVE and membership.total_paid_cents == 4900
    assert payment.status == PaymentStatus.PAID
    assert quote_total(client, driver_headers, lot) < before


def test_an_expired_checkout_ends_the_waiting_membership(client, driver_headers, plan, stub):
    body = subscribe(client, driver_headers, plan["id"]).get_json()
    payment = db.session.get(MembershipPayment, body["payment"]["id"])
    session = dict(stub.sessions[payment.provider_ref], status="expired")
    payload, headers = stub.event("checkout.session.expired", session)
    assert client.post(WEBHOOK, data=payload, headers=headers).status_code == 200
    db.session.expire_all()
    assert db.session.get(Membership, body["id"]).status == MembershipStatus.EXPIRED
    assert payment.status == PaymentStatus.FAILED
    assert subscribe(client, driver_headers, plan["id"]).status_code == 201  # may try again


def test_stripe_down_creates_no_membership(client, driver_headers, plan, stub):
    stub.fail.add("checkout")
    response = subscribe(client, driver_headers, plan["id"])
    assert response.status_code == 503
    assert response.get_json()["code"] == "payment_provider_unavailable"
    assert count(Membership) == 0 and count(MembershipPayment) == 0


def test_memberships_page_shows_the_refusal_next_to_the_form(client, auth, driver, no_payments):
    plan = make_plan()
    car = a_car(driver)
    auth.login()
    response = client.post(
        f"/memberships/plans/{plan.id}",
        data={f"plan{plan.id}-plan_id": plan.id, f"plan{plan.id}-vehicle_ids": car},
    )
    assert response.status_code == 503
    assert "cannot be paid for right now" in response.get_data(as_text=True)
    assert count(Membership) == 0


def test_renewing_by_hand_without_payments_is_refused(client, driver, driver_headers, app):
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    ends = membership.ends_at
    app.config["PAYMENTS_TEST_MODE"] = False
    try:
        response = client.post(f"{API}/memberships/{membership.id}/renew", headers=driver_headers)
    finally:
        app.config["PAYMENTS_TEST_MODE"] = True
    assert response.status_code == 503 and response.get_json()["code"] == "payments_unavailable"
    db.session.expire_all()
    assert membership.ends_at == ends and membership.renewals == 0


def _ended(membership):
    now = utcnow()
    membership.starts_at, membership.ends_at = now - timedelta(days=31), now - timedelta(minutes=5)
    db.session.commit()
    return now


def test_auto_renewal_without_payments_fails_into_grace_instead_of_extending(
    app, driver, no_payments
):
    app.config["PAYMENTS_TEST_MODE"] = True  # subscribed while payments worked
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    app.config["PAYMENTS_TEST_MODE"] = False
    now = _ended(membership)

    assert membership_renewals.settle_due(now)["failed"] == 1

    db.session.expire_all()
    assert membership.status == MembershipStatus.ACTIVE and membership.ends_at < now
    assert membership.grace_until > now  # test_membership_renewals.py follows it to the end
    assert membership.total_paid_cents == 4900 and count(MembershipPayment) == 1


def test_auto_renewal_in_test_mode_takes_one_payment_per_term(driver):
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    now = _ended(membership)

    membership_renewals.settle_due(now)
    membership_renewals.settle_due(now)

    db.session.expire_all()
    assert membership.renewals == 1 and membership.total_paid_cents == 9800
    purposes = [(p.purpose, p.status) for p in membership.payments]
    assert purposes == [("subscribe", PaymentStatus.PAID), ("renew", PaymentStatus.PAID)]

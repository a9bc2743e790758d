"""Online payment through Stripe Checkout, against a loopback stand-in for api.stripe.com:
checkout sessions, the signed webhook (signed with the stripe library), refunds."""

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from parkapp.billing import bills as billing
from parkapp.billing import refunds
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Payment, PaymentStatus, Refund, utcnow
from tests.conftest import api_book, reservation
from tests.stripe_stub import WEBHOOK_SECRET, StripeStub, signed_event

API = "/api/v1"
WEBHOOK = f"{API}/payments/stripe/webhook"


@pytest.fixture
def stub(app, monkeypatch):
    """Stripe configured, and pointed at a stand-in running on loopback."""
    server = StripeStub().start()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_parkapp")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", server.url)
    yield server
    server.stop()


def checkout(client, headers, booking, amount=400, key="online-1"):
    return client.post(
        f"{API}/payments",
        json={"booking_id": booking.id, "method": "online", "amount_cents": amount},
        headers={**headers, "Idempotency-Key": key},
    )


def opened(client, headers, booking, stub, amount=400):
    """A pending payment and its session at the stand-in."""
    response = checkout(client, headers, booking, amount)
    assert response.status_code == 201, response.get_json()
    payment = db.session.get(Payment, response.get_json()["id"])
    return payment, stub.sessions[payment.provider_ref]


def deliver(client, stub, kind, session, **kwargs):
    payload, headers = stub.event(kind, session, **kwargs)
    response = client.post(WEBHOOK, data=payload, headers=headers)
    db.session.expire_all()
    return response


# -- opening a checkout --------------------------------------------------------------------


def test_online_payment_opens_a_stripe_checkout(client, driver, driver_headers, lot, stub):
    booking = reservation(client, driver_headers, lot)
    response = checkout(client, driver_headers, booking)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "pending" and body["paid_at"] is None
    assert body["receipt_url"] is None
    payment = db.session.get(Payment, body["id"])
    assert (payment.provider, payment.status) == ("stripe", PaymentStatus.PENDING)
    assert body["checkout_url"] == f"https://checkout.stripe.test/c/pay/{payment.provider_ref}"
    (call,) = stub.calls("POST", "/v1/checkout/sessions")
    form = call["form"]
    assert form["line_items[0][price_data][unit_amount]"] == "400"
    assert form["line_items[0][price_data][currency]"] == "gbp"
    assert form["client_reference_id"] == str(payment.id)
    assert form["customer_email"] == driver.email
    assert form["success_url"].endswith(
        f"/bookings/{booking.id}/checkout-return?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert call["headers"]["Authorization"] == "Bearer sk_test_parkapp"
    assert call["headers"]["Idempotency-Key"] == f"parkapp-checkout-{payment.receipt_number}"
    assert billing.bill(booking).due_cents == 400  # nothing paid until Stripe says so
    again = checkout(client, driver_headers, booking)  # the same key: the same answer
    assert again.status_code == 201 and again.get_json() == body
    assert len(stub.calls("POST", "/v1/checkout/sessions")) == 1


def test_a_second_checkout_while_one_is_open_is_409(client, driver_headers, lot, stub):
    booking = reservation(client, driver_headers, lot)
    opened(client, driver_headers, booking, stub)
    response = checkout(client, driver_headers, booking, key="online-2")
    assert response.status_code == 409 and response.get_json()["code"] == "checkout_open"


def test_stripe_unreachable_leaves_no_payment(client, driver_headers, lot, stub):
    booking = reservation(client, driver_headers, lot)
    stub.fail.add("checkout")
    response = checkout(client, driver_headers, booking)
    assert response.status_code == 503
    assert response.get_json()["code"] == "payment_provider_unavailable"
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_a_grown_bill_closes_the_stale_checkout_and_opens_a_new_one(
    client, driver_headers, lot, stub
):
    response = api_book(client, driver_headers, lot, starts_at=None, ends_at=None)
    booking = db.session.get(Booking, response.get_json()["id"])
    booking.starts_at = booking.checked_in_at = utcnow() - timedelta(minutes=50)
    db.session.commit()
    first, _ = opened(client, driver_headers, booking, stub, amount=200)
    booking.starts_at = booking.checked_in_at = utcnow() - timedelta(minutes=110)
    db.session.commit()
    response = checkout(client, driver_headers, booking, amount=400, key="online-2")
    assert response.status_code == 201, response.get_json()
    assert stub.sessions[first.provider_ref]["status"] == "expired"
    db.session.expire_all()
    assert first.status == PaymentStatus.FAILED


# -- the webhook ---------------------------------------------------------------------------


def test_a_signed_completed_event_marks_the_payment_paid_once(client, driver_headers, lot, stub):
    booking = reservation(client, driver_headers, lot)
    payment, session = opened(client, driver_headers, booking, stub)
    response = deliver(client, stub, "checkout.session.completed", stub.complete(session["id"]))
    assert response.status_code == 200 and response.get_json() == {"received": True}
    assert payment.status == PaymentStatus.PAID and payment.paid_at is not None
    assert billing.bill(booking).due_cents == 0
    paid_at = payment.paid_at
    for _ in range(2):  # Stripe delivers again: nothing changes
        assert deliver(client, stub, "checkout.session.completed", session).status_code == 200
    assert (payment.status, payment.paid_at, payment.refunded_cents) == (
        PaymentStatus.PAID,
        paid_at,
        0,
    )
    assert db.session.scalar(select(func.count(Payment.id))) == 1
    assert stub.calls("POST", "/v1/refunds") == []
    receipt = client.get(f"{API}/payments/{payment.id}/receipt", headers=driver_headers)
    assert receipt.status_code == 200


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "whsec_someone_else"},
        {"timestamp": int(time.time()) - 3600},  # an old delivery replayed
    ],
)
def test_a_badly_signed_event_is_400_and_changes_nothing(client, driver_headers, lot, stub, tamper):
    booking = reservation(client, driver_headers, lot)
    payment, session = opened(client, driver_headers, booking, stub)
    response = deliver(
        client, stub, "checkout.session.completed", stub.complete(session["id"]), **tamper
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_signature"
    assert payment.status == PaymentStatus.PENDING


def test_an_unsigned_or_altered_body_is_400(client, driver_headers, lot, stub):
    booking = reservation(client, driver_headers, lot)
    _, session = opened(client, driver_headers, booking, stub)
    payload, headers = stub.event("checkout.session.completed", stub.complete(session["id"]))
    assert client.post(WEBHOOK, data=payload).status_code == 400
    altered = payload.replace('"amount_total": 400', '"amount_total": 1')
    assert client.post(WEBHOOK, data=altered, headers=headers).status_code == 400


def test_a_completed_event_for_another_amount_is_refused(client, driver_headers, lot, stub):
    booking = reservation(client, driver_headers, lot)
    payment, session = opened(client, driver_headers, booking, stub)
    stub.complete(session["id"])
    response = deliver(client, stub, "checkout.session.completed", session, amount_total=100)
    assert response.status_code == 422
    assert payment.status == PaymentStatus.PENDING


def test_an_expired_checkout_fails_the_payment_and_a_new_one_can_start(
    client, driver_headers, lot, stub
):
    booking = reservation(client, driver_headers, lot)
    payment, session = opened(client, driver_headers, booking, stub)
    session.update(status="expired")
    assert deliver(client, stub, "checkout.session.expired", session).status_code == 200
    assert payment.status == PaymentStatus.FAILED
    assert checkout(client, driver_headers, booking, key="online-2").status_code == 201


def test_events_about_other_sessions_are_ignored(client, stub):
    session = {"id": "cs_test_elsewhere", "object": "checkout.session", "payment_status": "paid"}
    assert deliver(client, stub, "checkout.session.completed", session).status_code == 200
    assert deliver(client, stub, "customer.created", {"id": "cus_1"}).status_code == 200


# -- refunds through Stripe ----------------------------------------------------------------


def paid_online(client, headers, lot, stub):
    booking = reservation(client, headers, lot)
    payment, session = opened(client, headers, booking, stub)
    deliver(client, stub, "checkout.session.completed", stub.complete(session["id"]))
    assert payment.status == PaymentStatus.PAID
    return booking, payment


def test_cancelling_in_time_refunds_through_stripe(client, driver_headers, lot, stub):
    booking, payment = paid_online(client, driver_headers, lot, stub)
    response = client.post(f"{API}/bookings/{booking.id}/cancel", headers=driver_headers)
    assert response.status_code == 200
    assert response.get_json()["refund"] == {"amount_cents": 400, "currency": "GBP"}
    (call,) = stub.calls("POST", "/v1/refunds")
    assert call["form"]["payment_intent"] == f"pi_{payment.provider_ref}"
    assert call["form"]["amount"] == "400"
    assert call["headers"]["Idempotency-Key"] == f"parkapp-refund-{payment.id}-cancel"
    db.session.expire_all()
    (refund,) = db.session.scalars(select(Refund)).all()
    assert refund.provider_ref in stub.refunds and payment.status == PaymentStatus.REFUNDED


def test_a_refund_stripe_cannot_make_leaves_the_reservation_standing(
    client, driver_headers, lot, stub
):
    booking, payment = paid_online(client, driver_headers, lot, stub)
    stub.fail.add("refund")
    response = client.post(f"{API}/bookings/{booking.id}/cancel", headers=driver_headers)
    assert response.status_code == 503
    assert "nothing was changed" in response.get_json()["message"]
    db.session.expire_all()
    assert booking.status == BookingStatus.RESERVED and payment.status == PaymentStatus.PAID
    assert db.session.scalars(select(Refund)).all() == []
    stub.fail.clear()
    response = client.post(f"{API}/bookings/{booking.id}/cancel", headers=driver_headers)
    assert response.status_code == 200 and response.get_json()["refund"]["amount_cents"] == 400
    assert len(stub.refunds) == 1


def test_money_taken_after_the_booking_was_cancelled_is_given_back(
    client, driver_headers, lot, stub
):
    booking = reservation(client, driver_headers, lot)
    payment, session = opened(client, driver_headers, booking, stub)
    assert (
        client.post(f"{API}/bookings/{booking.id}/cancel", headers=driver_headers).status_code
        == 200
    )
    db.session.expire_all()
    assert payment.status == PaymentStatus.FAILED  # the open checkout was closed ...
    assert stub.sessions[session["id"]]["status"] == "expired"
    session.update(status="complete", payment_status="paid", payment_intent="pi_late")
    deliver(client, stub, "checkout.session.completed", session)  # ... but was paid anyway
    assert (payment.status, payment.refunded_cents) == (PaymentStatus.REFUNDED, 400)
    assert payment.refunds[0].reason == refunds.PAID_AFTER_CANCEL


def test_a_stay_paid_twice_gets_the_second_payment_back(
    client, driver_headers, operator_headers, lot, stub
):
    response = api_book(client, driver_headers, lot, starts_at=None, ends_at=None)
    booking = db.session.get(Booking, response.get_json()["id"])
    booking.starts_at = booking.checked_in_at = utcnow() - timedelta(minutes=30)
    db.session.commit()
    payment, session = opened(client, driver_headers, booking, stub, amount=200)
    cash = client.post(
        f"{API}/payments",
        json={"booking_id": booking.id, "method": "cash", "amount_cents": 200},
        headers=operator_headers,
    )
    assert cash.status_code == 201
    deliver(client, stub, "checkout.session.completed", stub.complete(session["id"]))
    assert (payment.status, payment.refunded_cents) == (PaymentStatus.REFUNDED, 200)
    assert payment.refunds[0].reason == refunds.OVERPAID
    assert billing.bill(booking).paid_cents == 200


# -- the driver's page ---------------------------------------------------------------------


def test_pay_now_sends_the_driver_to_checkout_and_back(client, auth, driver, lot, stub):
    auth.login(driver.email)
    booking = reservation(client, auth.headers(driver.email), lot)
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Pay now" in page and "test mode" not in page
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    form = {"amount_cents": "400", "idempotency_key": key}
    response = client.post(f"/bookings/{booking.id}/pay", data=form)
    payment = db.session.scalar(select(Payment))
    assert response.status_code == 303
    assert response.location == f"https://checkout.stripe.test/c/pay/{payment.provider_ref}"
    other = client.post(f"/bookings/{booking.id}/pay", data={**form, "idempotency_key": "new"})
    assert other.status_code == 303 and other.location == response.location  # the open one
    stub.complete(payment.provider_ref)  # paid at Stripe; the webhook has not arrived yet
    back = client.get(
        f"/bookings/{booking.id}/checkout-return?session_id={payment.provider_ref}",
        follow_redirects=True,
    )
    assert "Payment of 4.00 GBP received." in back.get_data(as_text=True)
    db.session.expire_all()
    assert payment.status == PaymentStatus.PAID


def test_without_a_webhook_secret_every_event_is_refused(client):
    session = {"id": "cs_test_1", "object": "checkout.session", "payment_status": "paid"}
    payload, headers = signed_event("checkout.session.completed", session)
    assert client.post(WEBHOOK, data=payload, headers=headers).status_code == 400

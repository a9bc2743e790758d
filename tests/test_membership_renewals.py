"""Memberships a driver pays for: a vehicle to subscribe, auto-renew chosen and changed, each
renewal's receipt mailed (PDF read back), a failed renewal's grace period with daily retries
and its lapse, across simulated days; exactly once under two workers. API and page.

Mail goes through the session's real SMTP server (aiosmtpd) and is read back from it.
"""

import io
import re
import threading
from datetime import timedelta

import pytest
from pypdf import PdfReader

from parkapp.billing import membership_receipts
from parkapp.extensions import db
from parkapp.memberships import renewals
from parkapp.memberships import subscriptions as memberships
from parkapp.memberships import usage as membership_usage
from parkapp.models import Membership, MembershipStatus, utcnow
from tests.test_api_memberships import API, add_vehicles, subscribe
from tests.test_exports import run_task, set_eager
from tests.test_memberships import a_car, make_plan
from tests.test_pages_discounts import page_text

DAY = timedelta(days=1)
TASK = "parkapp.tasks.upkeep.membership_renewals"


@pytest.fixture
def no_payments(app, monkeypatch):
    """As in production without a Stripe key: no payment can be taken unattended."""
    monkeypatch.setitem(app.config, "PAYMENTS_TEST_MODE", False)


def ended(membership, ago=timedelta(minutes=5)):
    """Move the membership's term back so that it ended `ago`; the moment of that end."""
    now = utcnow()
    membership.starts_at = now - ago - timedelta(days=30)
    membership.ends_at = now - ago
    db.session.commit()
    return membership.ends_at


def fresh(membership):
    db.session.rollback()
    return db.session.get(Membership, membership.id)


def texts(message):
    """(plain text, [(attachment name, bytes)]) of a received message."""
    body, files = "", []
    for part in message.walk():
        if part.get_filename():
            files.append((part.get_filename(), part.get_payload(decode=True)))
        elif part.get_content_type() == "text/plain":
            body = part.get_payload(decode=True).decode()
    return body, files


def pdf_text(data):
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)


def subjects(mailbox, address="driver@example.com"):
    return [m["Subject"] for m in mailbox.to(address)]


# --- 1. a vehicle to subscribe -------------------------------------------------------------


def test_subscribing_without_a_vehicle_is_422_naming_the_field(client, driver_headers):
    plan = make_plan()
    for body in ({"plan_id": plan.id}, {"plan_id": plan.id, "vehicle_ids": []}):
        response = client.post(f"{API}/memberships", json=body, headers=driver_headers)
        assert response.status_code == 422, response.get_json()
        assert "vehicle_ids" in response.get_json()["errors"]
    assert db.session.query(Membership).count() == 0


def test_the_domain_refuses_a_membership_without_vehicles(driver):
    from parkapp.core.exceptions import Invalid

    with pytest.raises(Invalid) as refused:
        memberships.subscribe(driver, make_plan().id, [])
    assert refused.value.status == 422 and refused.value.field == "vehicle_ids"


def test_the_page_form_without_a_vehicle_shows_the_error_next_to_the_field(client, auth, driver):
    plan = make_plan()
    a_car(driver)
    auth.login(driver.email)
    response = client.post(
        f"/memberships/plans/{plan.id}", data={f"plan{plan.id}-plan_id": plan.id}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    field = html.split(f'id="plan-{plan.id}"')[1].split("</form>")[0]
    assert "Choose at least one of your vehicles" in field and 'class="field-error"' in field
    assert db.session.query(Membership).count() == 0


# --- 2. auto-renew chosen and changed ------------------------------------------------------


def test_api_auto_renew_chosen_at_subscription_and_changed_later(
    client, driver_headers, other_headers
):
    plan = make_plan()
    body = subscribe(client, driver_headers, plan.id, auto_renew=False).get_json()
    assert body["auto_renew"] is False and body["next_renewal_at"] is None
    url = f"{API}/memberships/{body['id']}"

    on = client.patch(url, json={"auto_renew": True}, headers=driver_headers)
    assert on.status_code == 200, on.get_json()
    assert on.get_json()["auto_renew"] is True
    assert on.get_json()["next_renewal_at"] == on.get_json()["ends_at"]

    off = client.patch(url, json={"auto_renew": False}, headers=driver_headers).get_json()
    assert off["status"] == "cancelled" and off["next_renewal_at"] is None
    again = client.patch(url, json={"auto_renew": True}, headers=driver_headers).get_json()
    assert again["status"] == "active" and again["auto_renew"] is True

    assert client.patch(url, json={"auto_renew": "yes"}, headers=driver_headers).status_code == 422
    assert client.patch(url, json={}, headers=driver_headers).status_code == 422
    assert client.patch(url, json={"auto_renew": True}, headers=other_headers).status_code == 404
    ended(db.session.get(Membership, body["id"]), ago=DAY * 10)
    late = client.patch(url, json={"auto_renew": True}, headers=driver_headers)
    assert late.status_code == 409 and late.get_json()["code"] == "not_active"


def test_auto_renew_on_for_a_withdrawn_plan_is_a_conflict(client, driver_headers):
    plan = make_plan()
    body = subscribe(client, driver_headers, plan.id, auto_renew=False).get_json()
    memberships.set_plan_active(plan, False)
    response = client.patch(
        f"{API}/memberships/{body['id']}", json={"auto_renew": True}, headers=driver_headers
    )
    assert response.status_code == 409 and response.get_json()["code"] == "plan_withdrawn"


def test_page_subscribes_with_or_without_auto_renew_and_changes_it(client, auth, driver):
    plan, other = make_plan(), make_plan(name="Weekender")
    car = a_car(driver)
    auth.login(driver.email)
    for chosen, ticked in ((plan, {f"plan{plan.id}-auto_renew": "y"}), (other, {})):
        data = {f"plan{chosen.id}-plan_id": chosen.id, f"plan{chosen.id}-vehicle_ids": car}
        response = client.post(f"/memberships/plans/{chosen.id}", data={**data, **ticked})
        assert response.status_code == 302, page_text(response)[:300]
    renewing, not_renewing = sorted(db.session.query(Membership).all(), key=lambda m: m.id)
    assert renewing.auto_renew is True and not_renewing.auto_renew is False

    text = page_text(client.get("/memberships"))
    assert f"Renews automatically on {renewing.ends_at:%d %b %Y}" in text
    assert f"Renews no: ends {not_renewing.ends_at:%d %b %Y}" in text

    form = {f"renewal{not_renewing.id}-auto_renew": "y"}
    response = client.post(f"/memberships/{not_renewing.id}/auto-renew", data=form)
    assert response.status_code == 302
    assert fresh(not_renewing).auto_renew is True
    client.post(f"/memberships/{renewing.id}/auto-renew", data={})  # unticked: off
    assert fresh(renewing).auto_renew is False
    assert fresh(renewing).status == MembershipStatus.CANCELLED


# --- 3. renewals: receipts, grace, retries, lapse ------------------------------------------


def test_each_renewal_is_a_payment_whose_receipt_is_mailed_once(app, driver, mailbox):
    membership = memberships.subscribe(driver, make_plan(price_cents=4900).id, [a_car(driver)])
    old_end = ended(membership)

    result = run_task(app, TASK).result
    # the renewal's receipt, and the first term's, which no worker had sent (none runs here)
    assert result["renewed"] == 1 and result["receipts"] == 2
    assert run_task(app, TASK).result["receipts"] == 0  # once

    membership = fresh(membership)
    payment = membership.payments[-1]
    assert (payment.purpose, payment.amount_cents) == ("renew", 4900)
    assert membership.ends_at > old_end and membership.total_paid_cents == 9800
    first, message = mailbox.to("driver@example.com")
    assert (
        first["Subject"] == f"Receipt {membership.payments[0].receipt_number}: Commuter membership"
    )
    assert message["Subject"] == f"Receipt {payment.receipt_number}: Commuter membership"
    body, files = texts(message)
    assert "49.00 GBP" in body and payment.receipt_number in body
    [(name, data)] = files
    assert name == f"receipt-{payment.receipt_number}.pdf"
    pdf = pdf_text(data)
    for expected in (payment.receipt_number, "Membership: Commuter", "Renewal, 1 month"):
        assert expected in pdf
    assert "49.00 GBP" in pdf and f"CAR{driver.id}" in pdf


def test_the_first_terms_receipt_is_mailed_when_the_driver_pays(
    app, client, driver_headers, mailbox
):
    """Subscribing through the API queues the receipt at once; a worker mails it, once."""
    plan = make_plan(price_cents=4900)
    [car] = add_vehicles(client, driver_headers, "FIRST 1")
    set_eager(app)
    try:
        response = subscribe(client, driver_headers, plan.id, [car])
    finally:
        set_eager(app, False)
    assert response.status_code == 201, response.get_json()
    receipt_number = response.get_json()["payment"]["receipt_number"]

    (message,) = mailbox.to("driver@example.com")
    assert message["Subject"] == f"Receipt {receipt_number}: Commuter membership"
    body, [(name, data)] = texts(message)
    assert "49.00 GBP" in body and "renewal" not in body
    assert name == f"receipt-{receipt_number}.pdf"
    pdf = pdf_text(data)
    assert receipt_number in pdf and "First term, 1 month" in pdf and "FIRST1" in pdf
    assert run_task(app, TASK).result["receipts"] == 0  # the daily run does not send it again
    assert len(mailbox.to("driver@example.com")) == 1


def test_a_failed_renewal_keeps_the_membership_in_grace_then_lapses(
    app, driver, lot, mailbox, no_payments, auth, client
):
    app.config["PAYMENTS_TEST_MODE"] = True  # subscribed while payments worked
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    app.config["PAYMENTS_TEST_MODE"] = False
    term_end = ended(membership)
    now = utcnow()
    grace = app.config["MEMBERSHIP_GRACE_DAYS"]
    assert grace == 3
    plate = driver.vehicles[0].plate

    # day 0: the renewal fails; one mail; still usable
    assert renewals.upkeep(now)["failed"] == 1
    assert sum(renewals.settle_due(now).values()) == 0  # a second run that day does nothing
    membership = fresh(membership)
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.grace_until == term_end + timedelta(days=grace)
    assert memberships.is_in_force(membership, now)
    assert membership_usage.membership_for(driver, lot, plate, now).id == membership.id
    assert subjects(mailbox) == ["Your Commuter membership could not be renewed"]
    body, _ = texts(mailbox.to("driver@example.com")[0])
    assert f"{membership.grace_until:%d %b %Y %H:%M}" in body

    auth.login(driver.email)
    text = page_text(client.get("/memberships"))
    assert f"payment failed, retrying until {membership.grace_until:%d %b %Y %H:%M}" in text

    # days 1 and 2: retried daily, still failing, no more mail
    for day in (1, 2):
        result = renewals.upkeep(now + day * DAY)
        assert result["retrying"] == 1 and result["mailed"] == 0, (day, result)
        assert sum(renewals.settle_due(now + day * DAY + timedelta(hours=1)).values()) == 0
    assert len(mailbox.to("driver@example.com")) == 1
    assert fresh(membership).status == MembershipStatus.ACTIVE

    # day 3: the grace is over, it lapses with a mail, once
    day3 = now + 3 * DAY
    assert renewals.upkeep(day3)["lapsed"] == 1
    assert sum(renewals.upkeep(day3 + DAY).values()) == 0
    membership = fresh(membership)
    assert membership.status == MembershipStatus.EXPIRED and membership.auto_renew is False
    assert not memberships.is_in_force(membership, day3)
    assert membership_usage.membership_for(driver, lot, plate, day3) is None
    assert subjects(mailbox) == [
        "Your Commuter membership could not be renewed",
        "Your Commuter membership has ended",
    ]
    assert membership.total_paid_cents == 4900 and len(membership.payments) == 1


def test_a_retry_that_succeeds_in_the_grace_renews_from_the_old_end(app, driver, mailbox):
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    term_end = ended(membership)
    now = utcnow()
    app.config["PAYMENTS_TEST_MODE"] = False
    try:
        assert renewals.settle_due(now)["failed"] == 1
    finally:
        app.config["PAYMENTS_TEST_MODE"] = True
    assert renewals.settle_due(now + timedelta(hours=2))["renewed"] == 0  # not before a day

    result = run_task(app, TASK)  # the next day's run, at the real clock: due once a day
    assert result.result["renewed"] == 0
    assert renewals.settle_due(now + DAY)["renewed"] == 1
    membership = fresh(membership)
    assert membership.grace_until is None and membership.retry_at is None
    assert membership.ends_at == memberships.add_months(term_end, 1)
    assert membership.status == MembershipStatus.ACTIVE and membership.renewals == 1


def test_renewing_by_hand_in_the_grace_period(app, client, driver, driver_headers):
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    term_end = ended(membership)
    app.config["PAYMENTS_TEST_MODE"] = False
    try:
        renewals.settle_due(utcnow())
    finally:
        app.config["PAYMENTS_TEST_MODE"] = True
    body = client.get(f"{API}/memberships/{membership.id}", headers=driver_headers).get_json()
    assert body["renewal_failed"] is True and body["grace_until"] is not None

    renewed = client.post(f"{API}/memberships/{membership.id}/renew", headers=driver_headers)
    assert renewed.status_code == 200, renewed.get_json()
    body = renewed.get_json()
    assert body["renewal_failed"] is False and body["grace_until"] is None
    assert fresh(membership).ends_at == memberships.add_months(term_end, 1)


def _race(app, count, work):
    barrier, outcomes = threading.Barrier(count), []

    def run(index):
        with app.app_context():
            try:
                barrier.wait()
                outcomes.append(work(index))
            except Exception as exc:  # the assertion shows it
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_two_workers_fail_retry_and_lapse_a_renewal_exactly_once(app, driver, mailbox, no_payments):
    app.config["PAYMENTS_TEST_MODE"] = True
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    app.config["PAYMENTS_TEST_MODE"] = False
    ended(membership)
    now = utcnow()

    for moment, outcome in ((now, "failed"), (now + DAY, "retrying"), (now + 4 * DAY, "lapsed")):
        outcomes = _race(app, 2, lambda _, at=moment: renewals.upkeep(at))
        assert all(isinstance(o, dict) for o in outcomes), outcomes
        assert sorted(o[outcome] for o in outcomes) == [0, 1], (outcome, outcomes)
        assert sum(o["mailed"] for o in outcomes) == (0 if outcome == "retrying" else 1)
    assert subjects(mailbox) == [
        "Your Commuter membership could not be renewed",
        "Your Commuter membership has ended",
    ]
    assert fresh(membership).status == MembershipStatus.EXPIRED


def test_two_workers_renew_and_mail_one_receipt(app, driver, mailbox):
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    assert membership_receipts.mail_receipts() == 1  # the first term's, as a worker would
    mailbox.clear()
    ended(membership)
    db.session.commit()
    outcomes = _race(app, 2, lambda _: run_task(app, TASK).result)
    assert sorted(o["renewed"] for o in outcomes) == [0, 1], outcomes
    assert sorted(o["receipts"] for o in outcomes) == [0, 1], outcomes
    assert len(mailbox.to("driver@example.com")) == 1
    assert fresh(membership).renewals == 1


def test_api_adds_a_vehicle_then_subscribes(client, driver_headers):
    [car] = add_vehicles(client, driver_headers, "NEW 1")
    response = subscribe(client, driver_headers, make_plan().id, [car])
    assert response.status_code == 201
    body = response.get_json()
    assert [v["id"] for v in body["vehicles"]] == [car]
    assert body["auto_renew"] is True and body["next_renewal_at"] == body["ends_at"]
    assert body["renewal_failed"] is False and body["grace_until"] is None


def test_a_refused_form_leaves_the_other_forms_showing_their_settings(client, auth, driver):
    plan, other = make_plan(), make_plan(name="Weekender")
    membership = memberships.subscribe(driver, plan.id, [a_car(driver)])
    auth.login(driver.email)
    response = client.post(
        f"/memberships/plans/{other.id}", data={f"plan{other.id}-plan_id": other.id}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for box in (f"renewal{membership.id}-auto_renew", f"plan{plan.id}-auto_renew"):
        tag = re.search(rf'<input[^>]*id="{box}"[^>]*>', html).group(0)
        assert "checked" in tag, tag  # as set, not as the other form's post left it


def test_with_stripe_an_auto_renewal_cannot_be_charged_and_enters_the_grace(
    app, driver, monkeypatch, mailbox
):
    """A Checkout needs the driver there: unattended, the renewal's payment is refused."""
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    ended(membership)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_parkapp")
    result = renewals.upkeep(utcnow())
    assert result["failed"] == 1 and result["mailed"] == 1
    membership = fresh(membership)
    assert membership.renewal_failed and len(membership.payments) == 1  # nothing charged
    assert subjects(mailbox) == ["Your Commuter membership could not be renewed"]


def test_a_membership_keeps_a_vehicle_until_another_replaces_it(client, driver_headers, auth):
    """The one car a membership covers can be neither detached nor deleted (409, nothing
    changes); once another car is on it, the first goes both ways."""
    first, second = add_vehicles(client, driver_headers, "KEEP 1", "KEEP 2")
    membership = subscribe(client, driver_headers, make_plan().id, [first]).get_json()
    detach = f"{API}/memberships/{membership['id']}/vehicles/{first}"

    refused = client.delete(detach, headers=driver_headers)
    assert refused.status_code == 409 and refused.get_json()["code"] == "last_vehicle"
    gone = client.delete(f"{API}/vehicles/{first}", headers=driver_headers)
    assert gone.status_code == 409 and gone.get_json()["code"] == "only_member_vehicle"
    assert "KEEP1 is the only vehicle your Commuter membership covers" in gone.get_json()["message"]
    auth.login()
    page = client.post(f"/vehicles/{first}/delete", follow_redirects=True)
    assert "add another vehicle to it first" in page_text(page)
    mine = client.get(f"{API}/memberships/{membership['id']}", headers=driver_headers).get_json()
    assert [v["id"] for v in mine["vehicles"]] == [first]

    added = client.post(
        f"{API}/memberships/{membership['id']}/vehicles",
        json={"vehicle_id": second},
        headers=driver_headers,
    )
    assert added.status_code == 200
    assert client.delete(detach, headers=driver_headers).status_code == 204
    assert client.delete(f"{API}/vehicles/{first}", headers=driver_headers).status_code == 204
    mine = client.get(f"{API}/memberships/{membership['id']}", headers=driver_headers).get_json()
    assert [v["id"] for v in mine["vehicles"]] == [second]

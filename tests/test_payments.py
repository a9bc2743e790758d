"""Payments: exactly the amount due, once per idempotency key, by the right people, with a
PDF receipt; the paid stay's exit window; racing payments on one booking."""

import io
import re
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from parkapp.billing import bills as billing
from parkapp.billing import discounts, payments
from parkapp.core.exceptions import WrongState
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Payment, PaymentStatus, utcnow
from tests.conftest import api_book, reservation

API = "/api/v1"
RECEIPT = re.compile(r"^R-\d{8}-[A-Z2-9]{6}$")


def stay(client, headers, lot, minutes_ago, plate="ST12AYS"):
    """A park-now stay that started `minutes_ago` (moved back in the database)."""
    response = api_book(client, headers, lot, vehicle_plate=plate, starts_at=None, ends_at=None)
    assert response.status_code == 201, response.get_json()
    booking = db.session.get(Booking, response.get_json()["id"])
    booking.starts_at = booking.checked_in_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return booking


def post_payment(client, headers, booking, amount, method="online", key=None):
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    body = {"booking_id": booking.id, "method": method, "amount_cents": amount}
    return client.post(f"{API}/payments", json=body, headers=headers)


def payment_count():
    return db.session.scalar(select(func.count(Payment.id)))


# -- amounts and idempotency -----------------------------------------------------------------


def test_a_driver_prepays_a_reservation_online_in_test_mode(client, driver, driver_headers, lot):
    booking = reservation(client, driver_headers, lot)
    response = post_payment(client, driver_headers, booking, 400, key="pay-1")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "paid" and body["method"] == "online"
    assert body["amount"] == {"amount_cents": 400, "currency": "GBP"}
    assert body["booking_id"] == booking.id and RECEIPT.match(body["receipt_number"])
    assert body["receipt_url"] == f"{API}/payments/{body['id']}/receipt"
    assert body["paid_at"] and body["idempotency_key"] == "pay-1" and body["checkout_url"] is None
    row = db.session.get(Payment, body["id"])
    assert (row.status, row.user_id, row.operator_id) == (PaymentStatus.PAID, driver.id, None)
    assert billing.bill(booking).due_cents == 0
    again = post_payment(client, driver_headers, booking, 400, key="pay-2")
    assert again.status_code == 409 and again.get_json()["code"] == "nothing_due"


@pytest.mark.parametrize("amount", [399, 401, 1])
def test_a_wrong_amount_is_422_naming_the_amount_due(client, driver_headers, lot, amount):
    booking = reservation(client, driver_headers, lot)
    response = post_payment(client, driver_headers, booking, amount, key="wrong")
    assert response.status_code == 422
    body = response.get_json()
    assert "4.00 GBP" in body["message"] and "4.00 GBP" in body["errors"]["amount_cents"][0]
    assert payment_count() == 0


def test_a_retry_with_the_same_key_returns_the_first_payment(client, driver_headers, lot):
    booking = reservation(client, driver_headers, lot)
    first = post_payment(client, driver_headers, booking, 400, key="retry-me")
    second = post_payment(client, driver_headers, booking, 400, key="retry-me")
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert payment_count() == 1


def test_a_key_used_for_another_booking_is_409(client, driver_headers, lot):
    one = reservation(client, driver_headers, lot, 30, 32, plate="ONE1")
    two = reservation(client, driver_headers, lot, 40, 42, plate="TWO2")
    assert post_payment(client, driver_headers, one, 400, key="shared").status_code == 201
    response = post_payment(client, driver_headers, two, 400, key="shared")
    assert response.status_code == 409
    assert response.get_json()["code"] == "idempotency_key_reused"
    assert payment_count() == 1


def test_every_payment_carries_a_key_even_without_the_header(client, driver_headers, lot):
    booking = reservation(client, driver_headers, lot)
    response = post_payment(client, driver_headers, booking, 400)
    assert response.status_code == 201
    key = response.get_json()["idempotency_key"]
    assert key.startswith("srv-") and db.session.scalar(select(Payment.idempotency_key)) == key


def test_an_unusable_key_is_422(client, driver_headers, lot):
    booking = reservation(client, driver_headers, lot)
    response = post_payment(client, driver_headers, booking, 400, key="k" * 81)
    assert response.status_code == 422 and "idempotency_key" in response.get_json()["errors"]


def test_online_payment_is_refused_outside_test_mode_without_stripe(
    app, client, driver_headers, lot, monkeypatch
):
    monkeypatch.setitem(app.config, "PAYMENTS_TEST_MODE", False)
    booking = reservation(client, driver_headers, lot)
    response = post_payment(client, driver_headers, booking, 400)
    assert response.status_code == 409 and response.get_json()["code"] == "no_online"
    assert payment_count() == 0


# -- who may pay, and see ----------------------------------------------------------------------


def test_gate_staff_take_cash_card_and_mobile_drivers_pay_online(
    client, driver_headers, other_headers, operator, operator_headers, admin_headers, lot
):
    mine = stay(client, driver_headers, lot, minutes_ago=50)
    due = billing.bill(mine).due_cents
    assert due == 200  # one started hour
    assert post_payment(client, driver_headers, mine, due, method="cash").status_code == 403
    assert post_payment(client, other_headers, mine, due, method="online").status_code == 404
    assert post_payment(client, other_headers, mine, due, method="cash").status_code == 404
    assert post_payment(client, operator_headers, mine, due, method="online").status_code == 403
    response = post_payment(client, operator_headers, mine, due, method="card")
    assert response.status_code == 201 and response.get_json()["method"] == "card"
    row = db.session.get(Payment, response.get_json()["id"])
    assert row.operator_id == operator.id and row.user_id == mine.user_id

    theirs = stay(client, other_headers, lot, minutes_ago=50, plate="OT12HER")
    response = post_payment(client, admin_headers, theirs, 200, method="mobile")
    assert response.status_code == 201


def test_payments_are_listed_and_shown_to_their_people_only(
    client, driver_headers, other_headers, operator_headers, admin_headers, lot
):
    booking = reservation(client, driver_headers, lot)
    paid = post_payment(client, driver_headers, booking, 400).get_json()
    theirs = reservation(client, other_headers, lot, 50, 52, plate="OT12HER")
    post_payment(client, other_headers, theirs, 400)

    def ids(headers, **query):
        response = client.get(f"{API}/payments", headers=headers, query_string=query)
        assert response.status_code == 200
        return [item["booking_id"] for item in response.get_json()["items"]]

    assert ids(driver_headers) == [booking.id]
    assert ids(driver_headers, booking_id=theirs.id) == []
    assert sorted(ids(admin_headers)) == sorted([booking.id, theirs.id])
    assert ids(admin_headers, booking_id=theirs.id) == [theirs.id]
    item = f"{API}/payments/{paid['id']}"
    assert client.get(item, headers=driver_headers).get_json()["id"] == paid["id"]
    assert client.get(item, headers=operator_headers).status_code == 200
    assert client.get(item, headers=other_headers).status_code == 404
    assert client.get(f"{item}/receipt", headers=other_headers).status_code == 404


# -- the receipt -------------------------------------------------------------------------------


def pdf_text(data):
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_receipt_shows_the_stay_the_price_and_the_payment(
    client, auth, driver, driver_headers, operator_headers, make_lot
):
    lot = make_lot(name="Harbour Car Park", address="2 Quay Street", timezone="America/New_York")
    booking = reservation(client, driver_headers, lot, plate="RC12PDF")
    paid = post_payment(client, driver_headers, booking, 400).get_json()
    response = client.get(paid["receipt_url"], headers=driver_headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert paid["receipt_number"] in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    local = booking.starts_at.astimezone(ZoneInfo("America/New_York"))
    for expected in (
        f"Receipt {paid['receipt_number']}",
        "Harbour Car Park",
        "2 Quay Street",
        "RC12PDF",
        booking.spot.label,
        booking.confirmation_code,
        local.strftime("%Y-%m-%d %H:%M"),  # booked times in the lot's time zone
        "2 h at 2.00 GBP/h",
        "4.00 GBP",
        "online",
        "America/New_York",
    ):
        assert expected in text, expected
    assert client.get(paid["receipt_url"], headers=operator_headers).status_code == 200
    auth.login(driver.email)
    page = client.get(f"/payments/{paid['id']}/receipt")
    assert page.status_code == 200 and pdf_text(page.data) == text


# -- the exit window after paying -------------------------------------------------------------


def test_a_paid_stay_leaves_freely_within_the_exit_window(client, driver, driver_headers, lot):
    booking = stay(client, driver_headers, lot, minutes_ago=0)
    t0 = utcnow()
    booking.starts_at = booking.checked_in_at = t0 - timedelta(minutes=50)
    db.session.commit()
    assert billing.bill(booking, t0).due_cents == 200
    payments.pay(booking, method="cash", amount_cents=200, idempotency_key="exit", now=t0)
    within = billing.bill(booking, t0 + timedelta(minutes=14))
    assert (within.due_cents, within.can_exit) == (0, True)
    assert within.exit_by == t0 + timedelta(minutes=lot.exit_minutes_after_payment)
    later = billing.bill(booking, t0 + timedelta(minutes=16))  # 66 minutes: a second hour
    assert (later.due_cents, later.can_exit) == (200, False)
    lot.exit_minutes_after_payment = 0
    db.session.commit()
    assert billing.bill(booking, t0 + timedelta(minutes=11)).due_cents == 200


# -- racing payments ---------------------------------------------------------------------------


def test_racing_payments_on_one_booking_take_the_money_once(app, client, driver_headers, lot):
    booking_id = reservation(client, driver_headers, lot).id
    db.session.commit()
    racers = 8
    barrier, outcomes, lock = threading.Barrier(racers), [], threading.Lock()

    def race(n):
        with app.app_context():
            booking = db.session.get(Booking, booking_id)
            barrier.wait()
            try:
                payments.pay(booking, method="card", amount_cents=400, idempotency_key=f"race-{n}")
                outcome = "paid"
            except WrongState as exc:
                outcome = exc.code
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["nothing_due"] * (racers - 1) + ["paid"]
    db.session.rollback()  # a fresh snapshot, with what the racers committed
    rows = db.session.scalars(select(Payment)).all()
    assert len(rows) == 1 and rows[0].status == PaymentStatus.PAID
    assert db.session.get(Booking, booking_id).status == BookingStatus.RESERVED


def test_a_promo_code_sent_with_the_payment_is_applied_first(client, driver_headers, lot):
    discounts.create(discounts.DiscountInput(code="HALF50", kind="percent", value=50))
    booking = reservation(client, driver_headers, lot)
    body = {"booking_id": booking.id, "method": "online", "amount_cents": 400}
    response = client.post(
        f"{API}/payments", json={**body, "discount_code": "half50"}, headers=driver_headers
    )
    assert response.status_code == 422 and "2.00 GBP" in response.get_json()["message"]
    retry = {**body, "amount_cents": 200, "discount_code": "HALF50"}  # the code is on already
    response = client.post(f"{API}/payments", json=retry, headers=driver_headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["discount"] == {"amount_cents": 200, "currency": "GBP"}
    unknown = reservation(client, driver_headers, lot, 50, 52, plate="UN12KNO")
    response = client.post(
        f"{API}/payments",
        json={**body, "booking_id": unknown.id, "discount_code": "NOSUCH"},
        headers=driver_headers,
    )
    assert response.status_code == 422 and "discount_code" in response.get_json()["errors"]

"""Refunds on cancellation by the lot's policy; the policy and exit window on lot forms and
pages; the driver's booking page: Pay now (test mode), payments and receipts."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from parkapp.billing import refunds
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Lot, Payment, PaymentStatus, Refund, utcnow
from tests.conftest import reservation

API = "/api/v1"


def prepaid(client, headers, lot, start_h=30, end_h=32):
    """A 2-hour reservation, paid online (test mode): 4.00 GBP."""
    booking = reservation(client, headers, lot, start_h, end_h)
    response = client.post(
        f"{API}/payments",
        json={"booking_id": booking.id, "method": "online", "amount_cents": 400},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return booking, db.session.get(Payment, response.get_json()["id"])


def starting_in(booking, delta):
    """Move a reservation so it starts `delta` from now (keeping its length)."""
    length = booking.ends_at - booking.starts_at
    booking.starts_at = utcnow() + delta
    booking.ends_at = booking.booked_ends_at = booking.starts_at + length
    db.session.commit()


def cancel(client, headers, booking):
    response = client.post(f"{API}/bookings/{booking.id}/cancel", headers=headers)
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    return response.get_json()


def text(response):
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


# -- the policy --------------------------------------------------------------------------------


def test_cancelling_before_the_policy_hours_refunds_everything(client, driver_headers, lot):
    assert lot.refund_hours_before == 24
    booking, payment = prepaid(client, driver_headers, lot)
    starting_in(booking, timedelta(hours=24, minutes=2))
    body = cancel(client, driver_headers, booking)
    assert body["status"] == "cancelled"
    assert body["refund"] == {"amount_cents": 400, "currency": "GBP"}
    assert (payment.status, payment.refunded_cents, payment.net_cents) == (
        PaymentStatus.REFUNDED,
        400,
        0,
    )
    (row,) = db.session.scalars(select(Refund)).all()
    assert (row.payment_id, row.amount_cents, row.reason) == (payment.id, 400, refunds.CANCELLED)


def test_cancelling_within_the_policy_hours_refunds_nothing(client, driver_headers, lot):
    booking, payment = prepaid(client, driver_headers, lot)
    starting_in(booking, timedelta(hours=23, minutes=58))
    body = cancel(client, driver_headers, booking)
    assert body["refund"] == {"amount_cents": 0, "currency": "GBP"}
    assert (payment.status, payment.refunded_cents) == (PaymentStatus.PAID, 0)
    assert db.session.scalars(select(Refund)).all() == []
    assert refunds.cancellation_note(booking) == (
        "No refund: cancelled less than 24 h before the start."
    )


def test_a_lot_without_a_policy_never_refunds(client, driver_headers, make_lot):
    lot = make_lot(refund_hours_before=None)
    booking, payment = prepaid(client, driver_headers, lot, 24 * 9, 24 * 9 + 2)
    assert cancel(client, driver_headers, booking)["refund"]["amount_cents"] == 0
    assert payment.status == PaymentStatus.PAID
    assert refunds.cancellation_note(booking) == (
        "No refund: this car park does not refund cancellations."
    )


@pytest.mark.parametrize(
    ("hours", "before", "expected"),
    [(24, timedelta(0), True), (24, timedelta(seconds=-1), False), (0, timedelta(0), True)],
)
def test_the_refund_boundary_is_exactly_n_hours_before_the_start(
    client, driver_headers, make_lot, hours, before, expected
):
    lot = make_lot(refund_hours_before=hours)
    booking = reservation(client, driver_headers, lot)
    boundary = booking.starts_at - timedelta(hours=hours)
    assert refunds.refundable(booking, boundary + -before) is expected
    assert refunds.refundable(booking, boundary - timedelta(hours=1)) is True
    assert refunds.refundable(booking, booking.starts_at + timedelta(seconds=1)) is False


def test_an_unpaid_cancellation_says_nothing_about_money(client, driver_headers, lot):
    booking = reservation(client, driver_headers, lot)
    assert cancel(client, driver_headers, booking)["refund"]["amount_cents"] == 0
    assert refunds.cancellation_note(booking) is None


def test_the_policy_in_words():
    assert refunds.policy_text(Lot(refund_hours_before=None)) == (
        "Cancelled reservations are not refunded."
    )
    assert "at least 48 h before the start" in refunds.policy_text(Lot(refund_hours_before=48))


# -- lot settings --------------------------------------------------------------------------------


LOT_FORM = {
    "name": "Policy Park",
    "city": "Bath",
    "timezone": "Europe/London",
    "currency": "GBP",
    "hourly_rate": "2.00",
    "grace_minutes": "0",
    "max_booking_days": "30",
}


@pytest.mark.parametrize(("refund", "stored"), [("", None), ("48", 48), ("0", 0)])
def test_the_admin_lot_form_sets_the_refund_policy_and_exit_window(
    client, auth, admin, refund, stored
):
    auth.login(admin.email)
    form = {**LOT_FORM, "refund_hours_before": refund, "exit_minutes_after_payment": "20"}
    response = client.post("/admin/lots/new", data=form)
    assert response.status_code == 302, text(response)
    lot = db.session.scalar(select(Lot).filter_by(name="Policy Park"))
    assert (lot.refund_hours_before, lot.exit_minutes_after_payment) == (stored, 20)
    edit = client.get(f"/admin/lots/{lot.id}/edit")
    assert 'name="refund_hours_before"' in edit.get_data(as_text=True)


def test_the_admin_lot_form_refuses_a_negative_refund_window(client, auth, admin):
    auth.login(admin.email)
    form = {**LOT_FORM, "refund_hours_before": "-1", "exit_minutes_after_payment": ""}
    response = client.post("/admin/lots/new", data=form)
    assert response.status_code == 200
    assert "Must be a whole number from 0 to 8784." in text(response)
    assert db.session.scalar(select(Lot).filter_by(name="Policy Park")) is None


def test_the_api_creates_and_patches_the_policy(client, admin_headers):
    body = {"name": "Api Park", "timezone": "UTC", "refund_hours_before": None}
    created = client.post(f"{API}/lots", json=body, headers=admin_headers)
    assert created.status_code == 201, created.get_json()
    lot = created.get_json()
    assert (lot["refund_hours_before"], lot["exit_minutes_after_payment"]) == (None, 15)
    patched = client.patch(
        f"{API}/lots/{lot['id']}",
        json={"refund_hours_before": 12, "exit_minutes_after_payment": 5},
        headers=admin_headers,
    )
    assert patched.status_code == 200
    assert (
        patched.get_json()["refund_hours_before"],
        patched.get_json()["exit_minutes_after_payment"],
    ) == (12, 5)
    bad = client.patch(
        f"{API}/lots/{lot['id']}", json={"exit_minutes_after_payment": -5}, headers=admin_headers
    )
    assert bad.status_code == 422


def test_the_lot_page_states_the_refund_policy(client, make_lot):
    lot = make_lot(refund_hours_before=6)
    page = text(client.get(f"/lots/{lot.id}"))
    assert "Cancellation Cancel at least 6 h before the start for a full refund" in page


# -- the driver's booking page ---------------------------------------------------------------


def test_a_driver_pays_now_in_test_mode_and_downloads_the_receipt(client, auth, driver, lot):
    auth.login(driver.email)
    booking = reservation(client, auth.headers(driver.email), lot)
    page = client.get(f"/bookings/{booking.id}")
    body = page.get_data(as_text=True)
    assert "Pay now 4.00 GBP" in text(page)
    assert "Online payments are in test mode" in text(page)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', body).group(1)
    form = {"amount_cents": "400", "idempotency_key": key}
    paid = client.post(f"/bookings/{booking.id}/pay", data=form, follow_redirects=True)
    assert "Paid 4.00 GBP online. Online payments are in test mode: no card was charged." in text(
        paid
    )
    assert "Pay now" not in text(paid) and "Paid in full." in text(paid)
    client.post(f"/bookings/{booking.id}/pay", data=form)  # a double submit pays once
    (payment,) = db.session.scalars(select(Payment)).all()
    assert f"/payments/{payment.id}/receipt" in paid.get_data(as_text=True)
    assert client.get(f"/payments/{payment.id}/receipt").mimetype == "application/pdf"


def test_a_wrong_amount_on_the_page_is_refused_and_the_due_shown(client, auth, driver, lot):
    auth.login(driver.email)
    booking = reservation(client, auth.headers(driver.email), lot)
    response = client.post(
        f"/bookings/{booking.id}/pay",
        data={"amount_cents": "300", "idempotency_key": "k1"},
        follow_redirects=True,
    )
    assert "Wrong amount: 4.00 GBP is due." in text(response)
    assert db.session.scalars(select(Payment)).all() == []


def test_other_people_cannot_pay_or_see_a_drivers_booking(client, auth, driver, make_user, lot):
    booking = reservation(client, auth.headers(driver.email), lot)
    stranger = make_user(email="stranger@example.com")
    auth.login(stranger.email)
    form = {"amount_cents": "400", "idempotency_key": "k2"}
    assert client.post(f"/bookings/{booking.id}/pay", data=form).status_code == 404
    assert db.session.scalars(select(Payment)).all() == []


@pytest.mark.parametrize(
    ("starts_in", "flash"),
    [
        (timedelta(hours=30), "Refunded 4.00 GBP."),
        (timedelta(hours=3), "No refund: cancelled less than 24 h before the start."),
    ],
)
def test_the_cancel_page_says_what_was_refunded(client, auth, driver, lot, starts_in, flash):
    auth.login(driver.email)
    booking, _ = prepaid(client, auth.headers(driver.email), lot)
    starting_in(booking, starts_in)
    response = client.post(f"/bookings/{booking.id}/cancel", follow_redirects=True)
    assert f"Reservation {booking.confirmation_code} cancelled. {flash}" in text(response)
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED

"""A pass in the inbox: booking, change, cancellation, receipt and refund mails, read back from
the real SMTP server; the calendar file and QR code endpoints."""

from datetime import timedelta

import pytest
from icalendar import Calendar

from parkapp.booking import notices
from parkapp.extensions import db
from parkapp.models import Booking, Notification, User, utcnow
from tests.conftest import api_book, iso, reservation
from tests.test_exports import attachments, bodies, set_eager

API = "/api/v1"


@pytest.fixture(autouse=True)
def eager(app):
    """Queued tasks run at once in this process, as a worker would run them."""
    set_eager(app)
    yield app
    set_eager(app, False)


def parts(message):
    """{content type: [part]} of every part of a received email."""
    found = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), []).append(part)
    return found


def only(mailbox, address, subject_start):
    return [m for m in mailbox.to(address) if m["Subject"].startswith(subject_start)]


def pay(client, headers, booking, cents):
    response = client.post(
        f"{API}/payments",
        json={"booking_id": booking.id, "method": "online", "amount_cents": cents},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_booking_mails_its_pass_with_a_qr_code_and_a_calendar_file(
    client, driver_headers, make_lot, mailbox
):
    lot = make_lot(address="12 Harbour Road", city="Testville")
    booking = reservation(client, driver_headers, lot, 30, 32)
    (message,) = mailbox.to("driver@example.com")
    assert message["Subject"] == f"Booked: {lot.name} ({booking.confirmation_code})"
    text = bodies(message)
    for body in text.values():
        assert booking.confirmation_code in body and "12 Harbour Road" in body
        assert "4.00" in body and "Opening hours" in body and "Open 24 hours" in body
    assert 'src="cid:qr-code"' in text["text/html"]
    (qr_part,) = parts(message)["image/png"]
    assert qr_part["Content-ID"] == "<qr-code>" and qr_part.get_content_disposition() == "inline"
    assert qr_part.get_payload(decode=True).startswith(b"\x89PNG")
    (ics,) = [data for name, _, data in attachments(message) if name.endswith(".ics")]
    (event,) = Calendar.from_ical(ics).walk("VEVENT")
    assert event.decoded("dtstart") == booking.starts_at
    assert event.decoded("dtend") == booking.ends_at
    assert event.decoded("dtstart").utcoffset() == timedelta(0)
    assert str(event["location"]) == f"{lot.name}, 12 Harbour Road, Testville"


def test_the_same_event_is_never_mailed_twice(client, driver_headers, lot, mailbox):
    booking = reservation(client, driver_headers, lot)
    assert notices.send("confirmed", booking.id) is False
    assert len(mailbox.to("driver@example.com")) == 1
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 1


def test_changes_cancellations_payments_and_refunds_each_send_a_mail(
    client, driver_headers, lot, mailbox
):
    booking = reservation(client, driver_headers, lot, 30, 33)
    pay(client, driver_headers, booking, 600)
    (receipt,) = only(mailbox, "driver@example.com", "Receipt ")
    ((name, kind, pdf),) = attachments(receipt)
    assert name.startswith("receipt-R-") and kind == "application/pdf" and pdf.startswith(b"%PDF")
    shorter = client.patch(
        f"{API}/bookings/{booking.id}",
        json={"ends_at": iso(booking.starts_at + timedelta(hours=2))},
        headers=driver_headers,
    )
    assert shorter.status_code == 200, shorter.get_json()
    (changed,) = only(mailbox, "driver@example.com", "Changed:")
    (ics,) = [data for name, _, data in attachments(changed) if name.endswith(".ics")]
    (event,) = Calendar.from_ical(ics).walk("VEVENT")
    assert event.decoded("dtend") == booking.starts_at + timedelta(hours=2)
    (refund,) = only(mailbox, "driver@example.com", "Refund of 2.00 GBP")
    assert "booking changed to a lower price" in bodies(refund)["text/plain"]
    assert (
        client.post(f"{API}/bookings/{booking.id}/cancel", headers=driver_headers).status_code
        == 200
    )
    (cancelled,) = only(mailbox, "driver@example.com", "Cancelled:")
    assert "We refunded 4.00 GBP" in bodies(cancelled)["text/plain"]


def test_an_opted_out_driver_gets_receipts_but_no_booking_mail(
    client, driver, driver_headers, lot, mailbox, auth
):
    auth.login()
    response = client.post("/account/mail", data={"booking_mail": ""}, follow_redirects=True)
    assert response.status_code == 200
    db.session.rollback()
    assert db.session.get(User, driver.id).booking_mail is False
    booking = reservation(client, driver_headers, lot, 30, 32)
    pay(client, driver_headers, booking, 400)
    client.post(f"{API}/bookings/{booking.id}/cancel", headers=driver_headers)
    subjects = sorted(m["Subject"].split(" ")[0] for m in mailbox.to("driver@example.com"))
    # the cancellation gave 4.00 back: it is a receipt too
    assert subjects == ["Cancelled:", "Receipt"]
    other = reservation(client, driver_headers, lot, 40, 42)
    assert only(mailbox, "driver@example.com", "Booked:") == []
    assert notices.send("confirmed", other.id) is False


def test_a_stay_about_to_end_is_mailed_once_per_end_with_a_link_to_extend(
    client, driver_headers, lot, mailbox, app
):
    app.config["PUBLIC_URL"] = "https://park.example.com"
    response = api_book(
        client, driver_headers, lot, starts_at=None, ends_at=iso(utcnow() + timedelta(minutes=10))
    )
    booking = db.session.get(Booking, response.get_json()["id"])
    mailbox.clear()
    try:
        assert notices.remind_ending() == 1
        assert notices.remind_ending() == 0
    finally:
        app.config["PUBLIC_URL"] = ""
    (message,) = mailbox.to("driver@example.com")
    text = bodies(message)["text/plain"]
    assert "ends in about" in text and "30 min or 1 h" in text
    assert f"/bookings/{booking.id}" in text
    client.patch(
        f"{API}/bookings/{booking.id}",
        json={"ends_at": iso(booking.ends_at + timedelta(minutes=2))},
        headers=driver_headers,
    )
    assert notices.remind_ending() == 1  # a new end, a new reminder


def test_the_calendar_file_and_qr_code_are_for_the_owner_only(
    client, driver_headers, other_headers, lot
):
    booking = reservation(client, driver_headers, lot)
    ics = client.get(f"{API}/bookings/{booking.id}/calendar.ics", headers=driver_headers)
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    (event,) = Calendar.from_ical(ics.data).walk("VEVENT")
    assert event.decoded("dtstart") == booking.starts_at
    svg = client.get(f"{API}/bookings/{booking.id}/qr.svg", headers=driver_headers)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data
    for path in ("calendar.ics", "qr.svg"):
        response = client.get(f"{API}/bookings/{booking.id}/{path}", headers=other_headers)
        assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_an_opted_out_driver_gets_no_reminders_or_nudges(driver, make_lot, mailbox):
    from parkapp.accounts.users import set_booking_mail
    from parkapp.booking import upkeep
    from parkapp.models import BookingStatus
    from tests.test_exports import add_bookings

    lot = make_lot()
    add_bookings(driver, lot, utcnow() + timedelta(minutes=40), status=BookingStatus.RESERVED)
    set_booking_mail(driver, False)
    assert upkeep.remind_upcoming() == 0
    db.session.execute(
        db.update(User)
        .where(User.id == driver.id)
        .values(create_datetime=(utcnow() - timedelta(days=400)).replace(tzinfo=None))
    )
    db.session.execute(db.delete(Booking))
    db.session.commit()
    assert upkeep.remind_inactive() == 0
    set_booking_mail(driver, True)
    assert upkeep.remind_inactive() == 1
    assert len(mailbox.to("driver@example.com")) == 1


def test_the_caller_writes_on_after_its_booking_mail_ran(driver, lot, mailbox):
    """The hook's caller read the booking's id before the (eager) task committed its mail:
    on SQLite that stale snapshot could not write again ("database is locked")."""
    from parkapp.booking import claims

    stay = claims.create_booking(driver, claims.BookingRequest(lot.id, "AB12CDE"))
    stay.plate = "AB12CDF"
    db.session.commit()
    assert len(mailbox.to("driver@example.com")) == 1

"""Booking mail: the pass when booked or changed, cancellations, receipts, refunds, ending soon.

Each mail is built and sent by a task after the change committed (`hooks.booking_mail`),
once per event through the Notification keys. A driver may turn booking mail off; receipts
(payments, refunds, a cancellation that refunded money) always go.
"""

from datetime import timedelta

from sqlalchemy import select

from parkapp.billing import receipts, refunds
from parkapp.booking import changes, passes
from parkapp.booking.lifecycle import final_quote
from parkapp.core import links
from parkapp.core import mail as mailer
from parkapp.core.money import money
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Payment, Refund, utcnow

QR_CID = "qr-code"
RECEIPTS = ("payment", "refund")  # always sent, whatever the driver's preference
SUBJECTS = {
    "confirmed": "Booked: {lot} ({code})",
    "changed": "Changed: {lot} ({code})",
    "cancelled": "Cancelled: {lot} ({code})",
}


def send(event, booking_id, ref=""):
    """Mail one booking event once; True if it was sent now."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.user is None:
        return False
    if event in SUBJECTS:
        return _pass_mail(event, booking, ref)
    if event == "payment":
        return _payment_mail(booking, db.session.get(Payment, int(ref)))
    if event == "refund":
        return _refund_mail(booking, db.session.get(Refund, int(ref)))
    raise ValueError(f"unknown booking mail event {event!r}")


def wants(user, event):
    """Whether this mail goes to the driver: receipts always, the rest by their preference."""
    return event in RECEIPTS or bool(user.booking_mail)


def _pass_mail(event, booking, ref):
    refunded = refunds.cancellation_refund_cents(booking) if event == "cancelled" else 0
    if not refunded and not wants(booking.user, event):
        return False  # a cancellation that gave money back is a receipt
    lot = booking.lot
    subject = SUBJECTS[event].format(lot=lot.name, code=booking.confirmation_code)
    attachments = [
        (
            f"booking-{booking.confirmation_code}.ics",
            "text/calendar; charset=utf-8; method="
            + ("CANCEL" if event == "cancelled" else "PUBLISH"),
            passes.calendar_ics(booking),
        )
    ]
    if event != "cancelled":
        attachments.insert(0, _qr_attachment(booking))
    message = mailer.build_message(
        booking.user.email,
        subject,
        "booking_pass",
        attachments,
        event=event,
        booking=booking,
        user=booking.user,
        lot=lot,
        quote=final_quote(booking),
        hours=passes.opening_hours(lot),
        address=passes.location(lot),
        refunded=money(refunded, booking.currency) if refunded else None,
        link=_booking_link(booking),
        qr_cid=QR_CID,
    )
    period = f"b{booking.id}:{ref}" if ref else f"booking:{booking.id}"
    return mailer.send_once(booking.user_id, f"booking_{event}", period, message)


def _qr_attachment(booking):
    """The QR code as an inline PNG part the HTML shows through `cid:`."""
    return (
        f"pass-{booking.confirmation_code}.png",
        "image/png",
        passes.qr_png(booking),
        "inline",
        {"Content-ID": f"<{QR_CID}>"},
    )


def _payment_mail(booking, payment):
    if payment is None:
        return False
    message = mailer.build_message(
        booking.user.email,
        f"Receipt {payment.receipt_number}: {booking.lot.name}",
        "payment_receipt",
        [(receipts.file_name(payment), "application/pdf", receipts.receipt_pdf(payment))],
        booking=booking,
        user=booking.user,
        payment=payment,
        amount=money(payment.amount_cents, payment.currency),
        link=_booking_link(booking),
    )
    return mailer.send_once(booking.user_id, "payment_receipt", f"payment:{payment.id}", message)


def _refund_mail(booking, refund):
    if refund is None:
        return False
    message = mailer.build_message(
        booking.user.email,
        f"Refund of {money(refund.amount_cents, booking.currency)}: {booking.lot.name}",
        "refund",
        booking=booking,
        user=booking.user,
        refund=refund,
        amount=money(refund.amount_cents, booking.currency),
        link=_booking_link(booking),
    )
    return mailer.send_once(booking.user_id, "refund", f"refund:{refund.id}", message)


def _booking_link(booking):
    return links.link("booking", booking_id=booking.id)


def remind_ending(now=None):
    """Mail each fixed-end stay about to run out, once per end, with its extend offer."""
    now = now or utcnow()
    bookings = db.session.scalars(
        select(Booking)
        .where(
            Booking.status == BookingStatus.ACTIVE,
            Booking.user_id.is_not(None),
            Booking.booked_ends_at.is_not(None),
            Booking.ends_at > now,
            Booking.ends_at <= now + changes.ENDING_SOON,
        )
        .options(db.joinedload(Booking.user), db.joinedload(Booking.lot))
    ).all()
    sent = 0
    for booking in bookings:
        if not wants(booking.user, "ending_soon"):
            continue
        message = mailer.build_message(
            booking.user.email,
            f"Your parking at {booking.lot.name} ends soon",
            "ending_soon",
            booking=booking,
            user=booking.user,
            minutes=max(1, (booking.ends_at - now) // timedelta(minutes=1)),
            steps=changes.EXTEND_STEPS,
            link=_booking_link(booking),
        )
        period = f"b{booking.id}:{booking.ends_at:%Y%m%d%H%M%S}"  # a new end gets a new mail
        sent += mailer.send_once(booking.user_id, "ending_soon", period, message)
    return sent

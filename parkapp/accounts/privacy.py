"""A driver's privacy rights: everything held about them, erasure by pseudonym, plate retention.

Erasure keeps the money records for the accounts (bookings, payments, refunds, memberships)
but replaces the person in them: name, email and plates become a pseudonym, the vehicles lose
their details, the queue entries go, and every session and token stops working (a new
`fs_uniquifier`, the account deactivated, no usable password).
"""

import csv
import io
import json
import secrets
import zipfile
from datetime import timedelta

from flask import current_app
from flask_security import verify_password
from sqlalchemy import select, update

from parkapp.core import hooks
from parkapp.core.csv import safe_cell
from parkapp.core.exceptions import Conflict, DomainError
from parkapp.extensions import db
from parkapp.models import (
    HOLDING,
    Booking,
    Membership,
    MembershipStatus,
    Notification,
    OutboxMail,
    Payment,
    Refund,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)

ERASED_DOMAIN = "erased.invalid"
NO_PLATE = ""  # what a booking's plate becomes once its retention has passed
# A plate is in no count or chart: these bulk updates tell the listeners so (nothing to mark).
PLATES_ONLY = {hooks.ROWS_ANNOUNCED: True}


class WrongPassword(DomainError):
    status, code = 401, "bad_credentials"


def _iso(instant):
    return instant.isoformat() if instant is not None else None


def _value(value):
    return getattr(value, "value", value)


def export_data(user):
    """Everything parkapp holds about `user`, as JSON-ready lists and dicts."""
    bookings = db.session.scalars(
        select(Booking).where(Booking.user_id == user.id).order_by(Booking.starts_at)
    ).all()
    payments = db.session.scalars(
        select(Payment).where(Payment.user_id == user.id).order_by(Payment.id)
    ).all()
    refunds = db.session.scalars(
        select(Refund).where(Refund.payment_id.in_([p.id for p in payments])).order_by(Refund.id)
    ).all()
    return {
        "account": {
            "id": user.id,
            "email": user.email,
            "full_name": user.full_name,
            "roles": user.role_names,
            "active": user.active,
            "created_at": _iso(user.create_datetime),
            "last_login_at": _iso(user.last_login_at),
            "last_login_ip": user.last_login_ip,
            "login_count": user.login_count,
            "two_factor": user.has_two_factor,
        },
        "vehicles": [_vehicle(v) for v in user.vehicles],
        "bookings": [_booking(b) for b in bookings],
        "payments": [_payment(p) for p in payments],
        "refunds": [_refund(r) for r in refunds],
        "memberships": [_membership(m) for m in _memberships(user)],
        "waitlist": [_entry(e) for e in _entries(user)],
        "emails_sent": [_notification(n) for n in _notifications(user)],
        "emails_kept": [_outbox_mail(m) for m in _outbox(user)],
    }


def _vehicle(v):
    return {
        "plate": v.plate,
        "vehicle_type": _value(v.vehicle_type),
        "make": v.make,
        "model": v.model,
        "colour": v.colour,
        "is_ev": v.is_ev,
        "accessible": v.accessible,
        "created_at": _iso(v.created_at),
    }


def _booking(b):
    return {
        "id": b.id,
        "confirmation_code": b.confirmation_code,
        "ticket_number": b.ticket_number,
        "lot": b.lot.name,
        "spot": b.spot.label,
        "plate": b.plate,
        "status": _value(b.status),
        "source": _value(b.source),
        "starts_at": _iso(b.starts_at),
        "ends_at": _iso(b.ends_at),
        "checked_in_at": _iso(b.checked_in_at),
        "released_at": _iso(b.released_at),
        "cancelled_at": _iso(b.cancelled_at),
        "price_cents": b.price_cents if b.price_cents is not None else b.quoted_cents,
        "currency": b.currency,
    }


def _payment(p):
    return {
        "id": p.id,
        "booking_id": p.booking_id,
        "receipt_number": p.receipt_number,
        "method": _value(p.method),
        "status": _value(p.status),
        "amount_cents": p.amount_cents,
        "refunded_cents": p.refunded_cents,
        "discount_cents": p.discount_cents,
        "currency": p.currency,
        "created_at": _iso(p.created_at),
        "paid_at": _iso(p.paid_at),
    }


def _refund(r):
    return {
        "payment_id": r.payment_id,
        "amount_cents": r.amount_cents,
        "reason": r.reason,
        "created_at": _iso(r.created_at),
    }


def _memberships(user):
    query = select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
    return db.session.scalars(query).all()


def _membership(m):
    return {
        "plan": m.plan.name,
        "status": _value(m.status),
        "starts_at": _iso(m.starts_at),
        "ends_at": _iso(m.ends_at),
        "auto_renew": m.auto_renew,
        "total_paid_cents": m.total_paid_cents,
        "currency": m.currency,
    }


def _entries(user):
    query = select(WaitlistEntry).where(WaitlistEntry.user_id == user.id)
    return db.session.scalars(query.order_by(WaitlistEntry.id)).all()


def _entry(e):
    return {
        "lot": e.lot.name,
        "plate": e.plate,
        "status": _value(e.status),
        "created_at": _iso(e.created_at),
    }


def _notifications(user):
    query = select(Notification).where(Notification.user_id == user.id)
    return db.session.scalars(query.order_by(Notification.id)).all()


def _notification(n):
    return {"kind": n.kind, "about": n.period, "sent_at": _iso(n.sent_at)}


def _outbox(user):
    query = select(OutboxMail).where(OutboxMail.recipients.contains(user.email))
    return db.session.scalars(query.order_by(OutboxMail.id)).all()


def _outbox_mail(m):
    return {"subject": m.subject, "created_at": _iso(m.created_at)}


def export_zip(user):
    """The export as a ZIP: data.json with everything, and one CSV per list."""
    data = export_data(user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        for name, rows in data.items():
            if isinstance(rows, list):
                archive.writestr(f"{name}.csv", _csv(rows))
    return buffer.getvalue()


def _csv(rows):
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def erase(user, password):
    """Pseudonymise the account and end every session; 401 for a wrong password.

    Refused (409) while the driver has a reservation or a car inside: those need the
    person, so they are finished or cancelled first.
    """
    if not user.password or not verify_password(password or "", user.password):
        raise WrongPassword("Your password is not right.")
    holding = db.session.scalar(
        select(Booking.id).where(Booking.user_id == user.id, Booking.status.in_(HOLDING)).limit(1)
    )
    if holding is not None:
        raise Conflict(
            "Cancel your reservations and leave the car park before erasing your account.",
            code="bookings_open",
        )
    pseudonym = f"erased-{user.id}-{secrets.token_hex(4)}"
    plate = "X" + secrets.token_hex(4).upper()
    db.session.execute(
        update(Booking)
        .where(Booking.user_id == user.id)
        .values(plate=plate)
        .execution_options(**PLATES_ONLY)
    )
    for number, vehicle in enumerate(user.vehicles, 1):  # plates stay unique per account
        vehicle.plate, vehicle.make, vehicle.model, vehicle.colour = f"{plate}{number}", "", "", ""
    db.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.user_id == user.id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .values(status=WaitlistStatus.LEFT, plate=plate)
    )
    db.session.execute(
        update(WaitlistEntry).where(WaitlistEntry.user_id == user.id).values(plate=plate)
    )
    db.session.execute(
        update(Membership)
        .where(Membership.user_id == user.id, Membership.status == MembershipStatus.ACTIVE)
        .values(auto_renew=False)
    )
    user.email = f"{pseudonym}@{ERASED_DOMAIN}"
    user.full_name = pseudonym
    user.password = None
    user.active = False
    user.tf_totp_secret = None
    user.tf_primary_method = None
    user.last_login_ip = user.current_login_ip = None
    user.fs_uniquifier = secrets.token_hex(32)  # every session, remember token and JWT dies
    db.session.commit()
    return pseudonym


def forget_old_plates(now=None):
    """Bookings that ended longer ago than PLATE_RETENTION_DAYS lose their plate."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["PLATE_RETENTION_DAYS"])
    result = db.session.execute(
        update(Booking)
        .where(
            Booking.ends_at < cutoff,
            Booking.status.not_in(HOLDING),
            Booking.plate != NO_PLATE,
        )
        .values(plate=NO_PLATE)
        .execution_options(**PLATES_ONLY)
    )
    db.session.commit()
    return result.rowcount

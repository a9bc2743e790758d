"""Booking upkeep run by the beat: no-shows, and reminders before and after parking."""

from datetime import UTC, timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from parkapp.core import hooks
from parkapp.core import mail as mailer
from parkapp.extensions import db
from parkapp.models import (
    USER,
    Booking,
    BookingStatus,
    Role,
    User,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)


def expire_no_shows(now=None):
    """Reservations never checked in within the grace period become no-shows, freeing spots."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=current_app.config["NO_SHOW_GRACE_MINUTES"])
    offer_holds = select(WaitlistEntry.booking_id).where(
        WaitlistEntry.status == WaitlistStatus.OFFERED, WaitlistEntry.booking_id.is_not(None)
    )  # a waitlist offer's hold expires with the offer, not as a no-show
    freed = db.session.execute(
        db.update(Booking)
        .where(
            Booking.status == BookingStatus.RESERVED,
            Booking.starts_at < cutoff,
            Booking.id.not_in(offer_holds),
        )
        .values(status=BookingStatus.NO_SHOW)
        .returning(Booking.lot_id, Booking.spot_id, Booking.starts_at)
        .execution_options(**{hooks.ROWS_ANNOUNCED: True})
    ).all()
    hooks.bulk_booking_change.send(
        None, session=db.session, rows=[(row.lot_id, row.starts_at) for row in freed]
    )
    db.session.commit()
    hooks.spots_freed.send(None, freed=[(None, row.lot_id, row.spot_id) for row in freed])
    return len(freed)


def remind_upcoming(now=None):
    """Mail each driver once before their reservation starts."""
    now = now or utcnow()
    horizon = now + timedelta(minutes=current_app.config["REMINDER_MINUTES_BEFORE"])
    bookings = db.session.scalars(
        select(Booking)
        .where(
            Booking.status == BookingStatus.RESERVED,
            Booking.user_id.is_not(None),
            Booking.starts_at > now,
            Booking.starts_at <= horizon,
        )
        .options(
            db.joinedload(Booking.user), db.joinedload(Booking.lot), db.joinedload(Booking.spot)
        )
    ).all()
    sent = 0
    for booking in bookings:
        if not booking.user.booking_mail:
            continue  # the driver turned booking mail off
        message = mailer.build_message(
            booking.user.email,
            f"Your parking at {booking.lot.name} starts soon",
            "reservation_reminder",
            booking=booking,
            user=booking.user,
        )
        sent += mailer.send_once(
            booking.user_id, "reservation_reminder", f"booking:{booking.id}", message
        )
    return sent


def remind_inactive(now=None):
    """Mail drivers idle for INACTIVE_DAYS, at most once per INACTIVE_DAYS of idleness.

    The period key counts whole idle periods since the last parking (or sign-up), so a
    driver idle for 35 days gets one mail, another at 60 days, and a retry sends none.
    """
    now = now or utcnow()
    period = timedelta(days=current_app.config["INACTIVE_DAYS"])
    last_booked = (
        select(func.max(Booking.starts_at))
        .where(Booking.user_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(User, last_booked).where(
            User.active.is_(True),
            User.booking_mail.is_(True),
            User.roles.any(Role.name == USER),
            User.create_datetime < (now - period).replace(tzinfo=None),
            or_(last_booked.is_(None), last_booked < now - period),
        )
    ).all()
    sent = 0
    for user, booked_at in rows:
        since = booked_at or user.create_datetime.replace(tzinfo=UTC)
        key = f"since:{since:%Y%m%d%H%M}:{(now - since) // period}"
        message = mailer.build_message(
            user.email,
            "We have parking waiting for you",
            "inactivity_reminder",
            user=user,
            days=period.days,
        )
        sent += mailer.send_once(user.id, "inactivity", key, message)
    return sent

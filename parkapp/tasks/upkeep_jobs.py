"""Scheduled upkeep: no-shows, waitlist offers, reminders, and the monthly reports."""

from datetime import UTC, timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from parkapp.analytics import rollups as analytics_rollups
from parkapp.core import mail as mailer
from parkapp.exports import booking_csv as csv_export
from parkapp.exports import jobs as exports
from parkapp.extensions import db
from parkapp.models import (
    USER,
    Booking,
    BookingStatus,
    ExportJob,
    JobKind,
    Role,
    User,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)
from parkapp.waitlist import upkeep as waitlist_minute


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
        .execution_options(**{analytics_rollups.MARKED: True})
    ).all()
    analytics_rollups.mark_instants(db.session, [(row.lot_id, row.starts_at) for row in freed])
    db.session.commit()
    waitlist_minute.spots_freed([(row.lot_id, row.spot_id) for row in freed])
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


def schedule_monthly_reports(today=None):
    """Queue last month's activity PDF for every driver who parked in it (once each)."""
    month = exports.previous_month(today)
    start, end = csv_export.month_bounds(month)
    user_ids = db.session.scalars(
        select(Booking.user_id)
        .where(
            Booking.user_id.is_not(None),
            Booking.starts_at >= start,
            Booking.starts_at < end,
            Booking.status != BookingStatus.CANCELLED,
        )
        .group_by(Booking.user_id)
    ).all()
    queued = 0
    for user_id in user_ids:
        key = f"monthly:{user_id}:{month}"
        if db.session.scalar(select(func.count(ExportJob.id)).where(ExportJob.dedupe_key == key)):
            continue
        try:
            exports.request_export(
                db.session.get(User, user_id),
                JobKind.ACTIVITY_PDF,
                {"month": month},
                dedupe_key=key,
            )
            queued += 1
        except IntegrityError:  # another beat run queued it first
            db.session.rollback()
    return queued


def waitlist_upkeep(now=None):
    """Expire untaken waitlist offers, offer free spots to the queue, re-send unsent offers."""
    return waitlist_minute.run(now)

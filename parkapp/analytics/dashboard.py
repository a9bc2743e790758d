"""Dashboard figures for admins and operators."""

from datetime import datetime, time, timedelta

from sqlalchemy import func, or_, select

from parkapp.extensions import db
from parkapp.models import HOLDING, Booking, BookingStatus, Lot, Spot, SpotStatus, utcnow


def dashboard(day_start=None):
    """Lots, spots, occupied now; bookings, entries, exits and revenue today (UTC day)."""
    now = utcnow()
    day_start = day_start or datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    day_end = day_start + timedelta(days=1)
    occupied = db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.status.in_(HOLDING),
            Booking.starts_at <= now,
            or_(Booking.ends_at.is_(None), Booking.ends_at > now),
        )
    )
    revenue = db.session.execute(
        select(Booking.currency, func.coalesce(func.sum(Booking.price_cents), 0))
        .where(
            Booking.status == BookingStatus.COMPLETED,
            Booking.released_at >= day_start,
            Booking.released_at < day_end,
        )
        .group_by(Booking.currency)
    ).all()
    spots_in_service = db.session.scalar(
        select(func.count(Spot.id)).where(Spot.status == SpotStatus.ACTIVE)
    )
    return {
        "lots": db.session.scalar(select(func.count(Lot.id)).where(Lot.is_active.is_(True))),
        "spots": spots_in_service,
        "occupied_now": occupied,
        "occupancy_percent": round(100 * occupied / spots_in_service, 1)
        if spots_in_service
        else 0.0,
        "active_bookings": db.session.scalar(
            select(func.count(Booking.id)).where(Booking.status == BookingStatus.ACTIVE)
        ),
        "bookings_today": db.session.scalar(
            select(func.count(Booking.id)).where(
                Booking.created_at >= day_start, Booking.created_at < day_end
            )
        ),
        "entries_today": _count_between(Booking.checked_in_at, day_start, day_end),
        "exits_today": _count_between(Booking.released_at, day_start, day_end),
        "revenue_today": [{"currency": cur, "amount_cents": int(total)} for cur, total in revenue],
    }


def _count_between(column, start, end):
    """Bookings whose `column` (checked in, released) falls in `[start, end)`."""
    return db.session.scalar(select(func.count(Booking.id)).where(column >= start, column < end))

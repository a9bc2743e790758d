"""The open occupancy feed: every public lot's place, hours, free spots and status now."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from parkapp.extensions import db
from parkapp.lots import hours, live
from parkapp.models import Booking, Lot, utcnow


@dataclass
class LotOccupancy:
    """One lot as the feed publishes it."""

    lot: Lot
    total_spots: int
    free_spots: int
    status: str  # open, closed or full
    updated_at: datetime


def public_lots():
    """Active lots an admin has not left out of the feed, by id."""
    return db.session.scalars(
        select(Lot).where(Lot.is_active.is_(True), Lot.open_data.is_(True)).order_by(Lot.id)
    ).all()


def occupancy(now=None):
    """Each public lot's counts and status now (free: the same live counts the site shows)."""
    now = now or utcnow()
    found = public_lots()
    if not found:
        return []
    ids = [lot.id for lot in found]
    counts = live.totals(ids)
    changed = last_changes(ids, now)
    result = []
    for lot in found:
        total, free = counts.get(lot.id, (0, 0))
        if not hours.is_open_at(lot, now):
            status = "closed"
        elif free <= 0:
            status = "full"
        else:
            status = "open"
        result.append(LotOccupancy(lot, total, free, status, changed.get(lot.id, lot.created_at)))
    return result


def last_changes(lot_ids, now):
    """{lot_id: the last moment a stay arrived, left, started or ended there, up to now}.

    Derived from the bookings, so the same data always carries the same time (and ETag).
    """
    moments = (
        Booking.created_at,
        Booking.starts_at,
        Booking.ends_at,
        Booking.released_at,
        Booking.cancelled_at,
    )
    query = (
        select(Booking.lot_id, *(func.max(case((m <= now, m))) for m in moments))
        .where(Booking.lot_id.in_(lot_ids))
        .group_by(Booking.lot_id)
    )
    latest = {}
    for lot_id, *values in db.session.execute(query):
        present = [v for v in values if v is not None]
        if present:
            latest[lot_id] = max(present)
    return latest

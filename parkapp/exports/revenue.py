"""Revenue and occupancy by lot and day, for the admin PDF."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from parkapp.core.money import money
from parkapp.core.timezones import zone as _zone
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Lot


def revenue_rows(date_from=None, date_to=None):
    """[(day, lot, bookings, hours, revenue)] for completed stays, days in the lot's zone."""
    query = (
        select(
            Lot.name,
            Lot.timezone,
            Booking.starts_at,
            Booking.ends_at,
            Booking.price_cents,
            Booking.currency,
        )
        .join(Lot, Lot.id == Booking.lot_id)
        .where(Booking.status == BookingStatus.COMPLETED)
    )
    if date_from:
        query = query.where(Booking.starts_at >= _day(date_from) - timedelta(days=1))
    if date_to:
        query = query.where(Booking.starts_at < _day(date_to) + timedelta(days=2))
    totals = defaultdict(lambda: [0, 0, 0])
    for lot, zone, starts, ends, price, currency in db.session.execute(
        query.execution_options(yield_per=5000)
    ):
        day = starts.astimezone(_zone(zone)).date()
        if (date_from and day < date.fromisoformat(date_from)) or (
            date_to and day > date.fromisoformat(date_to)
        ):
            continue
        entry = totals[(day, lot, currency)]
        entry[0] += 1
        entry[1] += int((ends - starts).total_seconds() // 60) if ends else 0
        entry[2] += price or 0
    return [
        [day.isoformat(), lot, str(n), f"{minutes / 60:.1f}", money(cents, currency)]
        for (day, lot, currency), (n, minutes, cents) in sorted(totals.items())
    ]


def _day(iso_day):
    return datetime.combine(date.fromisoformat(iso_day), datetime.min.time(), tzinfo=UTC)

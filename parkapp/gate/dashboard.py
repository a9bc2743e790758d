"""The operator dashboard: today at each lot, in the lot's own time zone, and its queue.

Per lot: stays checked in today (entries), stays released today (exits), vehicles inside
now, fees taken today by payment method (refunds subtracted), and the waitlist in FIFO
order. One grouped query per figure covers every lot: lots sharing a time zone share
today's bounds, so each query has one condition per zone, not one per lot.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select

from parkapp.core.timezones import lot_zone
from parkapp.extensions import db
from parkapp.lots import lots as lot_service
from parkapp.models import (
    QUEUED,
    Booking,
    BookingStatus,
    Lot,
    Payment,
    PaymentStatus,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)

COUNTED_PAYMENTS = (PaymentStatus.PAID, PaymentStatus.REFUNDED)


@dataclass
class QueueRow:
    """One queued vehicle; `position` counts waiting entries only (None while offered)."""

    entry: WaitlistEntry
    position: int | None


@dataclass
class LotToday:
    """One lot's figures for its local `day`."""

    lot: Lot
    day: date
    entries: int = 0
    exits: int = 0
    inside: int = 0
    fees: dict = field(default_factory=dict)  # {PaymentMethod: net cents}, in lot.currency
    queue: list = field(default_factory=list)  # [QueueRow], FIFO

    @property
    def fees_total(self):
        return sum(self.fees.values())

    @property
    def waiting(self):
        return sum(1 for row in self.queue if row.entry.status == WaitlistStatus.WAITING)

    @property
    def offered(self):
        return len(self.queue) - self.waiting


@dataclass
class Operations:
    """Every lot's day, and the totals over them (fees per currency and method)."""

    lots: list
    as_of: datetime

    @property
    def totals(self):
        fees = defaultdict(lambda: defaultdict(int))
        for day in self.lots:
            for method, cents in day.fees.items():
                fees[day.lot.currency][method] += cents
        return {
            "entries": sum(d.entries for d in self.lots),
            "exits": sum(d.exits for d in self.lots),
            "inside": sum(d.inside for d in self.lots),
            "waiting": sum(d.waiting for d in self.lots),
            "offered": sum(d.offered for d in self.lots),
            "fees": {currency: dict(by_method) for currency, by_method in sorted(fees.items())},
        }


def local_day_bounds(zone, now):
    """(local date, start, end) of the day containing `now` in `zone`; bounds in UTC."""
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time.min, tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    return today, start.astimezone(UTC), end.astimezone(UTC)


def today(lot_id=None, now=None):
    """The dashboard for every active lot, or one lot (404 if unknown), as of `now`."""
    now = now or utcnow()
    if lot_id is not None:
        lots = [lot_service.get_lot(lot_id)]
    else:
        lots = db.session.scalars(
            select(Lot).where(Lot.is_active.is_(True)).order_by(Lot.name, Lot.id)
        ).all()
    days, windows = {}, defaultdict(list)
    for lot in lots:
        day, start, end = local_day_bounds(lot_zone(lot), now)
        days[lot.id] = LotToday(lot, day)
        windows[(start, end)].append(lot.id)
    if lots:
        _count_stays(days, windows)
        _add_fees(days, windows)
        _add_queues(days)
    return Operations(list(days.values()), now)


def _in_today(lot_column, column, windows):
    """SQL condition: `column` falls in its lot's local today (one branch per time zone)."""
    return or_(
        *(
            and_(lot_column.in_(lot_ids), column >= start, column < end)
            for (start, end), lot_ids in windows.items()
        )
    )


def _count_stays(days, windows):
    entered = _in_today(Booking.lot_id, Booking.checked_in_at, windows)
    released = _in_today(Booking.lot_id, Booking.released_at, windows)
    inside = and_(Booking.lot_id.in_(list(days)), Booking.status == BookingStatus.ACTIVE)
    for name, condition in (("entries", entered), ("exits", released), ("inside", inside)):
        counts = db.session.execute(
            select(Booking.lot_id, func.count(Booking.id)).where(condition).group_by(Booking.lot_id)
        )
        for lot_id, count in counts:
            setattr(days[lot_id], name, count)


def _add_fees(days, windows):
    rows = db.session.execute(
        select(
            Booking.lot_id,
            Payment.method,
            func.sum(Payment.amount_cents - Payment.refunded_cents),
        )
        .join(Booking, Booking.id == Payment.booking_id)
        .where(
            Payment.status.in_(COUNTED_PAYMENTS),
            _in_today(Booking.lot_id, Payment.paid_at, windows),
        )
        .group_by(Booking.lot_id, Payment.method)
        .order_by(Booking.lot_id, Payment.method)
    )
    for lot_id, method, cents in rows:
        days[lot_id].fees[method] = int(cents or 0)


def _add_queues(days):
    entries = db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.lot_id.in_(list(days)), WaitlistEntry.status.in_(QUEUED))
        .order_by(WaitlistEntry.lot_id, WaitlistEntry.created_at, WaitlistEntry.id)
        .options(db.joinedload(WaitlistEntry.offered_spot), db.joinedload(WaitlistEntry.user))
    )
    places = defaultdict(int)
    for entry in entries:
        position = None
        if entry.status == WaitlistStatus.WAITING:
            places[entry.lot_id] += 1
            position = places[entry.lot_id]
        days[entry.lot_id].queue.append(QueueRow(entry, position))

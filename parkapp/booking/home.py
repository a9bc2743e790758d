"""A driver's home: upcoming and active bookings, this month's spend, hours parked and
savings, and the hours left on their memberships, in a fixed number of queries.

"This month" is each lot's own: a stay counts when it starts in the current month of its
lot's local calendar. Spend is what was paid on those stays, less refunds; savings are
what codes and memberships took off them: the rate-table price of each finished stay
(with the demand adjustment it was booked with) less the price it was charged.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from parkapp.core.timezones import lot_zone
from parkapp.extensions import db
from parkapp.lots.hours import notice
from parkapp.memberships.subscriptions import add_months, is_in_force, memberships_of
from parkapp.memberships.usage import minutes_used, period_of
from parkapp.models import HOLDING, Booking, BookingStatus, Lot, Membership, utcnow
from parkapp.pricing import quoting as pricing

HOUR = timedelta(hours=1)
SHOWN = 10  # upcoming and active bookings listed
PARKED = (BookingStatus.ACTIVE, BookingStatus.COMPLETED)


@dataclass
class MembershipLeft:
    """A membership in force: its plan, hours included and left this period, period end."""

    membership: Membership
    included_hours: int
    hours_left: float
    period_ends: datetime


@dataclass
class Home:
    """What a driver's home page shows."""

    active: list
    upcoming: list
    spend_cents: dict = field(default_factory=dict)  # by currency
    saved_cents: dict = field(default_factory=dict)  # by currency
    parked: timedelta = timedelta(0)  # this month's stays, to the second
    stays: int = 0
    memberships: list = field(default_factory=list)
    notices: dict = field(default_factory=dict)  # lot id -> "Closing in 20 min"

    @property
    def hours_parked(self):
        return round(self.parked / HOUR, 1)


def home(user, now=None):
    """The driver's Home as of `now`."""
    now = now or utcnow()
    holding = db.session.scalars(
        select(Booking)
        .where(Booking.user_id == user.id, Booking.status.in_(HOLDING))
        .order_by(Booking.starts_at)
        .limit(SHOWN * 2)
        .options(joinedload(Booking.lot), joinedload(Booking.spot))
    ).all()
    result = Home(
        active=[b for b in holding if b.status == BookingStatus.ACTIVE][:SHOWN],
        upcoming=[b for b in holding if b.status == BookingStatus.RESERVED][:SHOWN],
    )
    result.notices = {b.lot_id: notice(b.lot, now) for b in holding}
    _month_figures(result, _this_months_stays(user, now), now)
    result.memberships = memberships_left(user, now)
    return result


def month_start(lot, now):
    """The start of the current month in the lot's local calendar, as an aware instant."""
    local = now.astimezone(lot_zone(lot))
    return datetime.combine(local.date().replace(day=1), time(0), tzinfo=local.tzinfo)


def _this_months_stays(user, now):
    """The user's stays that start this month in their lot's calendar (one query, with
    their lots, rates, spots and payments loaded: three more)."""
    # Every zone's month lies within a day of the UTC month; the lot's own is checked below.
    utc_start = datetime.combine(now.date().replace(day=1), time(0), tzinfo=now.tzinfo)
    rows = db.session.scalars(
        select(Booking)
        .where(
            Booking.user_id == user.id,
            Booking.status.in_((*HOLDING, BookingStatus.COMPLETED)),
            Booking.starts_at >= utc_start - timedelta(days=1),
            Booking.starts_at < add_months(utc_start, 1) + timedelta(days=1),
        )
        .options(
            joinedload(Booking.lot).selectinload(Lot.rates),
            joinedload(Booking.spot),
            selectinload(Booking.payments),
        )
    ).all()
    return [b for b in rows if _in_month(b, now)]


def _in_month(booking, now):
    start = month_start(booking.lot, now)
    return start <= booking.starts_at < add_months(start, 1)


def _month_figures(result, stays, now):
    spend, saved = defaultdict(int), defaultdict(int)
    for booking in stays:
        paid = sum(p.net_cents for p in booking.payments)
        if paid:
            spend[booking.currency] += paid
        if booking.status in PARKED:
            result.stays += 1
            end = booking.ends_at or now
            result.parked += max(timedelta(0), end - booking.starts_at)
        cents = saved_on(booking)
        if cents:
            saved[booking.currency] += cents
    result.spend_cents, result.saved_cents = dict(spend), dict(saved)


def saved_on(booking):
    """What codes and memberships took off a finished stay (0 when neither applied)."""
    if booking.status != BookingStatus.COMPLETED or booking.price_cents is None:
        return 0
    if booking.discount_id is None and booking.membership_id is None:
        return 0
    until = max(booking.ends_at or booking.starts_at, booking.booked_ends_at or booking.starts_at)
    demand = None
    if booking.demand_percent:
        demand = pricing.DemandAdjustment(booking.demand_percent, booking.demand_occupancy_percent)
    listed = pricing.quote(
        pricing.Stay(
            booking.lot,
            booking.starts_at,
            until,
            spot_kind=booking.spot.kind,
            vehicle_type=booking.vehicle_type,
            demand=demand,
        )
    )
    return max(0, listed.total_cents - booking.price_cents)


def memberships_left(user, now):
    """The user's memberships in force now, with the hours left in their current period."""
    found = []
    for membership in memberships_of(user):
        if not is_in_force(membership, now):
            continue
        start, end = period_of(membership, now)
        included = membership.plan.included_hours
        used = minutes_used(membership, start, end, now)
        left = max(0, included * 60 - used)
        found.append(MembershipLeft(membership, included, round(left / 60, 1), end))
    return found

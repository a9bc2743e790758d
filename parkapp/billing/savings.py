"""A membership's figures for its driver: hours used and left, stays, and money saved.

Money saved re-prices each stay with `billing.price`, so it sits above billing."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from parkapp.billing import bills as billing
from parkapp.extensions import db
from parkapp.memberships.usage import MINUTE, USING, minutes_used, period_of
from parkapp.models import Booking, utcnow


@dataclass(frozen=True)
class Usage:
    """A membership's figures in its current period, and overall."""

    period_start: datetime
    period_end: datetime
    included_minutes: int
    used_minutes: int
    stays: int
    saved_cents: int
    days_remaining: int

    @property
    def left_minutes(self):
        return max(0, self.included_minutes - self.used_minutes)

    @property
    def hours_used(self):
        return round(self.used_minutes / 60, 2)

    @property
    def hours_left(self):
        return round(self.left_minutes / 60, 2)


def saved_cents(booking):
    """What the membership lines took off a booking's price."""
    if booking.released_at is not None:
        quote = billing.price(booking, billing.billed_until(booking, booking.released_at))
    else:
        quote = billing.price(booking, booking.booked_ends_at)
    return -sum(ln.amount_cents for ln in quote.lines if ln.label.startswith("Membership "))


def usage(membership, now=None):
    """Hours used and left in the current period, stays, money saved, days remaining."""
    now = now or utcnow()
    at = min(max(now, membership.starts_at), membership.ends_at - MINUTE)
    start, end = period_of(membership, at)
    stays = db.session.scalars(
        select(Booking)
        .where(Booking.membership_id == membership.id, Booking.status.in_(USING))
        .order_by(Booking.id)
    ).all()
    remaining = membership.ends_at - now
    return Usage(
        period_start=start,
        period_end=end,
        included_minutes=membership.plan.included_hours * 60,
        used_minutes=minutes_used(membership, start, end, now),
        stays=len(stays),
        saved_cents=sum(saved_cents(b) for b in stays),
        days_remaining=max(0, -(-remaining // timedelta(days=1))),
    )

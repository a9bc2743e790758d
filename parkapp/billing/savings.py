"""A membership's figures for its driver: hours used and left, stays, and money saved.

Money saved re-prices each stay with `billing.price`, so it sits above billing."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from parkapp.billing import bills as billing
from parkapp.extensions import db
from parkapp.memberships.usage import MINUTE, USING, period_of, stay_minutes, terms_among
from parkapp.models import Booking, Lot, Validation, utcnow


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


def saved_cents(booking, terms=None):
    """What the membership lines took off a booking's price (`terms`: known already)."""
    if booking.released_at is not None:
        until = billing.billed_until(booking, booking.released_at)
    else:
        until = booking.booked_ends_at
    quote = billing.price(booking, until, terms=terms)
    return -sum(ln.amount_cents for ln in quote.lines if ln.label.startswith("Membership "))


def usage(membership, now=None):
    """Hours used and left in the current period, stays, money saved, days remaining."""
    return usages([membership], now)[membership.id]


def usages(memberships, now=None):
    """{membership id: Usage} for several memberships, their stays read in one query."""
    now = now or utcnow()
    stays = {m.id: [] for m in memberships}
    if stays:
        query = (
            select(Booking)
            .where(Booking.membership_id.in_(stays), Booking.status.in_(USING))
            .order_by(Booking.id)
            .options(
                selectinload(Booking.spot),
                selectinload(Booking.lot).selectinload(Lot.rates),
                selectinload(Booking.vehicle),
                selectinload(Booking.discount),
                selectinload(Booking.charging_sessions),
                selectinload(Booking.validation).selectinload(Validation.merchant),
            )
        )
        for booking in db.session.scalars(query):
            stays[booking.membership_id].append(booking)
    return {m.id: _usage(m, stays[m.id], now) for m in memberships}


def _usage(membership, stays, now):
    at = min(max(now, membership.starts_at), membership.in_force_until - MINUTE)
    start, end = period_of(membership, at)
    included = membership.plan.included_hours * 60
    # the period's stays, as memberships.usage.minutes_used counts them
    used = sum(stay_minutes(b, now) for b in stays if start <= b.starts_at < end)
    remaining = membership.ends_at - now
    return Usage(
        period_start=start,
        period_end=end,
        included_minutes=included,
        used_minutes=min(included, used),
        stays=len(stays),
        saved_cents=sum(saved_cents(b, terms_among(membership, b, stays, now)) for b in stays),
        days_remaining=max(0, -(-remaining // timedelta(days=1))),
    )

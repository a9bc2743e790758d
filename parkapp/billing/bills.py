"""What a booking costs and what is still owed on it.

The price of a stay comes from `pricing.quote` with the booking's own lot, spot kind,
vehicle type, discount and the demand adjustment it was quoted with when booked. A stay
is billed until now, or until its booked end when that is later; once paid, the price is
held at the moment of payment for the lot's `exit_minutes_after_payment`, so a driver who
paid can reach the barrier without a new hour being charged.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from parkapp.ev import charging as ev
from parkapp.memberships import usage as membership_usage
from parkapp.merchants import validations as merchant_validations
from parkapp.models import PaymentStatus, utcnow
from parkapp.pricing import quoting as pricing


@dataclass(frozen=True)
class Bill:
    """A booking's price as of `billed_until`, what was paid, and what is due."""

    quote: pricing.Quote
    paid_cents: int
    billed_until: datetime | None
    exit_by: datetime | None  # leave by then and no more is due (None: nothing paid yet)

    @property
    def total_cents(self):
        return self.quote.total_cents

    @property
    def due_cents(self):
        return max(0, self.quote.total_cents - self.paid_cents)

    @property
    def currency(self):
        return self.quote.currency

    @property
    def can_exit(self):
        return self.due_cents == 0


def price(booking, until, discount=None, terms=None):
    """The itemised price of `booking` if it is billed until `until` (None: as booked).

    `discount`: a promo code to price with instead of the booking's own (a preview).
    `terms`: its membership's terms when the caller worked them out (a list's stays).
    """
    vehicle_type = booking.vehicle_type or (
        booking.vehicle.vehicle_type if booking.vehicle else None
    )
    quote = pricing.quote(
        pricing.Stay(
            booking.lot,
            booking.starts_at,
            until,
            spot_kind=booking.spot.kind,
            vehicle_type=vehicle_type,
            discount=discount or booking.discount,
            demand=quoted_demand(booking),
            membership=terms or membership_usage.terms_for_booking(booking),
            validation=merchant_validations.terms_for_booking(booking),
        )
    )
    charging = ev.charging_lines(booking, until)  # energy and idle fee, billed with the stay
    if not charging:
        return quote
    return replace(quote, lines=(*quote.lines, *charging))


def quoted_demand(booking):
    """The demand adjustment the booking was quoted with (None: none), whatever came later."""
    if not booking.demand_percent:
        return None
    return pricing.DemandAdjustment(booking.demand_percent, booking.demand_occupancy_percent)


def paid_cents(booking):
    """What has been paid on the booking, less refunds."""
    return sum(p.net_cents for p in booking.payments)


def last_paid_at(booking):
    times = [p.paid_at for p in booking.payments if p.status == PaymentStatus.PAID and p.paid_at]
    return max(times) if times else None


def billed_until(booking, now):
    """The moment a booking is priced to as of `now`.

    The release once released, else now; either held at the last payment when it falls
    within that payment's exit window (a paid stay that left in time owes nothing more);
    never before the booked end.
    """
    booked_end = booking.booked_ends_at
    at = booking.released_at or now
    paid_at = last_paid_at(booking)
    if paid_at is not None and paid_at <= at <= paid_at + _exit_window(booking):
        at = paid_at
    return max(at, booked_end or at)


def bill(booking, now=None):
    """Price, payments and amount due of a booking as of `now`."""
    now = now or utcnow()
    until = billed_until(booking, now)
    paid_at = last_paid_at(booking)
    exit_by = None
    if paid_at is not None:
        exit_by = max(paid_at + _exit_window(booking), booking.booked_ends_at or paid_at)
    return Bill(price(booking, until), paid_cents(booking), until, exit_by)


def _exit_window(booking):
    return timedelta(minutes=booking.lot.exit_minutes_after_payment or 0)

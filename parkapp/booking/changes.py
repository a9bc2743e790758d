"""Changing a booking's times: move a reservation, extend or shorten a stay.

The spot is claimed like a new booking: the booking's own spot when it is free for the new
interval, else another free spot of the same kind (a reservation only: a parked car stays
where it is). PostgreSQL's exclusion constraints decide between racing writers; SQLite
serialises the whole change in one write transaction. Nothing changes when no spot fits.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parkapp.billing import bills as billing
from parkapp.billing import refunds
from parkapp.booking.claims import (
    MAX_SPOT_ATTEMPTS,
    PLATE_CONSTRAINTS,
    SPOT_CONSTRAINT,
    check_interval,
    check_plate_free,
)
from parkapp.core import hooks
from parkapp.core.exceptions import (
    Invalid,
    LotFull,
    NotFound,
    SpotUnavailable,
    VehicleBusy,
    WrongState,
)
from parkapp.dbsetup import write_transaction
from parkapp.lots import availability
from parkapp.models import Booking, BookingStatus, Spot, SpotStatus, utcnow

EXTEND_STEPS = (30, 60)  # minutes offered as one-click extensions
ENDING_SOON = timedelta(minutes=15)  # a fixed-end stay is told this long before it runs out


@dataclass(frozen=True)
class Change:
    """A made change: the booking and its price before and after, in cents."""

    booking: Booking
    old_cents: int
    new_cents: int
    refunded_cents: int
    moved_spot: bool

    @property
    def difference_cents(self):
        """New price minus the old one: positive is due, negative was the saving."""
        return self.new_cents - self.old_cents


def change_times(booking, user, starts_at=None, ends_at=None, now=None):
    """Move a reservation's start or end, or an active stay's end; return the Change.

    Owner only (others get NotFound). 422 names the field that cannot change; 409 when
    no spot of the booking's kind is free for the new interval, and nothing changes.
    """
    if not booking.is_owner(user):
        raise NotFound("No such booking.")
    if starts_at is None and ends_at is None:
        raise Invalid("ends_at", "Give a new start or end time.")
    now = now or utcnow()
    with write_transaction() as session:
        session.refresh(booking, with_for_update=True)
        start, end = _new_interval(booking, starts_at, ends_at, now)
        session.expire(booking, ["payments"])
        old_cents = billing.price(booking, booking.booked_ends_at).total_cents
        refundable = refunds.refundable(booking, now)  # judged on the start as booked
        if (start, end) == (booking.starts_at, booking.ends_at):
            return Change(booking, old_cents, old_cents, 0, False)
        check_plate_free(booking.plate, start, end, booking.status, exclude_id=booking.id)
        old_spot = booking.spot_id
        _claim(session, booking, start, end)
        with session.no_autoflush:
            new_cents = billing.price(booking, booking.booked_ends_at).total_cents
        booking.quoted_cents = new_cents
        made = []
        if new_cents < old_cents and refundable:
            made = refunds.refund_excess(session, booking, new_cents, now)
        session.flush()
        refunded = sum(row.amount_cents for row in made)
        change = Change(booking, old_cents, new_cents, refunded, booking.spot_id != old_spot)
        refund_ids = [row.id for row in made]
    hooks.booking_mail.send(None, event="changed", booking_id=booking.id, ref=_stamp(now))
    for refund_id in refund_ids:
        hooks.booking_mail.send(None, event="refund", booking_id=booking.id, ref=str(refund_id))
    return change


def extend(booking, user, minutes, now=None):
    """Add `minutes` (one of EXTEND_STEPS) to a fixed-end booking's end."""
    if minutes not in EXTEND_STEPS:
        steps = ", ".join(str(step) for step in EXTEND_STEPS)
        raise Invalid("minutes", f"Extend by one of: {steps} minutes.")
    if not booking.is_owner(user):
        raise NotFound("No such booking.")
    if booking.ends_at is None:
        raise WrongState("This stay has no end time to extend.", code="open_ended")
    return change_times(
        booking, user, ends_at=booking.ends_at + timedelta(minutes=minutes), now=now
    )


def can_extend(booking, now=None):
    """Whether the booking page offers the one-click extensions."""
    return (
        booking.status in (BookingStatus.RESERVED, BookingStatus.ACTIVE)
        and booking.ends_at is not None
        and booking.ends_at > (now or utcnow())
    )


def ends_soon(booking, now=None):
    """An active fixed-end stay within ENDING_SOON of its end."""
    now = now or utcnow()
    return (
        booking.status == BookingStatus.ACTIVE
        and booking.ends_at is not None
        and now < booking.ends_at <= now + ENDING_SOON
    )


def _stamp(now):
    """A key for one change's mails: its moment, to the microsecond."""
    return f"{now:%Y%m%d%H%M%S%f}"


def _new_interval(booking, starts_at, ends_at, now):
    """The validated new (start, end) for the booking's status."""
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise Invalid(name, "Give the time with a UTC offset, e.g. 2026-11-23T09:00:00Z.")
    if booking.status == BookingStatus.RESERVED:
        start = starts_at or booking.starts_at
        end = ends_at or booking.ends_at
        # An unchanged start may already be in the grace period: only a new one must be ahead.
        check_interval(booking.lot, start, end, now if starts_at else min(now, start))
        return start, end
    if booking.status != BookingStatus.ACTIVE:
        raise WrongState(
            f"This booking is {booking.status.value}; only a reservation or a stay can change."
        )
    if starts_at is not None and starts_at != booking.starts_at:
        raise Invalid("starts_at", "A stay that has started cannot move its start.")
    if booking.booked_ends_at is None:
        raise WrongState("This stay has no end time: it ends when you leave.", code="open_ended")
    if ends_at is None:
        return booking.starts_at, booking.ends_at
    if ends_at <= now:
        raise Invalid("ends_at", "The new end must be in the future.")
    check_interval(booking.lot, booking.starts_at, ends_at, booking.starts_at)
    return booking.starts_at, ends_at


def _claim(session, booking, start, end):
    """Hold the booking's spot (or, for a reservation, another of its kind) for the interval."""
    own = session.scalar(
        select(Spot).where(Spot.id == booking.spot_id).with_for_update(key_share=True)
    )
    if own.status == SpotStatus.ACTIVE and _try(session, booking, own, start, end):
        return
    if booking.status != BookingStatus.RESERVED:
        raise SpotUnavailable(f"Spot {own.label} is taken after your stay; it cannot be extended.")
    tried = [own.id]
    for _ in range(MAX_SPOT_ATTEMPTS):
        spot = session.scalar(
            availability.free_spots_query(booking.lot_id, start, end, (own.kind,))
            .where(Spot.id.not_in(tried))
            .limit(1)
            .with_for_update(of=Spot, skip_locked=True, key_share=True)
        )
        if spot is None:
            break
        if _try(session, booking, spot, start, end):
            return
        tried.append(spot.id)
    raise LotFull(f"No {own.kind.value} spot is free for that time; nothing was changed.")


def _try(session, booking, spot, start, end):
    """Put the booking on `spot` for the interval in a savepoint; False if the spot is taken."""
    taken = session.scalar(
        select(Booking.id)
        .where(
            Booking.spot_id == spot.id,
            Booking.id != booking.id,
            availability.overlaps(start, end),
        )
        .limit(1)
    )
    if taken is not None:
        return False
    # Set every field inside the attempt: a rolled back savepoint expires what it flushed.
    try:
        with session.begin_nested():
            booking.spot_id = spot.id
            booking.starts_at, booking.ends_at, booking.booked_ends_at = start, end, end
            session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint == SPOT_CONSTRAINT:
            return False
        if constraint in PLATE_CONSTRAINTS:
            raise VehicleBusy(
                f"Vehicle {booking.plate} already has a booking at that time."
            ) from None
        raise
    session.expire(booking, ["spot"])
    return True

"""What a membership gives a stay: its period, included minutes left, and its terms.

A stay uses included minutes for its billed length: from its start to its end (or now while
open), never before its booked end. Stays use up their period's included minutes in order
of booking (id), so `terms_for_booking` of a booking counts only the stays booked before it.
"""

from datetime import timedelta

from sqlalchemy import select

from parkapp.extensions import db
from parkapp.memberships.subscriptions import IN_FORCE, add_months
from parkapp.models import Booking, BookingStatus, Membership, MembershipVehicle, Vehicle, utcnow
from parkapp.pricing import quoting as pricing

USING = (BookingStatus.RESERVED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)


MINUTE = timedelta(minutes=1)


def period_of(membership, at):
    """The membership month `[start, end)` holding `at` (clamped to the membership)."""
    index = 0
    start = membership.starts_at
    while True:
        end = add_months(membership.starts_at, index + 1)
        if at < end or end >= membership.in_force_until:
            return start, min(end, membership.in_force_until)
        index += 1
        start = end


def stay_minutes(booking, now):
    """The minutes a stay is billed for as of `now`, rounded up."""
    end = booking.ends_at or now
    if booking.booked_ends_at is not None and booking.booked_ends_at > end:
        end = booking.booked_ends_at
    return max(0, -(-(end - booking.starts_at) // MINUTE))


def _period_bookings(membership, start, end, before_id=None):
    query = select(Booking).where(
        Booking.membership_id == membership.id,
        Booking.status.in_(USING),
        Booking.starts_at >= start,
        Booking.starts_at < end,
    )
    if before_id is not None:
        query = query.where(Booking.id < before_id)
    return db.session.scalars(query.order_by(Booking.id)).all()


def minutes_used(membership, start, end, now, before_id=None):
    """Included minutes the period's stays (booked before `before_id`) have used."""
    included = membership.plan.included_hours * 60
    used = sum(stay_minutes(b, now) for b in _period_bookings(membership, start, end, before_id))
    return min(included, used)


def _terms(membership, left_minutes):
    plan = membership.plan
    return pricing.MembershipTerms(plan.name, left_minutes, plan.discount_percent)


def may_cover(user_id, vehicle_id, at):
    """SQL condition: some membership of the user in force at `at` lists the vehicle.

    Necessary for `membership_for` to find one: a stay whose vehicle has none skips it.
    """
    return (
        select(MembershipVehicle.membership_id)
        .join(Membership, Membership.id == MembershipVehicle.membership_id)
        .where(
            MembershipVehicle.vehicle_id == vehicle_id,
            Membership.user_id == user_id,
            Membership.status.in_(IN_FORCE),
            Membership.starts_at <= at,
            Membership.in_force_until > at,
        )
        .exists()
    )


def membership_for(user, lot, plate, at):
    """The driver's membership in force at `at` covering `lot` and the vehicle `plate`."""
    if user is None or plate is None:
        return None
    candidates = db.session.scalars(
        select(Membership)
        .join(MembershipVehicle, MembershipVehicle.membership_id == Membership.id)
        .join(Vehicle, Vehicle.id == MembershipVehicle.vehicle_id)
        .where(
            Membership.user_id == user.id,
            Membership.status.in_(IN_FORCE),
            Membership.starts_at <= at,
            Membership.in_force_until > at,
            Vehicle.plate == plate,
            Vehicle.user_id == user.id,
        )
        .order_by(Membership.id)
    ).all()
    covering = [m for m in candidates if m.plan.covers(lot.id)]
    # Several plans may cover the stay: the one taking most off (most hours, then percent).
    return max(
        covering,
        key=lambda m: (m.plan.included_hours, m.plan.discount_percent, -m.id),
        default=None,
    )


def membership_for_plate(lot, plate, at):
    """(membership, vehicle) covering a plate at `lot`, whoever's account holds the vehicle.

    For a car arriving at the gate without a booking: a member's attached vehicle is known
    by its plate alone.
    """
    vehicles = db.session.scalars(select(Vehicle).filter_by(plate=plate).order_by(Vehicle.id))
    for vehicle in vehicles:
        membership = membership_for(vehicle.owner, lot, plate, at)
        if membership is not None:
            return membership, vehicle
    return None, None


def terms_for(user, lot, plate, at, now=None):
    """(membership, MembershipTerms) for a new stay starting at `at`, or (None, None)."""
    membership = membership_for(user, lot, plate, at)
    if membership is None:
        return None, None
    start, end = period_of(membership, at)
    included = membership.plan.included_hours * 60
    left = included - minutes_used(membership, start, end, now or utcnow())
    return membership, _terms(membership, left)


def terms_among(membership, booking, stays, now):
    """`terms_for_booking` from the membership's stays already loaded (no query)."""
    start, end = period_of(membership, booking.starts_at)
    included = membership.plan.included_hours * 60
    used = sum(
        stay_minutes(b, now) for b in stays if b.id < booking.id and start <= b.starts_at < end
    )
    return _terms(membership, included - min(included, used))


def terms_for_booking(booking, now=None):
    """The MembershipTerms a booking is priced with (None without a membership)."""
    membership = booking.membership
    if membership is None:
        return None
    start, end = period_of(membership, booking.starts_at)
    included = membership.plan.included_hours * 60
    used = minutes_used(membership, start, end, now or utcnow(), before_id=booking.id)
    return _terms(membership, included - used)

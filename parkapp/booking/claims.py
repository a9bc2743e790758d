"""Making a booking: the interval rules, the price quoted, and the claim on a spot.

The database decides who gets a spot: exclusion constraints on PostgreSQL (one claim per
spot and interval, one per vehicle), a single write transaction on SQLite.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from parkapp.accounts.vehicles import normalise_plate, vehicle_for_plate
from parkapp.billing import discounts
from parkapp.core import hooks
from parkapp.core.codes import new_code
from parkapp.core.exceptions import (
    Invalid,
    LotFull,
    NotFound,
    SpotUnavailable,
    VehicleBusy,
)
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.lots import availability, hours, lots
from parkapp.memberships import usage as membership_usage
from parkapp.models import (
    Booking,
    BookingSource,
    BookingStatus,
    Spot,
    SpotKind,
    SpotStatus,
    Vehicle,
    utcnow,
)
from parkapp.pricing import demand
from parkapp.pricing import quoting as pricing

PAST_TOLERANCE = timedelta(minutes=1)


MAX_SPOT_ATTEMPTS = 20


SPOT_CONSTRAINT = "bookings_no_overlap"


# One vehicle: no two overlapping active stays, no two overlapping reservations.
PLATE_CONSTRAINTS = {"bookings_plate_active_no_overlap", "bookings_plate_reserved_no_overlap"}


@dataclass
class BookingRequest:
    """What a driver asks for; `starts_at=None` means park now."""

    lot_id: int
    plate: str
    spot_id: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    spot_kind: str | None = None
    source: BookingSource = BookingSource.WEB
    discount_code: str | None = None


def check_interval(lot, starts_at, ends_at, now):
    """Validate a requested interval; return (start, end, park_now). Raises Invalid."""
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is not None and value.tzinfo is None:
            raise Invalid(name, "Give the time with a UTC offset, e.g. 2026-11-23T09:00:00Z.")
    park_now = starts_at is None
    start = now if park_now else starts_at
    if not park_now and start < now - PAST_TOLERANCE:
        raise Invalid("starts_at", "The start is in the past.")
    if ends_at is not None and ends_at <= start:
        raise Invalid("ends_at", "The end must be after the start.")
    if not park_now and ends_at is None:
        raise Invalid("ends_at", "A reservation needs an end time.")
    limit = timedelta(days=lot.max_booking_days or current_app.config["MAX_BOOKING_DAYS"])
    if ends_at is not None and ends_at - start > limit:
        raise Invalid("ends_at", f"A booking at this lot can last at most {limit.days} days.")
    hours.check_stay(lot, start, ends_at, park_now)
    return start, ends_at, park_now


def parse_kind(kind):
    """A SpotKind or None; 422 for an unknown kind."""
    if kind in (None, ""):
        return None
    try:
        return SpotKind(kind)
    except ValueError:
        raise Invalid(
            "spot_kind", f"Spot kind must be one of: {', '.join(k.value for k in SpotKind)}."
        ) from None


def quote_for(
    lot,
    starts_at=None,
    ends_at=None,
    spot_kind=None,
    vehicle_type=None,
    discount_code=None,
    user=None,
    plate=None,
):
    """The price of a prospective stay, validated like a booking would be.

    A `discount_code` is checked (for `user`'s per-driver limit too) but not used up. With
    `user` and `plate`, a membership covering that vehicle at the lot applies.
    """
    now = utcnow()
    start, end, _ = check_interval(lot, starts_at, ends_at, now)
    discount = _checked_code(discount_code, user, lot, now)
    adjust = demand.adjustment(lot, start)
    plate = normalise_plate(plate, field="vehicle_plate") if plate else None
    _, terms = membership_usage.terms_for(user, lot, plate, start, now)
    return pricing.quote(
        pricing.Stay(
            lot,
            start,
            end,
            spot_kind=parse_kind(spot_kind),
            vehicle_type=vehicle_type,
            discount=discount,
            demand=adjust,
            membership=terms,
        )
    )


def _checked_code(code, user, lot, now):
    """The Discount for a code given with a request (None for none); 422 if unusable."""
    if code is None or (isinstance(code, str) and not code.strip()):
        return None
    return discounts.check(code, user=user, lot=lot, at=now)


class _SpotRaced(Exception):
    """PostgreSQL refused the INSERT outside a savepoint: the transaction is lost, try again."""


def create_booking(user, req):
    """Book a chosen spot or any free spot of a kind; 409 if nothing fits the interval."""
    if not exclusion_constraints():
        return _create_booking(user, req, savepoint=True)
    try:
        # No savepoint around the INSERT (two statements fewer per booking): a spot taken
        # between the candidate query's snapshot and its lock is rare, and then the whole
        # transaction is rolled back and run again with a savepoint per candidate spot.
        return _create_booking(user, req, savepoint=False)
    except _SpotRaced:
        return _create_booking(user, req, savepoint=True)


def _create_booking(user, req, savepoint):
    lot = lots.get_lot(req.lot_id, with_rates=True)
    plate = normalise_plate(req.plate, field="vehicle_plate")
    kind = parse_kind(req.spot_kind)
    now = utcnow()
    start, end, park_now = check_interval(lot, req.starts_at, req.ends_at, now)
    discount = _checked_code(req.discount_code, user, lot, now)  # fast 422 before any lock
    with write_transaction(keep_loaded=True) as session:
        vehicle, member = _vehicle(user, plate, start)
        status = BookingStatus.ACTIVE if park_now else BookingStatus.RESERVED
        check_plate_free(plate, start, end, status)
        adjust = demand.adjustment(lot, start)  # as quoted: before this booking counts
        membership, terms = (
            membership_usage.terms_for(user, lot, plate, start, now) if member else (None, None)
        )
        booking = Booking(
            lot_id=lot.id,
            user_id=user.id,
            vehicle_id=vehicle.id,
            plate=plate,
            source=req.source,
            status=status,
            starts_at=start,
            ends_at=end,
            booked_ends_at=end,
            checked_in_at=now if park_now else None,
            confirmation_code=new_code(),
            currency=lot.currency,
            membership_id=membership.id if membership else None,
            discount_id=discount.id if discount else None,  # its use is counted below
            vehicle_type=vehicle.vehicle_type,
            demand_percent=adjust.percent if adjust else None,
            demand_occupancy_percent=adjust.occupancy_percent if adjust else None,
        )

        def quoted(spot):  # priced as inserted: one INSERT, no UPDATE after it
            quote = pricing.quote(
                pricing.Stay(
                    lot,
                    booking.starts_at,
                    end,
                    spot_kind=spot.kind,
                    vehicle_type=vehicle.vehicle_type,
                    discount=discount,
                    demand=adjust,
                    membership=terms,
                )
            )
            booking.booked_quote = (quote, (booking.starts_at, end, spot.id))
            return quote.total_cents

        if req.spot_id is not None:
            spot = _lock_chosen_spot(lot, req.spot_id, start, end)
            _insert(session, booking, spot, quoted, savepoint)
        else:
            kinds = (
                (kind,)
                if kind
                else availability.fitting_kinds(
                    vehicle.vehicle_type, vehicle.is_ev, vehicle.accessible
                )
            )
            insert_on_any_spot(session, booking, lot, kinds, start, end, quoted, savepoint)
        if discount is not None:  # counted in this transaction: a failed booking uses nothing
            discounts.redeem(session, discount, booking, user, now)
        # What the answer shows, as inserted: no reads after the commit.
        set_committed_value(booking, "lot", lot)
        set_committed_value(booking, "discount", discount)
        set_committed_value(booking, "vehicle", vehicle)
        set_committed_value(booking, "payments", [])
        set_committed_value(booking, "charging_sessions", [])
        booking_id = booking.id  # read now: after the commit it would cost a query
    hooks.booking_mail.send(None, event="confirmed", booking_id=booking_id, ref="")
    return booking


def _vehicle(user, plate, start):
    """(the user's vehicle with this plate, added when new; whether a membership may cover it)."""
    row = db.session.execute(
        select(Vehicle, membership_usage.may_cover(user.id, Vehicle.id, start)).where(
            Vehicle.user_id == user.id, Vehicle.plate == plate
        )
    ).first()
    if row is None:
        return vehicle_for_plate(user, plate), False  # a new vehicle is on no membership
    return row[0], row[1]


def plate_clash(plate, start, end, status, exclude_id=None):
    """SQL condition: a holding booking of this vehicle clashes with `[start, end)` as `status`.

    Bookings of the same status may not overlap (PostgreSQL enforces that too). Across
    statuses, a stay starting now clashes with a reservation covering now, and a reservation
    with a stay that has a fixed end; an open-ended stay does not block next week's
    reservation, since it ends when the driver releases it.
    """
    overlap = availability.overlaps(start, end)
    if status == BookingStatus.ACTIVE:
        cross = and_(
            Booking.status == BookingStatus.RESERVED,
            Booking.starts_at <= start,
            Booking.ends_at > start,
        )
    else:
        cross = and_(Booking.status == BookingStatus.ACTIVE, Booking.ends_at.is_not(None), overlap)
    condition = and_(Booking.plate == plate, or_(and_(Booking.status == status, overlap), cross))
    return condition if exclude_id is None else and_(condition, Booking.id != exclude_id)


def check_plate_free(plate, start, end, status, exclude_id=None):
    """VehicleBusy (409) if the vehicle already holds a clashing booking."""
    clash = db.session.scalar(
        select(Booking).where(plate_clash(plate, start, end, status, exclude_id)).limit(1)
    )
    if clash is None:
        return
    if status == BookingStatus.ACTIVE and clash.status == BookingStatus.RESERVED:
        raise VehicleBusy(
            f"Vehicle {plate} has a reservation now: check in to it instead.",
            errors={"vehicle_plate": ["Has a reservation for now."]},
        )
    raise VehicleBusy(
        f"Vehicle {plate} already has a booking at that time.",
        errors={"vehicle_plate": ["Already booked for an overlapping time."]},
    )


def _lock_chosen_spot(lot, spot_id, start, end):
    # FOR NO KEY UPDATE (key_share): serialises bookers of the spot without blocking the
    # foreign-key checks other transactions make on it (a release did, and deadlocked).
    spot = db.session.scalar(
        select(Spot)
        .where(Spot.id == spot_id)
        .options(joinedload(Spot.level), joinedload(Spot.zone))
        .with_for_update(of=Spot, key_share=True)
    )
    if spot is None or spot.lot_id != lot.id or spot.status == SpotStatus.REMOVED:
        raise NotFound("No such spot in this lot.")
    if spot.status != SpotStatus.ACTIVE:
        raise SpotUnavailable(f"Spot {spot.label} is under maintenance.")
    _confirm_free(spot, start, end)
    return spot


def exclusion_constraints():
    """Whether the database itself refuses overlapping claims (PostgreSQL)."""
    return db.engine.dialect.name == "postgresql"


def _confirm_free(spot, start, end):
    """Check a locked spot again with a fresh read: a stay committed meanwhile counts too."""
    taken = db.session.scalar(
        select(Booking.id)
        .where(Booking.spot_id == spot.id, availability.overlaps(start, end))
        .limit(1)
    )
    if taken is not None:
        raise SpotUnavailable(f"Spot {spot.label} is taken for that time.")


def insert_on_any_spot(session, booking, lot, kinds, start, end, quoted=None, savepoint=True):
    """Insert `booking` on the first free spot of `kinds` (best first); LotFull if none.

    `quoted(spot)`, when given, prices the booking on the spot found, before the INSERT.
    `savepoint=False` (PostgreSQL): a spot lost to a race raises `_SpotRaced`, the
    transaction being unusable then, instead of trying the next spot.
    """
    tried = []
    for _ in range(MAX_SPOT_ATTEMPTS):
        query = availability.free_spots_query(lot.id, start, end, kinds)
        if tried:
            query = query.where(Spot.id.not_in(tried))
        spot = session.scalar(
            query.limit(1)
            .options(joinedload(Spot.level), joinedload(Spot.zone))  # for the answer
            .with_for_update(of=Spot, skip_locked=True, key_share=True)
        )
        if spot is None:
            break
        try:
            if not exclusion_constraints():
                _confirm_free(spot, start, end)
            # PostgreSQL: the candidate query's snapshot may predate a booking committed on
            # this spot just before we locked it; the exclusion constraint refuses the
            # INSERT then (SpotUnavailable) and the next spot is tried. No re-read first:
            # it would cost every booking a round trip to spare the rare lost race one.
            return _insert(session, booking, spot, quoted, savepoint)
        except SpotUnavailable:
            tried.append(spot.id)
    what = f"{kinds[0].value} " if len(kinds) == 1 else ""
    raise LotFull(f"{lot.name} has no free {what}spot for that time.")


def _insert(session, booking, spot, quoted=None, savepoint=True):
    """Insert (in a savepoint unless told not to); translate the PostgreSQL exclusion violations."""
    booking.spot_id = spot.id
    if booking.checked_in_at is not None:
        _stamp_start(booking)
    if quoted is not None:
        booking.quoted_cents = quoted(spot)
    try:
        if savepoint:
            with session.begin_nested():
                session.add(booking)
                session.flush()
        else:
            session.add(booking)
            session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint == SPOT_CONSTRAINT and not savepoint:
            raise _SpotRaced() from None
        if constraint == SPOT_CONSTRAINT:
            raise SpotUnavailable(f"Spot {spot.label} was just taken.") from None
        if constraint in PLATE_CONSTRAINTS:
            raise VehicleBusy(
                f"Vehicle {booking.plate} already has a booking at that time."
            ) from None
        raise
    booking.spot = spot
    set_committed_value(booking, "validation", None)  # just inserted: nobody validated it yet
    return spot


def _stamp_start(booking):
    """Park now starts once the spot is ours, not when the request arrived.

    `_confirm_free` saw the locked spot free, so the previous stay's release had committed
    and a start taken now is never before its end: a spot's history has no overlaps.
    """
    stamp = utcnow()
    if booking.ends_at is None or stamp < booking.ends_at:
        booking.starts_at = booking.checked_in_at = stamp

"""The FIFO waitlist: queue for a full lot, get offered the next freed spot, accept it.

A vehicle queues when no free spot fits it. A freed spot is offered by waitlist_offers:
the first entry that fits gets a `reserved` booking (the hold) on it for the offer window.
Accepting the offer, or checking in to the hold anywhere, turns the hold into a park-now
stay. The minute task (waitlist_upkeep) expires untaken offers, offers missed spots and
re-sends offer mail that failed.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from parkapp.accounts.vehicles import normalise_plate, parse_vehicle_type, vehicle_for_plate
from parkapp.billing import bills as billing
from parkapp.booking import claims
from parkapp.core.exceptions import Conflict, NotFound, SpotUnavailable, VehicleBusy, WrongState
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.lots import availability, lots
from parkapp.models import (
    HOLDING,
    QUEUED,
    Booking,
    BookingStatus,
    Spot,
    SpotKind,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)
from parkapp.waitlist import offers as waitlist_offers

# "Any kind" is what "any spot" gives a car when booking: never accessible or motorcycle.
ANY_KINDS = availability.fitting_kinds()


@dataclass(frozen=True)
class Position:
    """Where a waiting entry stands: `place` of `total` waiting at the lot."""

    place: int
    total: int

    def __str__(self):
        return f"{ordinal(self.place)} of {self.total}"


def ordinal(n):
    """1st, 2nd, 3rd, 4th, 11th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- joining and leaving ----------------------------------------------------------------


def join(user, lot_id, plate, spot_kind=None, *, vehicle_type=None, is_ev=False, accessible=False):
    """Queue a vehicle for a lot with no free spot that fits it; `user` None is a gate entry.

    A driver's vehicle is the one on their account with this plate; a vehicle queued at
    the gate is described by `vehicle_type`, `is_ev` and `accessible` instead.
    """
    lot = lots.get_lot(lot_id)
    plate = normalise_plate(plate, field="vehicle_plate")
    kind = claims.parse_kind(spot_kind)
    vehicle = {
        "vehicle_type": parse_vehicle_type(vehicle_type) if vehicle_type else None,
        "is_ev": bool(is_ev),
        "accessible": bool(accessible),
    }
    now = utcnow()
    with write_transaction() as session:
        if user is not None:
            own = vehicle_for_plate(user, plate)
            vehicle = {name: getattr(own, name) for name in vehicle}
        _refuse_if_queued(lot, user, plate)
        kinds = (kind,) if kind else availability.fitting_kinds(**vehicle)
        free = session.scalar(availability.free_spots_query(lot.id, now, None, kinds).limit(1))
        if free is not None:
            raise _spots_free(lot, kind)
        entry = WaitlistEntry(
            lot_id=lot.id, user_id=user.id if user else None, plate=plate, spot_kind=kind, **vehicle
        )
        try:
            with session.begin_nested():
                session.add(entry)
                session.flush()
        except IntegrityError:
            # PostgreSQL: a concurrent join of the same driver or vehicle committed first.
            raise _already_queued(lot) from None
    return entry


def _spots_free(lot, kind):
    what = f"{kind.value} spot" if kind else "spot for this vehicle"
    return Conflict(
        f"{lot.name} has a free {what} right now, so there is no need to queue: book one instead.",
        code="spots_free",
    )


def _refuse_if_queued(lot, user, plate):
    same = WaitlistEntry.plate == plate
    if user is not None:
        same = or_(same, WaitlistEntry.user_id == user.id)
    queued = db.session.scalar(
        select(WaitlistEntry.id)
        .where(WaitlistEntry.lot_id == lot.id, WaitlistEntry.status.in_(QUEUED), same)
        .limit(1)
    )
    if queued is not None:
        raise _already_queued(lot)


def _already_queued(lot):
    return Conflict(f"You are already on the waitlist for {lot.name}.", code="already_waiting")


def queued_entry(user, lot_id):
    """The user's waiting or offered entry at a lot, or NotFound."""
    lots.get_lot(lot_id)
    entry = db.session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.lot_id == lot_id,
            WaitlistEntry.user_id == user.id,
            WaitlistEntry.status.in_(QUEUED),
        )
    )
    if entry is None:
        raise NotFound("You are not on this lot's waitlist.")
    return entry


def get_entry(entry_id, user):
    """One of the user's own entries, or NotFound (other people's too)."""
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or not entry.is_owner(user):
        raise NotFound("No such waitlist entry.")
    return entry


def leave(user, lot_id):
    """Leave a lot's waitlist at any time; a standing offer passes to the next in line."""
    entry = queued_entry(user, lot_id)
    return _give_up(entry, allowed=QUEUED)


def decline(entry_id, user):
    """Turn an offer down: the spot passes to the next in line and the entry leaves."""
    return _give_up(get_entry(entry_id, user), allowed=(WaitlistStatus.OFFERED,))


def _give_up(entry, allowed):
    now = utcnow()
    with write_transaction() as session:
        session.refresh(entry, with_for_update=True)
        if entry.status not in allowed:
            raise WrongState(f"This entry is {entry.status.value}.", code="not_offered")
        freed_spot = drop_hold(session, entry, now)
        entry.status = WaitlistStatus.LEFT
    if freed_spot is not None:
        pass_on(entry.lot_id, freed_spot)
    return entry


def drop_hold(session, entry, now):
    """Cancel an offer's hold if it still holds the spot; the freed spot id, or None."""
    if entry.status != WaitlistStatus.OFFERED or entry.booking_id is None:
        return None
    hold = session.get(Booking, entry.booking_id, with_for_update=True)
    if hold is None or hold.status != BookingStatus.RESERVED:
        return None
    hold.status = BookingStatus.CANCELLED
    hold.cancelled_at = now
    return hold.spot_id


# --- positions and lists ----------------------------------------------------------------


def position(entry):
    """A waiting entry's place in its lot's queue (FIFO by join time, then id)."""
    waiting = select(func.count(WaitlistEntry.id)).where(
        WaitlistEntry.lot_id == entry.lot_id, WaitlistEntry.status == WaitlistStatus.WAITING
    )
    ahead = waiting.where(
        or_(
            WaitlistEntry.created_at < entry.created_at,
            and_(WaitlistEntry.created_at == entry.created_at, WaitlistEntry.id < entry.id),
        )
    )
    return Position(db.session.scalar(ahead) + 1, db.session.scalar(waiting))


def queued_lot_ids(user):
    """The lots where the user waits (or holds an offer), for pages that follow them live."""
    query = select(WaitlistEntry.lot_id).where(
        WaitlistEntry.user_id == user.id, WaitlistEntry.status.in_(QUEUED)
    )
    return sorted(set(db.session.scalars(query)))


def entries_of(user):
    """The user's queued entries, oldest first, each with its position (None when offered)."""
    entries = db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.user_id == user.id, WaitlistEntry.status.in_(QUEUED))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        .options(db.joinedload(WaitlistEntry.lot), db.joinedload(WaitlistEntry.offered_spot))
    ).all()
    places = positions([e for e in entries if not e.is_offered])
    return [(e, places.get(e.id)) for e in entries]


def positions(entries):
    """{entry id: Position} for waiting entries, in one query whatever their number."""
    if not entries:
        return {}
    lot_ids = {e.lot_id for e in entries}
    order = (WaitlistEntry.created_at, WaitlistEntry.id)
    ranked = (
        select(
            WaitlistEntry.id,
            func.row_number().over(partition_by=WaitlistEntry.lot_id, order_by=order).label("n"),
            func.count().over(partition_by=WaitlistEntry.lot_id).label("total"),
        )
        .where(WaitlistEntry.lot_id.in_(lot_ids), WaitlistEntry.status == WaitlistStatus.WAITING)
        .subquery()
    )
    rows = db.session.execute(select(ranked).where(ranked.c.id.in_([e.id for e in entries]))).all()
    return {row.id: Position(row.n, row.total) for row in rows}


def full_kinds(lot_id, now=None, vehicles=()):
    """What a driver may queue for now: kinds with no spot free from now on.

    None ("any kind") is a choice when no free spot fits a car, or one of `vehicles`.
    """
    now = now or utcnow()
    in_service = availability.counts_by_kind(lot_id, now, None)
    free_now = set(
        db.session.scalars(
            availability.free_spots_query(lot_id, now, None)
            .with_only_columns(Spot.kind)
            .order_by(None)
            .distinct()
        )
    )
    choices = [SpotKind(kind) for kind in in_service if SpotKind(kind) not in free_now]
    fits = [availability.fitting_kinds()]
    fits += [availability.fitting_kinds(v.vehicle_type, v.is_ev, v.accessible) for v in vehicles]
    if any(not free_now.intersection(kinds) for kinds in fits):
        choices.insert(0, None)
    return choices


# --- offers -----------------------------------------------------------------------------


def spot_freed(booking_id, lot_id, spot_id):
    """Hook for after a booking stopped holding its spot (and committed): offer the spot.

    Takes ids read before the commit, so the expired booking is not loaded again. The
    booking's own change has committed already, so a failure here must not turn it into an
    error: the minute task sweeps free spots and offers them again.
    """
    try:
        if not _concerns_waitlist(booking_id, lot_id):
            return
        _settle_dropped_hold(booking_id)
        waitlist_offers.offer_next(lot_id, spot_id)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("waitlist: offering spot %s failed", spot_id)


def _concerns_waitlist(booking_id, lot_id):
    """Whether anyone waits at the booking's lot or the booking was an offer's hold.

    One read that lets the usual release (nobody waiting) skip the write transactions.
    """
    return (
        db.session.scalar(
            select(WaitlistEntry.id)
            .where(
                WaitlistEntry.lot_id == lot_id,
                or_(
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                    and_(
                        WaitlistEntry.booking_id == booking_id,
                        WaitlistEntry.status == WaitlistStatus.OFFERED,
                    ),
                ),
            )
            .limit(1)
        )
        is not None
    )


def pass_on(lot_id, spot_id):
    """Offer a spot freed outside a booking's hook; a failure is logged, the sweep retries."""
    try:
        waitlist_offers.offer_next(lot_id, spot_id)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("waitlist: offering spot %s failed", spot_id)


def _settle_dropped_hold(booking_id):
    """A hold the driver cancelled on the bookings page counts as declining the offer."""
    with write_transaction() as session:
        entry = session.scalar(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.booking_id == booking_id,
                WaitlistEntry.status == WaitlistStatus.OFFERED,
            )
            .with_for_update(skip_locked=True)
        )
        if entry is not None and entry.booking.status not in HOLDING:
            entry.status = WaitlistStatus.LEFT


# --- accepting --------------------------------------------------------------------------


def accept(entry_id, user):
    """Take an offer: the hold becomes an active park-now stay on the offered spot."""
    return _take(get_entry(entry_id, user))


def check_in_hold(booking, stamp=None):
    """Checking in to an offer's hold accepts the offer; None if the booking holds no offer.

    The caller has checked that the user may check the booking in (its driver, or an
    operator at the gate for a vehicle queued there). `stamp`: attributes set on the stay
    in the same transaction (the gate's ticket and entry gate).
    """
    entry = db.session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.booking_id == booking.id,
            WaitlistEntry.status == WaitlistStatus.OFFERED,
        )
    )
    return None if entry is None else _take(entry, stamp)


def _take(entry, stamp=None):
    now = utcnow()
    with write_transaction() as session:
        session.refresh(entry, with_for_update=True)
        if entry.status != WaitlistStatus.OFFERED:
            raise WrongState(f"This offer is {entry.status.value}.", code="offer_closed")
        if now >= entry.offer_expires_at:
            raise WrongState("This offer has expired.", code="offer_expired")
        hold = session.get(Booking, entry.booking_id, with_for_update=True)
        if hold is None or hold.status != BookingStatus.RESERVED:
            raise WrongState("This offer is no longer held for you.", code="offer_closed")
        start_stay(session, hold, now)
        for name, value in (stamp or {}).items():
            setattr(hold, name, value)
        entry.status = WaitlistStatus.ASSIGNED
    return hold


def start_stay(session, hold, now):
    """Turn a hold into an active stay from now, open-ended unless the spot is booked later."""
    session.scalar(select(Spot).where(Spot.id == hold.spot_id).with_for_update(key_share=True))
    # A reservation made for later while the offer stood keeps its claim: stay until then.
    until = session.scalar(
        select(func.min(Booking.starts_at)).where(
            Booking.spot_id == hold.spot_id,
            Booking.id != hold.id,
            availability.overlaps(now, None),
        )
    )
    if session.scalar(
        select(Booking.id)
        .where(claims.plate_clash(hold.plate, now, until, BookingStatus.ACTIVE, hold.id))
        .limit(1)
    ):
        raise VehicleBusy(
            f"Vehicle {hold.plate} is parked elsewhere: release that stay first.",
            errors={"vehicle_plate": ["Already parked."]},
        )
    hold.status = BookingStatus.ACTIVE
    hold.starts_at = hold.checked_in_at = now
    hold.ends_at = hold.booked_ends_at = until
    hold.quoted_cents = billing.price(hold, until).total_cents
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if waitlist_offers.constraint_name(exc) in claims.PLATE_CONSTRAINTS:
            raise VehicleBusy(f"Vehicle {hold.plate} is parked elsewhere.") from None
        raise SpotUnavailable("This spot was just taken; please try again.") from None

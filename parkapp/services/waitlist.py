"""The FIFO waitlist: queue for a full lot, get offered the next freed spot, accept it.

An offer is a real `reserved` booking (the hold) on the freed spot for the offer window,
so the booking constraints keep everyone else off the spot and one freed spot can never
be held for two entries. Entries are picked with FOR UPDATE SKIP LOCKED, so two spots
freed at the same moment go to two different entries; on SQLite every step runs under
the database's single write lock instead. Accepting turns the hold into a park-now stay.
Mail goes out only after the offer has committed; the minute task re-sends what failed.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import (
    HOLDING,
    QUEUED,
    Booking,
    BookingSource,
    BookingStatus,
    Spot,
    SpotKind,
    Vehicle,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)
from parkapp.services import availability, billing, bookings, lots, mailer
from parkapp.services.exceptions import Conflict, NotFound, SpotUnavailable, VehicleBusy, WrongState
from parkapp.services.vehicles import normalise_plate, vehicle_for_plate

OFFER_MAIL = "waitlist_offer"
MAX_CANDIDATES = 20  # entries tried for one spot before giving up until the next sweep
# "Any kind" is what "any spot" gives a car when booking: never accessible or motorcycle.
ANY_KINDS = (SpotKind.STANDARD, SpotKind.COMPACT, SpotKind.EV)


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


def _kinds(kind):
    return (kind,) if kind else ANY_KINDS


def _fits(spot_kind):
    """SQL condition on entries: the entry would take a spot of this kind."""
    condition = WaitlistEntry.spot_kind == spot_kind
    if spot_kind in ANY_KINDS:
        condition = or_(condition, WaitlistEntry.spot_kind.is_(None))
    return condition


# --- joining and leaving ----------------------------------------------------------------


def join(user, lot_id, plate, spot_kind=None):
    """Queue a vehicle for a lot with no free spot of the kind; `user` None is a gate entry."""
    lot = lots.get_lot(lot_id)
    plate = normalise_plate(plate, field="vehicle_plate")
    kind = bookings.parse_kind(spot_kind)
    now = utcnow()
    with write_transaction() as session:
        if user is not None:
            vehicle_for_plate(user, plate)
        _refuse_if_queued(lot, user, plate)
        free = session.scalar(
            availability.free_spots_query(lot.id, now, None, _kinds(kind)).limit(1)
        )
        if free is not None:
            what = f"{kind.value} " if kind else ""
            raise Conflict(
                f"{lot.name} has free {what}spots right now: book one instead.",
                code="spots_free",
            )
        entry = WaitlistEntry(
            lot_id=lot.id, user_id=user.id if user else None, plate=plate, spot_kind=kind
        )
        try:
            with session.begin_nested():
                session.add(entry)
                session.flush()
        except IntegrityError:
            # PostgreSQL: a concurrent join of the same driver or vehicle committed first.
            raise _already_queued(lot) from None
    return entry


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
        freed_spot = _drop_hold(session, entry, now)
        entry.status = WaitlistStatus.LEFT
    if freed_spot is not None:
        _pass_on(entry.lot_id, freed_spot)
    return entry


def _drop_hold(session, entry, now):
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


def entries_of(user):
    """The user's queued entries, oldest first, each with its position (None when offered)."""
    entries = db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.user_id == user.id, WaitlistEntry.status.in_(QUEUED))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        .options(db.joinedload(WaitlistEntry.lot), db.joinedload(WaitlistEntry.offered_spot))
    ).all()
    return [(e, None if e.is_offered else position(e)) for e in entries]


def full_kinds(lot_id, now=None):
    """What a driver may queue for now: kinds with no spot free from now on (None: any)."""
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
    if not free_now.intersection(ANY_KINDS):
        choices.insert(0, None)
    return choices


# --- offers -----------------------------------------------------------------------------


def spot_freed(booking):
    """Hook for after a booking stopped holding its spot (and committed): offer the spot.

    The booking's own change has committed already, so a failure here must not turn it
    into an error: the minute task sweeps free spots and offers them again.
    """
    try:
        if not _concerns_waitlist(booking):
            return
        _settle_dropped_hold(booking.id)
        offer_next(booking.lot_id, booking.spot_id)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("waitlist: offering spot %s failed", booking.spot_id)


def _concerns_waitlist(booking):
    """Whether anyone waits at the booking's lot or the booking was an offer's hold.

    One read that lets the usual release (nobody waiting) skip the write transactions.
    """
    return (
        db.session.scalar(
            select(WaitlistEntry.id)
            .where(
                WaitlistEntry.lot_id == booking.lot_id,
                or_(
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                    and_(
                        WaitlistEntry.booking_id == booking.id,
                        WaitlistEntry.status == WaitlistStatus.OFFERED,
                    ),
                ),
            )
            .limit(1)
        )
        is not None
    )


def spots_freed(freed):
    """`spot_freed` for many (lot_id, spot_id) pairs, e.g. the no-shows of one upkeep run."""
    for lot_id, spot_id in sorted(set(freed)):
        _pass_on(lot_id, spot_id)


def _pass_on(lot_id, spot_id):
    try:
        offer_next(lot_id, spot_id)
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


def offer_next(lot_id, spot_id=None):
    """Offer a freed spot (or every spot free from now on) to the first fitting entries.

    Returns the entries that got an offer; each is mailed after the offers committed.
    """
    now = utcnow()
    offered = []
    with write_transaction() as session:
        query = availability.free_spots_query(lot_id, now, None)
        if spot_id is not None:
            query = query.where(Spot.id == spot_id)
        # Spots a booker has locked are being taken right now: leave them to the booker.
        spots = session.scalars(
            query.with_for_update(of=Spot, skip_locked=True, key_share=True)
        ).all()
        for spot in spots:
            entry = _hold_for_next(session, spot, now)
            if entry is not None:
                offered.append(entry)
    for entry in offered:
        _mail_offer_safely(entry)
    return offered


def _next_entries(spot, skipped):
    query = (
        select(WaitlistEntry)
        .where(
            WaitlistEntry.lot_id == spot.lot_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            _fits(spot.kind),
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        .limit(1)
        # Two spots offered at once lock two different entries instead of queueing.
        .with_for_update(skip_locked=True)
    )
    return query.where(WaitlistEntry.id.not_in(skipped)) if skipped else query


def _hold_for_next(session, spot, now):
    """Hold `spot` for the first waiting entry that fits; the entry, or None."""
    expires = now + timedelta(minutes=current_app.config["WAITLIST_OFFER_MINUTES"])
    skipped = []
    for _ in range(MAX_CANDIDATES):
        entry = session.scalar(_next_entries(spot, skipped))
        if entry is None:
            return None
        clash = session.scalar(
            select(Booking.id).where(
                bookings.plate_clash(entry.plate, now, expires, BookingStatus.RESERVED)
            )
        )
        if clash is not None:  # the vehicle is booked then: it keeps its place for later
            skipped.append(entry.id)
            continue
        hold = _hold_booking(entry, spot, now, expires)
        try:
            with session.begin_nested():
                session.add(hold)
                session.flush()
        except IntegrityError as exc:
            if _constraint(exc) in bookings.PLATE_CONSTRAINTS:
                skipped.append(entry.id)
                continue
            return None  # the spot was just taken: nothing to offer
        entry.status = WaitlistStatus.OFFERED
        entry.offered_spot_id = spot.id
        entry.offer_expires_at = expires
        entry.booking_id = hold.id
        return entry
    return None


def _hold_booking(entry, spot, now, expires):
    vehicle_id = None
    if entry.user_id is not None:
        vehicle_id = db.session.scalar(
            select(Vehicle.id).filter_by(user_id=entry.user_id, plate=entry.plate)
        )
    return Booking(
        lot_id=spot.lot_id,
        spot_id=spot.id,
        user_id=entry.user_id,
        vehicle_id=vehicle_id,
        plate=entry.plate,
        source=BookingSource.WEB if entry.user_id else BookingSource.GATE,
        status=BookingStatus.RESERVED,
        starts_at=now,
        ends_at=expires,
        booked_ends_at=expires,
        confirmation_code=bookings.new_code(),
        currency=spot.lot.currency,
    )


def _constraint(exc):
    return getattr(getattr(exc.orig, "diag", None), "constraint_name", None)


def _mail_offer_safely(entry):
    try:
        mail_offer(entry)
    except Exception:  # SMTP down: the offer stands, and the minute task mails it again
        db.session.rollback()
        current_app.logger.exception("waitlist: mailing offer %s failed", entry.id)


def mail_offer(entry):
    """Tell the driver a spot is held for them, once per entry; True if sent now."""
    if entry.user is None:
        return False
    message = mailer.build_message(
        entry.user.email,
        f"A spot is free for you at {entry.lot.name}",
        "waitlist_offer",
        entry=entry,
        user=entry.user,
        lot=entry.lot,
        spot=entry.offered_spot,
        minutes=current_app.config["WAITLIST_OFFER_MINUTES"],
        link=_waitlist_url(),
    )
    return mailer.send_once(entry.user_id, OFFER_MAIL, f"entry:{entry.id}", message)


def _waitlist_url():
    try:
        return url_for("user.waitlist", _external=True)
    except Exception:  # no server name outside a request: the mail says where to look
        return None


# --- accepting --------------------------------------------------------------------------


def accept(entry_id, user):
    """Take an offer: the hold becomes an active park-now stay on the offered spot."""
    entry = get_entry(entry_id, user)
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
        _start_stay(session, hold, now)
        entry.status = WaitlistStatus.ASSIGNED
    return hold


def _start_stay(session, hold, now):
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
        .where(bookings.plate_clash(hold.plate, now, until, BookingStatus.ACTIVE, hold.id))
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
        if _constraint(exc) in bookings.PLATE_CONSTRAINTS:
            raise VehicleBusy(f"Vehicle {hold.plate} is parked elsewhere.") from None
        raise SpotUnavailable("This spot was just taken; please try again.") from None


# --- upkeep -----------------------------------------------------------------------------


def expire_offers(now=None):
    """Offers not taken in time expire, their holds are cancelled and the spots pass on."""
    now = now or utcnow()
    freed = []
    with write_transaction() as session:
        entries = session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.status == WaitlistStatus.OFFERED,
                WaitlistEntry.offer_expires_at <= now,
            )
            .with_for_update(skip_locked=True)  # one being accepted right now is left alone
        ).all()
        for entry in entries:
            if entry.booking is not None and entry.booking.status == BookingStatus.ACTIVE:
                # Checked in from the bookings page: the driver took the spot after all.
                entry.status = WaitlistStatus.ASSIGNED
                continue
            spot_id = _drop_hold(session, entry, now)
            entry.status = WaitlistStatus.EXPIRED
            if spot_id is not None:
                freed.append((entry.lot_id, spot_id))
    spots_freed(freed)
    return len(entries)


def sweep():
    """Offer every spot that is free from now on in lots where someone waits.

    Catches spots freed without a hook: a hook that failed, a spot back from maintenance.
    """
    lot_ids = db.session.scalars(
        select(WaitlistEntry.lot_id)
        .where(WaitlistEntry.status == WaitlistStatus.WAITING)
        .group_by(WaitlistEntry.lot_id)
    ).all()
    db.session.rollback()
    return sum(len(offer_next(lot_id)) for lot_id in lot_ids)


def remail_offers(now=None):
    """Mail standing offers whose mail has not gone out (SMTP was down when offered)."""
    now = now or utcnow()
    entries = db.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.status == WaitlistStatus.OFFERED,
            WaitlistEntry.user_id.is_not(None),
            WaitlistEntry.offer_expires_at > now,
        )
    ).all()
    pending = [e for e in entries if not mailer.was_sent(e.user_id, OFFER_MAIL, f"entry:{e.id}")]
    return sum(mail_offer(entry) for entry in pending)

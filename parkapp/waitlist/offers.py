"""Offering freed spots to the waitlist: the first entry that fits gets the spot held.

An offer is a real `reserved` booking (the hold) on the freed spot for the offer window,
so the booking constraints keep everyone else off the spot and one freed spot can never
be held for two entries. Entries are picked with FOR UPDATE SKIP LOCKED, so two spots
freed at the same moment go to two different entries; on SQLite every step runs under
the database's single write lock instead. Mail goes out only after the offer committed.
"""

from datetime import timedelta
from itertools import product

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from parkapp.booking import claims
from parkapp.core import codes, links
from parkapp.core import mail as mailer
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.lots import availability
from parkapp.models import (
    Booking,
    BookingSource,
    BookingStatus,
    Spot,
    Vehicle,
    VehicleType,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)

OFFER_MAIL = "waitlist_offer"
MAX_CANDIDATES = 20  # entries tried for one spot before giving up until the next sweep


def _fits(spot_kind):
    """SQL condition on entries: the entry would take a spot of this kind.

    An entry for a kind takes that kind; one for any kind takes what fits its vehicle.
    """
    return or_(
        WaitlistEntry.spot_kind == spot_kind,
        and_(WaitlistEntry.spot_kind.is_(None), _vehicle_fits(spot_kind)),
    )


def _vehicle_fits(spot_kind):
    """SQL condition on entries: `availability.fitting_kinds` of the vehicle has this kind."""
    vehicle_type = func.coalesce(WaitlistEntry.vehicle_type, VehicleType.CAR.value)
    flags = list(product((False, True), repeat=2))  # (is_ev, accessible)
    conditions = []
    for vtype in VehicleType:
        fit = [
            (ev, acc)
            for ev, acc in flags
            if spot_kind in availability.fitting_kinds(vtype, ev, acc)
        ]
        if len(fit) == len(flags):
            conditions.append(vehicle_type == vtype.value)
        elif fit:
            either = [
                and_(WaitlistEntry.is_ev == ev, WaitlistEntry.accessible == acc) for ev, acc in fit
            ]
            conditions.append(and_(vehicle_type == vtype.value, or_(*either)))
    return or_(*conditions)


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
                claims.plate_clash(entry.plate, now, expires, BookingStatus.RESERVED)
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
            if constraint_name(exc) in claims.PLATE_CONSTRAINTS:
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
    vehicle = None
    if entry.user_id is not None:
        vehicle = db.session.scalar(
            select(Vehicle).filter_by(user_id=entry.user_id, plate=entry.plate)
        )
    return Booking(
        lot_id=spot.lot_id,
        spot_id=spot.id,
        user_id=entry.user_id,
        vehicle_id=vehicle.id if vehicle else None,
        plate=entry.plate,
        # The type the entry queued with (the driver's vehicle then) prices the stay.
        vehicle_type=entry.vehicle_type or (vehicle.vehicle_type if vehicle else None),
        source=BookingSource.WEB if entry.user_id else BookingSource.GATE,
        status=BookingStatus.RESERVED,
        starts_at=now,
        ends_at=expires,
        booked_ends_at=expires,
        confirmation_code=codes.new_code(),
        currency=spot.lot.currency,
    )


def constraint_name(exc):
    """The name of the constraint a PostgreSQL IntegrityError broke (None on SQLite)."""
    return getattr(getattr(exc.orig, "diag", None), "constraint_name", None)


def _mail_offer_safely(entry):
    try:
        mail_offer(entry)
    except Exception:  # SMTP down: the offer stands, and the minute task mails it again
        db.session.rollback()
        current_app.logger.exception("waitlist: mailing offer %s failed", entry.id)


def mail_offer(entry):
    """Tell the driver a spot is held for them, once per entry; True if sent now."""
    if entry.user is None or not entry.user.booking_mail:
        return False  # the offer stands on the waitlist page; the driver wants no mail
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
    return links.link("waitlist")

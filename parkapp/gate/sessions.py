"""The stays inside a lot now, for staff: find them by plate, and move a car to another spot.

A move changes only the stay's spot. The database decides whether the new spot is free
for the stay's interval (the exclusion constraint on PostgreSQL, one write transaction on
SQLite), exactly as for a booking, so a move can never double-book a spot.
"""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parkapp.billing import bills as billing
from parkapp.booking.claims import SPOT_CONSTRAINT
from parkapp.core import hooks
from parkapp.core.exceptions import Invalid, NotFound, SpotUnavailable
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.lots import availability
from parkapp.models import Booking, BookingStatus, Spot, SpotStatus, utcnow

PLATE_SEARCH_MAX = 16


def plate_fragment(raw):
    """A plate search as stored plates are written (upper case, letters and digits), or None."""
    text = "".join(ch for ch in (raw or "").upper() if ch.isalnum())
    if len(text) > PLATE_SEARCH_MAX:
        raise Invalid("plate", f"Search for at most {PLATE_SEARCH_MAX} letters or digits.")
    return text or None


def inside_query(lot_id=None, plate=None):
    """A select of the active stays (at a lot, with a plate containing the fragment), oldest first.

    The spot, its level and zone and the lot come in the same query.
    """
    query = (
        select(Booking)
        .where(Booking.status == BookingStatus.ACTIVE)
        .order_by(Booking.starts_at, Booking.id)
        .options(
            db.joinedload(Booking.lot),
            db.joinedload(Booking.spot).joinedload(Spot.level),
            db.joinedload(Booking.spot).joinedload(Spot.zone),
        )
    )
    if lot_id is not None:
        query = query.where(Booking.lot_id == lot_id)
    fragment = plate_fragment(plate)
    if fragment:
        query = query.where(Booking.plate.contains(fragment, autoescape=True))
    return query


def fee_so_far(booking, now=None):
    """The stay's bill as of now: the same bill the exit charges."""
    return billing.bill(booking, now or utcnow())


def spot_by_label(lot_id, label):
    """The spot of a lot with this label (as the booth types it), or an Invalid on `spot`."""
    text = (label or "").strip().upper()
    spot = db.session.scalar(select(Spot).where(Spot.lot_id == lot_id, Spot.label == text))
    if spot is None or spot.status == SpotStatus.REMOVED:
        raise Invalid("spot_id", f"This car park has no spot {text[:30]!r}.")
    return spot


def move(booking_id, spot_id, *, lot_id=None):
    """Move a stay inside to another free spot of its lot; only its spot changes.

    404: no such stay inside (at `lot_id` when given), or no such spot; 422: the spot is in
    another lot, out of service, or the stay's own; 409: the spot is taken for the stay.
    """
    with write_transaction() as session:
        booking = session.scalar(
            select(Booking).where(Booking.id == booking_id).with_for_update(of=Booking)
        )
        if booking is None or booking.status != BookingStatus.ACTIVE:
            raise NotFound("No such stay inside.")
        if lot_id is not None and booking.lot_id != lot_id:
            raise NotFound("No such stay inside this car park.")
        # FOR NO KEY UPDATE, as a booking locks its chosen spot: movers and bookers queue.
        spot = session.scalar(
            select(Spot).where(Spot.id == spot_id).with_for_update(key_share=True)
        )
        if spot is None or spot.status == SpotStatus.REMOVED:
            raise NotFound("No such spot.", errors={"spot_id": ["No such spot."]})
        _check_target(booking, spot)
        taken = session.scalar(
            select(Booking.id)
            .where(
                Booking.spot_id == spot.id,
                Booking.id != booking.id,
                availability.overlaps(booking.starts_at, booking.ends_at),
            )
            .limit(1)
        )
        if taken is not None:
            raise _taken(spot)
        old_spot_id = booking.spot_id
        booking.spot_id = spot.id
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
            if constraint == SPOT_CONSTRAINT:
                raise _taken(spot) from None
            raise
        # As a bulk change (no booking id): the stay holds a spot still, only another one.
        freed = (None, booking.lot_id, old_spot_id)
    hooks.spots_freed.send(None, freed=[freed])  # the old spot: the waitlist may offer it
    db.session.refresh(booking)
    return booking


def _check_target(booking, spot):
    if spot.lot_id != booking.lot_id:
        raise Invalid("spot_id", f"Spot {spot.label} is in another car park.")
    if spot.status != SpotStatus.ACTIVE:
        raise Invalid("spot_id", f"Spot {spot.label} is out of service.")
    if spot.id == booking.spot_id:
        raise Invalid("spot_id", f"The car is on spot {spot.label} already.")


def _taken(spot):
    return SpotUnavailable(
        f"Spot {spot.label} is taken (or reserved) during this stay.",
        errors={"spot_id": ["Taken during this stay."]},
    )

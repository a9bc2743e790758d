"""Reading bookings: one with its lot and spot, by code, a driver's history, filtered lists."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, inspect, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from parkapp.core.exceptions import (
    NotFound,
)
from parkapp.extensions import db
from parkapp.models import (
    HOLDING,
    Booking,
    BookingStatus,
    ChargingSession,
    Level,
    Lot,
    Payment,
    Spot,
    Validation,
    Zone,
)

# What a booking's view reads besides the booking: its lot and its spot's level and zone.
# For lists (read-only): loader options stay with the objects and would put these joins
# into a later `refresh(..., with_for_update=True)`, which PostgreSQL refuses.
DETAILS = (
    joinedload(Booking.lot),
    joinedload(Booking.spot).joinedload(Spot.level),
    joinedload(Booking.spot).joinedload(Spot.zone),
)


def with_details(booking):
    """The booking with its lot and spot (level, zone) at hand: one query, not four loads.

    The rows are loaded as entities of their own and set as the loaded relationships, so no
    loader options stay with the booking.
    """
    loaded = inspect(booking).dict
    if "lot" in loaded and "spot" in loaded:
        return booking
    (booking_id,) = inspect(booking).identity  # booking.id would reload an expired booking
    row = db.session.execute(
        select(Booking, Lot, Spot, Level, Zone)
        .join(Lot, Lot.id == Booking.lot_id)
        .join(Spot, Spot.id == Booking.spot_id)
        .outerjoin(Level, Level.id == Spot.level_id)
        .outerjoin(Zone, Zone.id == Spot.zone_id)
        .where(Booking.id == booking_id)
        .execution_options(populate_existing=True)
    ).one()
    set_committed_value(row.Booking, "lot", row.Lot)
    set_committed_value(row.Booking, "spot", row.Spot)
    set_committed_value(row.Spot, "level", row.Level)
    set_committed_value(row.Spot, "zone", row.Zone)
    return row.Booking


def locked_for_update(booking_id):
    """The booking locked FOR UPDATE, read afresh with its lot (and rates), spot, level and
    zone, in one query; payments, charging sessions and a validation are known to be none without a read
    of their own when there are none. None if there is no such booking."""
    paid = exists().where(Payment.booking_id == Booking.id).label("paid")
    charged = exists().where(ChargingSession.booking_id == Booking.id).label("charged")
    validated = exists().where(Validation.booking_id == Booking.id).label("validated")
    row = (
        db.session.execute(
            select(Booking, Lot, Spot, Level, Zone, paid, charged, validated)
            .join(Lot, Lot.id == Booking.lot_id)
            .join(Spot, Spot.id == Booking.spot_id)
            .outerjoin(Level, Level.id == Spot.level_id)
            .outerjoin(Zone, Zone.id == Spot.zone_id)
            .where(Booking.id == booking_id)
            .options(joinedload(Lot.rates))
            .with_for_update(of=Booking.__table__)
            .execution_options(populate_existing=True)
        )
        .unique()
        .one_or_none()
    )
    if row is None:
        return None
    booking = row.Booking
    set_committed_value(booking, "lot", row.Lot)
    set_committed_value(booking, "spot", row.Spot)
    set_committed_value(row.Spot, "level", row.Level)
    set_committed_value(row.Spot, "zone", row.Zone)
    if not row.paid:
        set_committed_value(booking, "payments", [])
    if not row.charged:
        set_committed_value(booking, "charging_sessions", [])
    if not row.validated:
        set_committed_value(booking, "validation", None)
    return booking


def get_booking(booking_id, user):
    """A booking the user may see, or NotFound (other people's bookings too)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not booking.can_view(user):
        raise NotFound("No such booking.")
    return booking


def get_by_code(code, user):
    """A booking by confirmation code, for its owner or gate staff."""
    booking = db.session.scalar(
        select(Booking).filter_by(confirmation_code=(code or "").strip().upper())
    )
    if booking is None or not booking.can_view(user):
        raise NotFound("No booking with that code.")
    return booking


def bookings_of(user):
    """The user's bookings split into upcoming, active and past, newest past first."""
    rows = db.session.scalars(
        select(Booking)
        .where(Booking.user_id == user.id)
        .order_by(Booking.starts_at.desc())
        .options(db.joinedload(Booking.lot), db.joinedload(Booking.spot))
    ).all()
    upcoming = sorted(
        (b for b in rows if b.status == BookingStatus.RESERVED), key=lambda b: b.starts_at
    )
    active = [b for b in rows if b.status == BookingStatus.ACTIVE]
    past = [b for b in rows if b.status not in HOLDING]
    return {"upcoming": upcoming, "active": active, "past": past}


@dataclass
class BookingFilter:
    """Filters for booking lists (admin: all users; others: their own)."""

    user_id: int | None = None
    lot_id: int | None = None
    status: BookingStatus | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None


def filtered_query(flt):
    """A select of bookings matching a filter, newest first."""
    query = select(Booking).order_by(Booking.starts_at.desc(), Booking.id.desc())
    if flt.user_id is not None:
        query = query.where(Booking.user_id == flt.user_id)
    if flt.lot_id is not None:
        query = query.where(Booking.lot_id == flt.lot_id)
    if flt.status is not None:
        query = query.where(Booking.status == flt.status)
    if flt.date_from is not None:
        query = query.where(Booking.starts_at >= flt.date_from)
    if flt.date_to is not None:
        query = query.where(Booking.starts_at < flt.date_to)
    return query.options(
        db.joinedload(Booking.lot), db.joinedload(Booking.spot), db.joinedload(Booking.user)
    )

"""What is free when: the overlap rule, shared by booking, counts and spot lists."""

from sqlalchemy import and_, case, exists, func, literal, or_, select

from parkapp.extensions import db
from parkapp.models import HOLDING, Booking, Spot, SpotKind, SpotStatus, VehicleType
from parkapp.models.types import UTCDateTime

_SIZE_FIT = {
    VehicleType.MOTORCYCLE: (SpotKind.MOTORCYCLE, SpotKind.STANDARD, SpotKind.COMPACT),
    VehicleType.CAR: (SpotKind.STANDARD, SpotKind.COMPACT),
    VehicleType.VAN: (SpotKind.STANDARD,),
    VehicleType.TRUCK: (SpotKind.STANDARD,),
}


def fitting_kinds(vehicle_type=None, is_ev=False, accessible=False):
    """Spot kinds a vehicle may be given, best first.

    A motorcycle prefers motorcycle spots; an EV prefers ev spots (a car-sized EV only:
    a van or truck never fits one, nor a compact); a vehicle with a disabled parking permit
    gets an accessible spot first, and only such vehicles ever get one. A car without a
    charger need may still take an ev spot as a last resort.
    """
    vehicle_type = VehicleType(vehicle_type) if vehicle_type else VehicleType.CAR
    kinds = list(_SIZE_FIT[vehicle_type])
    if vehicle_type == VehicleType.CAR:
        kinds = [SpotKind.EV, *kinds] if is_ev else [*kinds, SpotKind.EV]
    if accessible and vehicle_type != VehicleType.MOTORCYCLE:
        kinds = [SpotKind.ACCESSIBLE, *kinds]
    return tuple(kinds)


def overlaps(starts_at, ends_at):
    """SQL condition: a holding booking's interval overlaps `[starts_at, ends_at)`.

    `ends_at=None` on either side is an open upper bound. On PostgreSQL it is written as a
    range overlap (`&&`), which the partial GiST indexes of holding bookings answer
    (migrations 0001 and 0010) without reading the history; elsewhere as two comparisons.
    """
    if db.engine.dialect.name == "postgresql":
        claimed = func.tstzrange(Booking.starts_at, Booking.ends_at, "[)")
        wanted = func.tstzrange(
            literal(starts_at, UTCDateTime), literal(ends_at, UTCDateTime), "[)"
        )
        return and_(Booking.status.in_(HOLDING), claimed.op("&&")(wanted))
    conditions = [
        Booking.status.in_(HOLDING),
        or_(Booking.ends_at.is_(None), Booking.ends_at > starts_at),
    ]
    if ends_at is not None:
        conditions.append(Booking.starts_at < ends_at)
    return and_(*conditions)


def spot_taken(starts_at, ends_at):
    """SQL condition on Spot: some holding booking claims it during the interval."""
    # the lot_id pair lets PostgreSQL fetch the lot's claims at once (an anti join)
    return exists().where(
        Booking.spot_id == Spot.id, Booking.lot_id == Spot.lot_id, overlaps(starts_at, ends_at)
    )


def free_now(at):
    """SQL condition on Spot: free to park now, i.e. no holding booking from `at` on.

    A stay started now has no end, so any later booking (even days away) takes the spot
    from now on: the live counts, the spot grids and park-now bookings share this rule.
    """
    return ~spot_taken(at, None)


def taken_spot_ids(lot_id, at, spot_ids=None):
    """Ids of the lot's spots (of `spot_ids` when given) not free to park now: held at `at`
    or by a later booking."""
    query = select(Booking.spot_id).where(Booking.lot_id == lot_id, overlaps(at, None))
    if spot_ids is not None:
        query = query.where(Booking.spot_id.in_(spot_ids))
    return set(db.session.scalars(query))


def free_spots_query(lot_id, starts_at, ends_at, kinds=None):
    """Active spots of a lot free for the whole interval: kinds in preference order, then label."""
    query = select(Spot).where(
        Spot.lot_id == lot_id, Spot.status == SpotStatus.ACTIVE, ~spot_taken(starts_at, ends_at)
    )
    if not kinds:
        return query.order_by(Spot.label, Spot.id)
    preference = case({kind.value: rank for rank, kind in enumerate(kinds)}, value=Spot.kind)
    return query.where(Spot.kind.in_(kinds)).order_by(preference, Spot.label, Spot.id)


def available_by_lot(lot_ids, starts_at, ends_at, kind=None):
    """{lot_id: number of spots bookable over the interval} in one query."""
    query = (
        select(Spot.lot_id, func.count(Spot.id))
        .where(
            Spot.lot_id.in_(lot_ids),
            Spot.status == SpotStatus.ACTIVE,
            ~spot_taken(starts_at, ends_at),
        )
        .group_by(Spot.lot_id)
    )
    if kind is not None:
        query = query.where(Spot.kind == kind)
    return dict(db.session.execute(query).all())


def counts_by_kind(lot_id, starts_at, ends_at):
    """{kind: (total spots in service, bookable over the interval)} for one lot.

    One pass over the lot's spots: the claims overlapping the interval are gathered once
    (distinct spot ids) and joined to the spots, both counts taken from the same rows.
    """
    taken = (
        select(Booking.spot_id)
        .where(Booking.lot_id == lot_id, overlaps(starts_at, ends_at))
        .distinct()
        .subquery()
    )
    bookable = and_(Spot.status == SpotStatus.ACTIVE, taken.c.spot_id.is_(None))
    query = (
        select(
            Spot.kind,
            func.count(case((Spot.status != SpotStatus.REMOVED, Spot.id))),
            func.count(case((bookable, Spot.id))),
        )
        .outerjoin(taken, taken.c.spot_id == Spot.id)
        .where(Spot.lot_id == lot_id)
        .group_by(Spot.kind)
        .order_by(Spot.kind)
    )
    return {kind: (total, free) for kind, total, free in db.session.execute(query) if total}


def occupied_spot_ids(lot_id, at, spot_ids=None):
    """Ids of the lot's spots (of `spot_ids` when given) that a holding booking covers at `at`."""
    query = select(Booking.spot_id).where(
        Booking.lot_id == lot_id,
        Booking.status.in_(HOLDING),
        Booking.starts_at <= at,
        or_(Booking.ends_at.is_(None), Booking.ends_at > at),
    )
    if spot_ids is not None:
        query = query.where(Booking.spot_id.in_(spot_ids))
    return set(db.session.scalars(query))

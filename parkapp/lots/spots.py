"""Spots, levels and zones: bulk creation with generated labels, maintenance, removal."""

import re
from dataclasses import dataclass

from sqlalchemy import and_, distinct, exists, func, or_, select
from sqlalchemy.orm import joinedload

from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.extensions import db
from parkapp.models import HOLDING, Booking, Level, Spot, SpotKind, SpotStatus, Zone, utcnow

MAX_BULK = 500
LABEL_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,15}$")


def get_spot(spot_id):
    """The spot with this id, or NotFound (removed spots included, for history)."""
    spot = db.session.get(Spot, spot_id)
    if spot is None:
        raise NotFound("No such spot.")
    return spot


def spot_in_lot(lot_id, spot_id):
    """The lot's spot with this id, or None."""
    spot = db.session.get(Spot, spot_id)
    return spot if spot is not None and spot.lot_id == lot_id else None


def level_named(lot, name):
    """The lot's level with this name, created when missing."""
    level = db.session.scalar(select(Level).filter_by(lot_id=lot.id, name=name))
    if level is None:
        ordinal = len(lot.levels)
        level = Level(lot=lot, name=name, ordinal=ordinal)
        db.session.add(level)
    return level


def zone_named(level, name):
    """The level's zone with this name, created when missing."""
    zone = None
    if level.id is not None:
        zone = db.session.scalar(select(Zone).filter_by(level_id=level.id, name=name))
    if zone is None:
        zone = Zone(level=level, name=name)
        db.session.add(zone)
    return zone


def create_spots(lot, count, kind, level_name=None, zone_name=None, label_prefix=None):
    """Create `count` spots of a kind, labelled `<prefix><n>` after the highest existing n."""
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_BULK:
        raise Invalid("count", f"Create between 1 and {MAX_BULK} spots at a time.")
    try:
        kind = SpotKind(kind)
    except ValueError:
        raise Invalid(
            "kind", f"Kind must be one of: {', '.join(k.value for k in SpotKind)}."
        ) from None
    level_name = (level_name or "").strip() or None
    zone_name = (zone_name or "").strip() or None
    if zone_name and not level_name:
        raise Invalid("zone", "A zone belongs to a level; give the level too.")
    prefix = label_prefix if label_prefix is not None else _default_prefix(level_name, zone_name)
    if prefix and not LABEL_PREFIX.match(prefix):
        raise Invalid(
            "label_prefix", "Use up to 16 letters, digits, spaces, dashes or underscores."
        )
    level = level_named(lot, level_name) if level_name else None
    zone = zone_named(level, zone_name) if zone_name else None
    start = _highest_number(lot, prefix) + 1
    spots = [
        Spot(lot=lot, level=level, zone=zone, kind=kind, label=f"{prefix}{n}")
        for n in range(start, start + count)
    ]
    db.session.add_all(spots)
    db.session.commit()
    return spots


def _default_prefix(level_name, zone_name):
    parts = [p.replace(" ", "")[:6] for p in (level_name, zone_name) if p]
    return "-".join(parts) + "-" if parts else "S"


def _highest_number(lot, prefix):
    labels = db.session.scalars(
        select(Spot.label).where(
            Spot.lot_id == lot.id, Spot.label.startswith(prefix, autoescape=True)
        )
    )
    numbers = [int(label[len(prefix) :]) for label in labels if label[len(prefix) :].isdigit()]
    return max(numbers, default=0)


def set_spot_status(spot, status):
    """Put a spot into maintenance or back into service."""
    try:
        status = SpotStatus(status)
    except ValueError:
        raise Invalid("status", "Status must be active or maintenance.") from None
    if status == SpotStatus.REMOVED or spot.status == SpotStatus.REMOVED:
        raise Invalid("status", "A removed spot cannot change status.")
    spot.status = status
    db.session.commit()
    return spot


def has_current_or_upcoming(spot):
    """Whether a holding booking on the spot has not ended yet."""
    now = utcnow()
    return (
        db.session.scalar(
            select(
                exists().where(
                    Booking.spot_id == spot.id,
                    Booking.status.in_(HOLDING),
                    or_(Booking.ends_at.is_(None), Booking.ends_at > now),
                )
            )
        )
        is True
    )


def delete_spot(spot):
    """Delete a spot that has no active or upcoming booking; keep it hidden if it has history."""
    if spot.status == SpotStatus.REMOVED:
        raise NotFound("No such spot.")
    if has_current_or_upcoming(spot):
        raise Conflict(f"Spot {spot.label} has an active or upcoming booking.", code="spot_in_use")
    has_history = db.session.scalar(select(exists().where(Booking.spot_id == spot.id)))
    if has_history:
        spot.status = SpotStatus.REMOVED
    else:
        db.session.delete(spot)
    db.session.commit()


def in_service(lot_id):
    """The lot's spots not removed, in label order, with their level and zone in one query."""
    return db.session.scalars(
        select(Spot)
        .where(Spot.lot_id == lot_id, Spot.status != SpotStatus.REMOVED)
        .options(joinedload(Spot.level), joinedload(Spot.zone))
        .order_by(Spot.label)
    ).all()


# -- a big lot's spots, a level and zone at a time -----------------------------------------------

SPOTS_PER_PAGE = 60
NONE = "none"  # the key part of "no level" / "no zone"


@dataclass(frozen=True)
class SpotGroup:
    """The spots of one level and zone (None: spots without one), counted."""

    level_id: int | None
    zone_id: int | None
    level_name: str | None
    zone_name: str | None
    total: int  # in service or in maintenance
    in_service: int
    occupied: int  # in service and held by a booking at the instant asked about

    @property
    def key(self):
        """ "<level id>-<zone id>", "none" standing for no level or zone (a query argument)."""
        return f"{self.level_id or NONE}-{self.zone_id or NONE}"

    @property
    def free(self):
        return self.in_service - self.occupied


def spot_groups(lot_id, at):
    """The lot's spots by level and zone, with how many are free at `at`; levels in order,
    spots without a level last."""
    names = _group_names(lot_id)
    counts = {}
    rows = db.session.execute(
        select(Spot.level_id, Spot.zone_id, Spot.status, func.count(Spot.id))
        .where(Spot.lot_id == lot_id, Spot.status != SpotStatus.REMOVED)
        .group_by(Spot.level_id, Spot.zone_id, Spot.status)
    )
    for level_id, zone_id, status, count in rows:
        entry = counts.setdefault((level_id, zone_id), [0, 0, 0])
        entry[0] += count
        entry[1] += count if status == SpotStatus.ACTIVE else 0
    occupied = db.session.execute(
        select(Spot.level_id, Spot.zone_id, func.count(distinct(Spot.id)))
        .join(Booking, Booking.spot_id == Spot.id)
        .where(
            Spot.lot_id == lot_id,
            Spot.status == SpotStatus.ACTIVE,
            Booking.lot_id == lot_id,
            _holding_at(at),
        )
        .group_by(Spot.level_id, Spot.zone_id)
    )
    for level_id, zone_id, count in occupied:
        counts[(level_id, zone_id)][2] = count
    groups = [
        SpotGroup(level_id, zone_id, *names.get((level_id, zone_id), (None, None)), *entry)
        for (level_id, zone_id), entry in counts.items()
    ]
    order = {key: rank for rank, key in enumerate(names)}
    return sorted(groups, key=lambda g: order.get((g.level_id, g.zone_id), len(order)))


def _group_names(lot_id):
    """{(level id, zone id): (level name, zone name)} in display order, zone None included."""
    rows = db.session.execute(
        select(Level.id, Level.name, Zone.id, Zone.name)
        .outerjoin(Zone, Zone.level_id == Level.id)
        .where(Level.lot_id == lot_id)
        .order_by(Level.ordinal, Level.name, Zone.name)
    )
    names = {}
    for level_id, level_name, zone_id, zone_name in rows:
        names.setdefault((level_id, None), (level_name, None))
        if zone_id is not None:
            names[(level_id, zone_id)] = (level_name, zone_name)
    names[(None, None)] = (None, None)
    return names


def _holding_at(at):
    return and_(
        Booking.status.in_(HOLDING),
        Booking.starts_at <= at,
        or_(Booking.ends_at.is_(None), Booking.ends_at > at),
    )


def spots_page(lot_id, group, page=1, per_page=SPOTS_PER_PAGE):
    """(spots, page, pages): one page of a group's spots (removed ones left out), labels in
    natural order (A-2 before A-10); the page is clamped to those that exist."""
    query = select(Spot).where(
        Spot.lot_id == lot_id,
        Spot.status != SpotStatus.REMOVED,
        Spot.level_id.is_(None) if group.level_id is None else Spot.level_id == group.level_id,
        Spot.zone_id.is_(None) if group.zone_id is None else Spot.zone_id == group.zone_id,
    )
    pages = max(1, -(-group.total // per_page))
    page = min(max(1, page), pages)
    spots = db.session.scalars(
        query.order_by(func.length(Spot.label), Spot.label, Spot.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return spots, page, pages

"""Spots, levels and zones: bulk creation with generated labels, maintenance, removal."""

import re

from sqlalchemy import exists, or_, select
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

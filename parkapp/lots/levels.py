"""Levels and zones of a lot: list them with spot counts, create, rename, delete unused ones."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.extensions import db
from parkapp.lots.availability import spot_taken
from parkapp.models import Level, Spot, SpotStatus, Zone, utcnow

NAME_MAX = 60


@dataclass
class Counted:
    """A level or zone with its spots in service and how many are free to park now."""

    item: object
    total_spots: int
    available_now: int


def _counts(column, lot_id):
    """({id: spots in service}, {id: free now}) grouped by a spot column (level or zone)."""
    total = db.session.execute(
        select(column, func.count(Spot.id))
        .where(Spot.lot_id == lot_id, Spot.status != SpotStatus.REMOVED)
        .group_by(column)
    )
    free = db.session.execute(
        select(column, func.count(Spot.id))
        .where(
            Spot.lot_id == lot_id,
            Spot.status == SpotStatus.ACTIVE,
            ~spot_taken(utcnow(), None),
        )
        .group_by(column)
    )
    return dict(total.all()), dict(free.all())


def levels_of(lot):
    """The lot's levels in order, each with its spot counts."""
    levels = db.session.scalars(
        select(Level).where(Level.lot_id == lot.id).order_by(Level.ordinal, Level.name)
    ).all()
    total, free = _counts(Spot.level_id, lot.id)
    return [Counted(level, total.get(level.id, 0), free.get(level.id, 0)) for level in levels]


def zones_of(lot):
    """The lot's zones by level and name, each with its spot counts."""
    zones = db.session.scalars(
        select(Zone)
        .join(Level, Level.id == Zone.level_id)
        .where(Level.lot_id == lot.id)
        .order_by(Level.ordinal, Level.name, Zone.name)
        .options(db.contains_eager(Zone.level))
    ).all()
    total, free = _counts(Spot.zone_id, lot.id)
    return [Counted(zone, total.get(zone.id, 0), free.get(zone.id, 0)) for zone in zones]


def get_level(lot, level_id):
    """The lot's level with this id, or NotFound."""
    level = db.session.get(Level, level_id)
    if level is None or level.lot_id != lot.id:
        raise NotFound("No such level in this lot.")
    return level


def get_zone(lot, zone_id):
    """The lot's zone with this id, or NotFound."""
    zone = db.session.get(Zone, zone_id)
    if zone is None or zone.level.lot_id != lot.id:
        raise NotFound("No such zone in this lot.")
    return zone


def _clean_name(name, field="name"):
    text = (name or "").strip() if isinstance(name, str) else ""
    if not text or len(text) > NAME_MAX or not text.isprintable():
        raise Invalid(field, f"Give a name of 1 to {NAME_MAX} printable characters.")
    return text


def _name_taken(what, name):
    return Conflict(
        f"{what} named {name!r} exists already.",
        code="name_taken",
        errors={"name": ["This name is taken."]},
    )


def _level_name_free(lot_id, name, exclude_id=None):
    query = select(Level.id).where(Level.lot_id == lot_id, func.lower(Level.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Level.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise _name_taken("A level of this lot", name)


def _zone_name_free(level_id, name, exclude_id=None):
    query = select(Zone.id).where(Zone.level_id == level_id, func.lower(Zone.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Zone.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise _name_taken("A zone of this level", name)


def _commit_named(what, name):
    """Commit; a name taken meanwhile by a concurrent request is a 409, not an error."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _name_taken(what, name) from None


def create_level(lot, name, ordinal=None):
    """Add a level (after the others unless an ordinal is given); 409 if the name is taken."""
    name = _clean_name(name)
    _level_name_free(lot.id, name)
    if ordinal is None:
        highest = db.session.scalar(select(func.max(Level.ordinal)).where(Level.lot_id == lot.id))
        ordinal = 0 if highest is None else highest + 1
    level = Level(lot_id=lot.id, name=name, ordinal=ordinal)
    db.session.add(level)
    _commit_named("A level of this lot", name)
    return level


def update_level(level, name=None, ordinal=None):
    """Rename a level and/or change its place in the order."""
    if name is not None:
        name = _clean_name(name)
        _level_name_free(level.lot_id, name, exclude_id=level.id)
        level.name = name
    if ordinal is not None:
        level.ordinal = ordinal
    _commit_named("A level of this lot", level.name)
    return level


def create_zone(lot, level_id, name):
    """Add a zone to one of the lot's levels; 422 for another lot's level, 409 for a taken name."""
    name = _clean_name(name)
    level = db.session.get(Level, level_id) if level_id is not None else None
    if level is None or level.lot_id != lot.id:
        raise Invalid("level_id", "Choose a level of this lot.")
    _zone_name_free(level.id, name)
    zone = Zone(level_id=level.id, name=name)
    db.session.add(zone)
    _commit_named("A zone of this level", name)
    return zone


def rename_zone(zone, name):
    """Rename a zone; 409 if its level has a zone of that name."""
    name = _clean_name(name)
    _zone_name_free(zone.level_id, name, exclude_id=zone.id)
    zone.name = name
    _commit_named("A zone of this level", name)
    return zone


def _in_use(condition, what):
    used = db.session.scalar(
        select(func.count(Spot.id)).where(condition, Spot.status != SpotStatus.REMOVED)
    )
    if used:
        raise Conflict(
            f"{used} spot(s) are on this {what}: move or delete them first.",
            code=f"{what}_in_use",
        )


def delete_level(level):
    """Delete a level and its zones; 409 while spots in service are on it."""
    _in_use(Spot.level_id == level.id, "level")
    # Removed spots keep their history without the level (their foreign keys say SET NULL,
    # written out here because SQLite may run without foreign key enforcement).
    zone_ids = [zone.id for zone in level.zones]
    db.session.execute(
        Spot.__table__.update().where(Spot.level_id == level.id).values(level_id=None, zone_id=None)
    )
    if zone_ids:
        db.session.execute(
            Spot.__table__.update().where(Spot.zone_id.in_(zone_ids)).values(zone_id=None)
        )
    db.session.delete(level)
    db.session.commit()


def delete_zone(zone):
    """Delete a zone; 409 while spots in service are in it."""
    _in_use(Spot.zone_id == zone.id, "zone")
    db.session.execute(Spot.__table__.update().where(Spot.zone_id == zone.id).values(zone_id=None))
    db.session.delete(zone)
    db.session.commit()


def structure(lot):
    """[(level with counts, [its zones with counts])] in order, for a lot's page."""
    zones = {}
    for counted in zones_of(lot):
        zones.setdefault(counted.item.level_id, []).append(counted)
    return [(level, zones.get(level.item.id, [])) for level in levels_of(lot)]

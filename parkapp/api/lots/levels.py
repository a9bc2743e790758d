"""/lots/{id}/levels and /lots/{id}/zones: anyone reads them with spot counts, admins manage."""

from flask_restx import Namespace, fields

from parkapp.api.common import (
    ID,
    MAX_ID,
    NO_NUL,
    Resource,
    error_model,
    json_body,
    page_model,
    page_of,
    roles_required,
    viewer_is_admin,
)
from parkapp.core.exceptions import Invalid
from parkapp.lots import levels, lots
from parkapp.models import ADMIN

ns = Namespace("levels", description="Levels and zones of a lot", path="/")
error = error_model(ns)
NAME = {"min_length": 1, "max_length": levels.NAME_MAX, "pattern": NO_NUL}
_counts = {
    "total_spots": fields.Integer(description="spots in service (maintenance included)"),
    "available_now": fields.Integer(description="free to park now"),
}
level_out = ns.model(
    "Level",
    {
        "id": fields.Integer,
        "lot_id": fields.Integer,
        "name": fields.String(example="Level 1"),
        "ordinal": fields.Integer(description="order of the levels, lowest first"),
        **_counts,
    },
)
zone_out = ns.model(
    "Zone",
    {
        "id": fields.Integer,
        "lot_id": fields.Integer,
        "level_id": fields.Integer,
        "level": fields.String(example="Level 1"),
        "name": fields.String(example="A"),
        **_counts,
    },
)
level_page = page_model(ns, "LevelPage", level_out)
zone_page = page_model(ns, "ZonePage", zone_out)
level_in = ns.model(
    "LevelCreate",
    {
        "name": fields.String(required=True, example="Level 2", **NAME),
        "ordinal": fields.Integer(min=-1000, max=1000, description="default: after the others"),
    },
    strict=True,
)
level_changes_in = ns.model(
    "LevelChanges",
    {
        "name": fields.String(example="Roof", **NAME),
        "ordinal": fields.Integer(min=-1000, max=1000),
    },
    strict=True,
)
zone_in = ns.model(
    "ZoneCreate",
    {
        "level_id": fields.Integer(required=True, min=1, max=MAX_ID),
        "name": fields.String(required=True, example="B", **NAME),
    },
    strict=True,
)
zone_changes_in = ns.model(
    "ZoneChanges", {"name": fields.String(required=True, example="EV corner", **NAME)}, strict=True
)


def level_dict(counted):
    """A level with its counts."""
    level = counted.item
    return {
        "id": level.id,
        "lot_id": level.lot_id,
        "name": level.name,
        "ordinal": level.ordinal,
        "total_spots": counted.total_spots,
        "available_now": counted.available_now,
    }


def zone_dict(counted):
    """A zone with its level and counts."""
    zone = counted.item
    return {
        "id": zone.id,
        "lot_id": zone.level.lot_id,
        "level_id": zone.level_id,
        "level": zone.level.name,
        "name": zone.name,
        "total_spots": counted.total_spots,
        "available_now": counted.available_now,
    }


def _lot(lot_id):
    return lots.get_lot(lot_id, include_inactive=viewer_is_admin())


def _level_answer(lot, level_id):
    return level_dict(next(c for c in levels.levels_of(lot) if c.item.id == level_id))


def _zone_answer(lot, zone_id):
    return zone_dict(next(c for c in levels.zones_of(lot) if c.item.id == zone_id))


@ns.route(f"/lots/<{ID}:lot_id>/levels")
@ns.param("lot_id", "The lot id")
class LotLevels(Resource):
    @ns.doc(security=[])
    @ns.response(200, "The lot's levels in order, with spot counts", level_page)
    @ns.response(404, "No such lot", error)
    def get(self, lot_id):
        """The levels of a lot with their spots and how many are free now."""
        return page_of(levels.levels_of(_lot(lot_id)), level_dict)

    @ns.expect(level_in, validate=True)
    @ns.response(201, "Created", level_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(409, "Name taken", error)
    @ns.response(422, "Invalid name", error)
    @roles_required(ADMIN)
    def post(self, lot_id):
        """Add a level to a lot (admin)."""
        lot = lots.get_lot(lot_id, include_inactive=True)
        data = json_body()
        level = levels.create_level(lot, data["name"], data.get("ordinal"))
        return _level_answer(lot, level.id), 201


@ns.route(f"/lots/<{ID}:lot_id>/levels/<{ID}:level_id>")
@ns.param("lot_id", "The lot id")
@ns.param("level_id", "The level id")
class LotLevel(Resource):
    @ns.doc(security=[])
    @ns.response(200, "The level with spot counts", level_out)
    @ns.response(404, "No such lot or level", error)
    def get(self, lot_id, level_id):
        """One level with its spot counts."""
        lot = _lot(lot_id)
        return _level_answer(lot, levels.get_level(lot, level_id).id)

    @ns.expect(level_changes_in, validate=True)
    @ns.response(200, "Changed", level_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot or level", error)
    @ns.response(409, "Name taken", error)
    @ns.response(422, "Invalid name or empty change", error)
    @roles_required(ADMIN)
    def patch(self, lot_id, level_id):
        """Rename a level or change its order (admin)."""
        lot = lots.get_lot(lot_id, include_inactive=True)
        data = json_body()
        if not data:
            raise Invalid("name", "Give a name and/or an ordinal.")
        level = levels.update_level(
            levels.get_level(lot, level_id), data.get("name"), data.get("ordinal")
        )
        return _level_answer(lot, level.id)

    @ns.response(204, "Deleted, with its zones")
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot or level", error)
    @ns.response(409, "Spots are on this level", error)
    @roles_required(ADMIN)
    def delete(self, lot_id, level_id):
        """Delete a level and its zones; refused while spots are on it (admin)."""
        lot = lots.get_lot(lot_id, include_inactive=True)
        levels.delete_level(levels.get_level(lot, level_id))
        return "", 204


@ns.route(f"/lots/<{ID}:lot_id>/zones")
@ns.param("lot_id", "The lot id")
class LotZones(Resource):
    @ns.doc(security=[])
    @ns.response(200, "The lot's zones by level, with spot counts", zone_page)
    @ns.response(404, "No such lot", error)
    def get(self, lot_id):
        """The zones of a lot with their spots and how many are free now."""
        return page_of(levels.zones_of(_lot(lot_id)), zone_dict)

    @ns.expect(zone_in, validate=True)
    @ns.response(201, "Created", zone_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(409, "Name taken on that level", error)
    @ns.response(422, "Invalid name, or a level of another lot", error)
    @roles_required(ADMIN)
    def post(self, lot_id):
        """Add a zone to one of the lot's levels (admin)."""
        lot = lots.get_lot(lot_id, include_inactive=True)
        data = json_body()
        zone = levels.create_zone(lot, data["level_id"], data["name"])
        return _zone_answer(lot, zone.id), 201


@ns.route(f"/lots/<{ID}:lot_id>/zones/<{ID}:zone_id>")
@ns.param("lot_id", "The lot id")
@ns.param("zone_id", "The zone id")
class LotZone(Resource):
    @ns.doc(security=[])
    @ns.response(200, "The zone with spot counts", zone_out)
    @ns.response(404, "No such lot or zone", error)
    def get(self, lot_id, zone_id):
        """One zone with its spot counts."""
        lot = _lot(lot_id)
        return _zone_answer(lot, levels.get_zone(lot, zone_id).id)

    @ns.expect(zone_changes_in, validate=True)
    @ns.response(200, "Renamed", zone_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot or zone", error)
    @ns.response(409, "Name taken on its level", error)
    @ns.response(422, "Invalid name", error)
    @roles_required(ADMIN)
    def patch(self, lot_id, zone_id):
        """Rename a zone (admin)."""
        lot = lots.get_lot(lot_id, include_inactive=True)
        zone = levels.rename_zone(levels.get_zone(lot, zone_id), json_body()["name"])
        return _zone_answer(lot, zone.id)

    @ns.response(204, "Deleted")
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot or zone", error)
    @ns.response(409, "Spots are in this zone", error)
    @roles_required(ADMIN)
    def delete(self, lot_id, zone_id):
        """Delete a zone; refused while spots are in it (admin)."""
        lot = lots.get_lot(lot_id, include_inactive=True)
        levels.delete_zone(levels.get_zone(lot, zone_id))
        return "", 204

"""Spots: a lot's spots with whether each is occupied now, bulk creation, status, removal."""

from flask_restx import Namespace, fields

from parkapp.api.common import (
    ID,
    KINDS,
    NO_NUL,
    Resource,
    error_model,
    json_body,
    page_model,
    page_of,
    query_params,
    roles_required,
    viewer_is_admin,
)
from parkapp.lots import availability, lots, spots
from parkapp.models import SpotStatus, utcnow

ns = Namespace("spots", description="The spots of a lot", path="/")
error = error_model(ns)


def spot_brief(spot):
    """A spot as a booking shows it."""
    return {
        "id": spot.id,
        "label": spot.label,
        "kind": spot.kind.value,
        "level": spot.level.name if spot.level else None,
        "zone": spot.zone.name if spot.zone else None,
    }


spot_brief_out = ns.model(
    "SpotBrief",
    {
        "id": fields.Integer,
        "label": fields.String(example="ST1"),
        "kind": fields.String(enum=KINDS),
        "level": fields.String(example="L1"),
        "zone": fields.String(example="A"),
    },
)


spot_out = ns.inherit(
    "Spot",
    spot_brief_out,
    {
        "lot_id": fields.Integer,
        "status": fields.String(enum=[s.value for s in SpotStatus]),
        "occupied_now": fields.Boolean,
    },
)


spot_page = page_model(ns, "SpotPage", spot_out)


spots_in = ns.model(
    "SpotsCreate",
    {
        "count": fields.Integer(required=True, min=1, max=spots.MAX_BULK, example=10),
        "kind": fields.String(required=True, enum=KINDS, example="standard"),
        "level": fields.String(max_length=60, pattern=NO_NUL, example="L1"),
        "zone": fields.String(max_length=60, pattern=NO_NUL, example="A"),
        "label_prefix": fields.String(max_length=16, pattern=NO_NUL, example="A-"),
    },
    strict=True,
)


spot_status_in = ns.model(
    "SpotStatusChange",
    {
        "status": fields.String(
            required=True, enum=[SpotStatus.ACTIVE.value, SpotStatus.MAINTENANCE.value]
        ),
    },
    strict=True,
)


def _spot_dict(spot, occupied_ids):
    return {
        **spot_brief(spot),
        "lot_id": spot.lot_id,
        "status": spot.status.value,
        "occupied_now": spot.id in occupied_ids,
    }


@ns.route(f"/lots/<{ID}:lot_id>/spots")
@ns.param("lot_id", "The lot id")
class LotSpots(Resource):
    @ns.doc(
        security=[],
        params=query_params(
            page=("integer", "page number"), per_page=("integer", "items per page")
        ),
    )
    @ns.response(200, "The lot's spots and whether each is occupied now", spot_page)
    @ns.response(404, "No such lot", error)
    def get(self, lot_id):
        """The spots of a lot in label order, with occupancy now."""
        lot = lots.get_lot(lot_id, include_inactive=viewer_is_admin())
        occupied = availability.occupied_spot_ids(lot.id, utcnow())
        in_service = spots.in_service(lot.id)
        return page_of(in_service, lambda spot: _spot_dict(spot, occupied))

    @ns.expect(spots_in, validate=True)
    @ns.response(201, "Created", [spot_out])
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def post(self, lot_id):
        """Create spots in bulk, labelled after the highest existing number (admin)."""
        lot = lots.get_lot(lot_id, include_inactive=True)
        data = json_body()
        created = spots.create_spots(
            lot,
            data["count"],
            data["kind"],
            data.get("level"),
            data.get("zone"),
            data.get("label_prefix"),
        )
        return [_spot_dict(spot, set()) for spot in created], 201


@ns.route(f"/spots/<{ID}:spot_id>")
@ns.param("spot_id", "The spot id")
class SpotItem(Resource):
    @ns.expect(spot_status_in, validate=True)
    @ns.response(200, "Updated", spot_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such spot", error)
    @ns.response(422, "Invalid status", error)
    @roles_required("admin")
    def patch(self, spot_id):
        """Put a spot into maintenance or back into service (admin)."""
        spot = spots.set_spot_status(spots.get_spot(spot_id), json_body()["status"])
        return _spot_dict(spot, availability.occupied_spot_ids(spot.lot_id, utcnow()))

    @ns.response(204, "Deleted")
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such spot", error)
    @ns.response(409, "The spot has an active or upcoming booking", error)
    @roles_required("admin")
    def delete(self, spot_id):
        """Delete a spot without active or upcoming bookings (admin)."""
        spots.delete_spot(spots.get_spot(spot_id))
        return "", 204

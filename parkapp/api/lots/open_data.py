"""/open/occupancy: the public occupancy feed for cities and map apps (no token, CORS *)."""

import hashlib
import json

from flask import current_app, make_response, request
from flask_restx import Namespace, fields

from parkapp.api.common import Resource, iso
from parkapp.lots import hours
from parkapp.lots import open_data as feed

ns = Namespace("open", description="Open data: occupancy of the public lots", path="/")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag",
}

hours_out = ns.model(
    "OpenOpeningHours",
    {
        "opens_at": fields.String(example="07:00", description="local time; null: 24 hours"),
        "closes_at": fields.String(example="22:00"),
        "timezone": fields.String(example="Europe/London"),
        "open_all_day": fields.Boolean,
        "osm": fields.String(example="Mo-Su 07:00-22:00", description="OSM opening_hours"),
    },
)
lot_out = ns.model(
    "OpenLotOccupancy",
    {
        "id": fields.Integer,
        "name": fields.String,
        "address": fields.String,
        "city": fields.String,
        "latitude": fields.Float,
        "longitude": fields.Float,
        "opening_hours": fields.Nested(hours_out),
        "total_spots": fields.Integer,
        "free_spots": fields.Integer,
        "status": fields.String(enum=["open", "closed", "full"]),
        "updated_at": fields.DateTime(description="the last arrival or departure counted"),
    },
)
feed_out = ns.model(
    "OpenOccupancy",
    {"items": fields.List(fields.Nested(lot_out)), "total": fields.Integer},
)


def _clock(value):
    return value.strftime("%H:%M") if value is not None else None


def lot_entry(row):
    """One lot of the feed."""
    lot = row.lot
    return {
        "id": lot.id,
        "name": lot.name,
        "address": lot.address,
        "city": lot.city,
        "latitude": lot.latitude,
        "longitude": lot.longitude,
        "opening_hours": {
            "opens_at": _clock(lot.opens_at),
            "closes_at": _clock(lot.closes_at),
            "timezone": lot.timezone,
            "open_all_day": lot.is_open_all_day,
            "osm": hours.osm_opening_hours(lot),
        },
        "total_spots": row.total_spots,
        "free_spots": row.free_spots,
        "status": row.status,
        "updated_at": iso(row.updated_at),
    }


@ns.route("/open/occupancy")
class OpenOccupancy(Resource):
    @ns.doc(security=[])
    @ns.response(200, "Every public lot with its free spots now", feed_out)
    @ns.response(304, "Not modified since the ETag sent in If-None-Match")
    def get(self):
        """Occupancy of every public lot now, for anyone (CORS *, ETag, cacheable)."""
        items = [lot_entry(row) for row in feed.occupancy()]
        body = json.dumps({"items": items, "total": len(items)}, sort_keys=True)
        response = make_response(body, 200)
        response.mimetype = "application/json"
        response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
        max_age = current_app.config.get("OPEN_DATA_MAX_AGE", 60)
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
        response.headers.update(CORS)
        return response.make_conditional(request)

    @ns.doc(False)  # a CORS preflight, not an operation of the API
    def options(self):
        """CORS preflight: any origin may read the feed, sending If-None-Match."""
        response = make_response("", 204)
        response.headers.update(CORS)
        response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "If-None-Match"
        response.headers["Access-Control-Max-Age"] = "86400"
        return response

"""/ev-stations (admins manage chargers, anyone lists them) and /ev-charging (sessions).

Drivers start and stop charging their own checked-in stay; gate staff any stay. Meter
values come from the charger: through its own API key (`Authorization: Bearer evk_...`,
made by an admin) or a gate-staff account, never from a driver.
"""

from flask import request
from flask_jwt_extended import current_user, jwt_required
from flask_restx import Namespace, fields
from werkzeug.exceptions import Unauthorized

from parkapp.api.common import (
    ID,
    MAX_ID,
    MAX_PER_PAGE,
    Resource,
    arg_int,
    error_model,
    iso,
    json_body,
    money,
    money_model,
    page_model,
    paginate,
    query_params,
    roles_required,
)
from parkapp.booking import queries
from parkapp.core.exceptions import Invalid
from parkapp.ev import charging as ev
from parkapp.ev import self_serve
from parkapp.ev import stations as ev_stations
from parkapp.models import ChargerType, ChargingStatus, Connector, StationStatus

ns = Namespace("ev", description="EV charging stations and sessions", path="/")
error = error_model(ns)
money_out = money_model(ns)
CHARGER_TYPES = [t.value for t in ChargerType]
CONNECTORS = [c.value for c in Connector]
STATION_STATUSES = [s.value for s in StationStatus]
WH = {"min": 0, "max": ev.MAX_WH, "example": 12345, "description": "meter reading in Wh"}


def _station_fields(required):
    return {
        "charger_type": fields.String(required=required, enum=CHARGER_TYPES, example="level2"),
        "power_w": fields.Integer(
            required=required, min=100, max=1_000_000, example=7400, description="watts"
        ),
        "connector": fields.String(required=required, enum=CONNECTORS, example="type2"),
        "price_per_kwh_cents": fields.Integer(required=required, min=0, max=10_000, example=35),
        "idle_fee_per_minute_cents": fields.Integer(
            min=0, max=10_000, example=10, description="after charging ends; 0: none"
        ),
        "idle_grace_minutes": fields.Integer(min=0, max=1440, example=10),
        "status": fields.String(enum=STATION_STATUSES, example="active"),
    }


station_in = ns.model(
    "EvStationCreate",
    {
        "spot_id": fields.Integer(
            required=True, min=1, max=MAX_ID, example=7, description="an ev spot"
        ),
        **_station_fields(True),
    },
    strict=True,
)
station_changes_in = ns.model("EvStationChanges", _station_fields(False), strict=True)
station_out = ns.model(
    "EvStation",
    {
        "id": fields.Integer,
        "lot_id": fields.Integer,
        "spot_id": fields.Integer,
        "spot_label": fields.String(example="EV1"),
        **_station_fields(False),
        "description": fields.String(example="Level 2 · 7.4 kW · Type 2"),
    },
)
station_page = page_model(ns, "EvStationPage", station_out)

start_in = ns.model(
    "ChargingStart",
    {
        "booking_id": fields.Integer(required=True, min=1, max=MAX_ID, example=12),
        "station_id": fields.Integer(
            min=1, max=MAX_ID, example=3, description="omit: the charger on the stay's spot"
        ),
        "start_wh": fields.Integer(
            **{**WH, "description": "staff only; omit: the charger's last meter reading"}
        ),
    },
    strict=True,
)
reading_in = ns.model("MeterReading", {"wh": fields.Integer(required=True, **WH)}, strict=True)
stop_in = ns.model(
    "ChargingStop",
    {"stop_wh": fields.Integer(**{**WH, "description": "staff only; omit: the last reading"})},
    strict=True,
)
station_key_out = ns.model(
    "EvStationKey",
    {
        "station_id": fields.Integer,
        "api_key": fields.String(
            example="evk_...", description="shown once: the charger reports readings with it"
        ),
    },
)
session_out = ns.model(
    "ChargingSession",
    {
        "id": fields.Integer,
        "booking_id": fields.Integer,
        "station_id": fields.Integer,
        "status": fields.String(enum=[s.value for s in ChargingStatus]),
        "started_at": fields.DateTime,
        "start_wh": fields.Integer,
        "last_wh": fields.Integer,
        "last_reading_at": fields.DateTime,
        "stopped_at": fields.DateTime,
        "stop_wh": fields.Integer,
        "energy_wh": fields.Integer,
        "energy": fields.Nested(money_out, description="what the energy costs"),
        "price_per_kwh": fields.Nested(money_out),
        "idle_fee_per_minute": fields.Nested(money_out),
        "idle_grace_minutes": fields.Integer,
    },
)
session_page = page_model(ns, "ChargingSessionPage", session_out)


def station_dict(station):
    return {
        "id": station.id,
        "lot_id": station.lot_id,
        "spot_id": station.spot_id,
        "spot_label": station.spot.label,
        "charger_type": station.charger_type.value,
        "power_w": station.power_w,
        "connector": station.connector.value,
        "price_per_kwh_cents": station.price_per_kwh_cents,
        "idle_fee_per_minute_cents": station.idle_fee_per_minute_cents,
        "idle_grace_minutes": station.idle_grace_minutes,
        "status": station.status.value,
        "description": ev_stations.describe(station),
    }


def session_dict(charge):
    currency = charge.booking.currency
    return {
        "id": charge.id,
        "booking_id": charge.booking_id,
        "station_id": charge.station_id,
        "status": charge.status.value,
        "started_at": iso(charge.started_at),
        "start_wh": charge.start_wh,
        "last_wh": charge.last_wh,
        "last_reading_at": iso(charge.last_reading_at),
        "stopped_at": iso(charge.stopped_at),
        "stop_wh": charge.stop_wh,
        "energy_wh": charge.energy_wh,
        "energy": money(charge.energy_cents, currency),
        "price_per_kwh": money(charge.price_per_kwh_cents, currency),
        "idle_fee_per_minute": money(charge.idle_fee_per_minute_cents, currency),
        "idle_grace_minutes": charge.idle_grace_minutes,
    }


@ns.route("/ev-stations")
class StationList(Resource):
    @ns.doc(
        security=[],
        params=query_params(
            lot_id=("integer", "only this lot's chargers"),
            page=("integer", "page number, from 1"),
            per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
        ),
    )
    @ns.response(200, "Chargers by lot and spot", station_page)
    @ns.response(422, "Invalid filter", error)
    def get(self):
        """List charging stations (anyone)."""
        lot_id = arg_int("lot_id", None, 1, MAX_ID)
        return paginate(ev_stations.list_query(lot_id), station_dict)

    @ns.expect(station_in, validate=True)
    @ns.response(201, "Created", station_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(409, "The spot has a charger already", error)
    @ns.response(422, "Invalid field, or the spot is not an ev spot", error)
    @roles_required("admin")
    def post(self):
        """Put a charger on an ev spot (admin)."""
        data = ev_stations.StationInput(**json_body())
        return station_dict(ev_stations.create(data)), 201


@ns.route(f"/ev-stations/<{ID}:station_id>")
@ns.param("station_id", "The station id")
@ns.response(404, "No such station", error)
class StationItem(Resource):
    @ns.doc(security=[])
    @ns.response(200, "The charger", station_out)
    def get(self, station_id):
        """One charging station (anyone)."""
        return station_dict(ev_stations.get(station_id))

    @ns.expect(station_changes_in, validate=True)
    @ns.response(200, "Updated", station_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def patch(self, station_id):
        """Change a charger; sessions already started keep their prices (admin)."""
        station = ev_stations.get(station_id)
        return station_dict(ev_stations.update(station, json_body()))

    @ns.response(204, "Deleted")
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(409, "The charger has charging history: set it out of service", error)
    @roles_required("admin")
    def delete(self, station_id):
        """Remove a charger never used (admin)."""
        ev_stations.delete(ev_stations.get(station_id))
        return "", 204


def _status_filter():
    raw = request.args.get("status", "")
    if raw == "":
        return None
    try:
        return ChargingStatus(raw)
    except ValueError:
        raise Invalid("status", "Use charging or finished.") from None


@ns.route("/ev-charging")
@ns.response(401, "No valid token", error)
class SessionList(Resource):
    @ns.doc(
        params=query_params(
            booking_id=("integer", "only this booking's sessions"),
            status=("string", "charging or finished"),
            page=("integer", "page number, from 1"),
            per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
        )
    )
    @ns.response(200, "Sessions, newest first: your own, or all for staff", session_page)
    @ns.response(422, "Invalid filter", error)
    @jwt_required()
    def get(self):
        """List charging sessions (drivers: their own; staff: all)."""
        booking_id = arg_int("booking_id", None, 1, MAX_ID)
        query = ev.list_query(current_user, booking_id, _status_filter())
        return paginate(query, session_dict)

    @ns.expect(start_in, validate=True)
    @ns.response(201, "Charging", session_out)
    @ns.response(403, "A driver gave a meter reading", error)
    @ns.response(404, "No such booking of yours, or no such station", error)
    @ns.response(
        409,
        "Stay not checked in, not on the charger's spot, no charger there, charger busy or "
        "out of service",
        error,
    )
    @ns.response(422, "Invalid field", error)
    @jwt_required()
    def post(self):
        """Start charging a checked-in stay at the charger on its spot (its driver, staff)."""
        data = json_body()
        booking = queries.get_booking(data["booking_id"], current_user)
        station = ev_stations.get(data["station_id"]) if data.get("station_id") else None
        charge = self_serve.start(booking, current_user, station, data.get("start_wh"))
        return session_dict(charge), 201


@ns.route(f"/ev-charging/<{ID}:session_id>")
@ns.param("session_id", "The charging session id")
class SessionItem(Resource):
    @ns.response(200, "The session", session_out)
    @ns.response(401, "No valid token", error)
    @ns.response(404, "No such session of yours", error)
    @jwt_required()
    def get(self, session_id):
        """One charging session (its driver, or staff)."""
        return session_dict(ev.get(session_id, current_user))


@ns.route(f"/ev-charging/<{ID}:session_id>/readings")
@ns.param("session_id", "The charging session id")
class SessionReadings(Resource):
    @ns.expect(reading_in, validate=True)
    @ns.response(200, "Recorded", session_out)
    @ns.response(401, "No valid token or charger key", error)
    @ns.response(403, "Not gate staff (a driver's token)", error)
    @ns.response(404, "No such session (of this charger)", error)
    @ns.response(409, "The session is stopped, or the stay has ended", error)
    @ns.response(422, "The reading goes backwards, or is not a meter value", error)
    def post(self, session_id):
        """Report a meter reading in Wh: the charger with its key, or gate staff."""
        token = _bearer()
        if self_serve.is_station_key(token):
            station = self_serve.station_for_key(token)
            if station is None:
                raise Unauthorized("Unknown charger key.")
            wh = json_body()["wh"]
            return session_dict(self_serve.report_from_station(session_id, station, wh))
        return _staff_reading(session_id)


@ns.route(f"/ev-charging/<{ID}:session_id>/stop")
@ns.param("session_id", "The charging session id")
class SessionStop(Resource):
    @ns.expect(stop_in, validate=True)
    @ns.response(200, "Stopped; the idle fee runs from now", session_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "A driver gave a meter reading", error)
    @ns.response(404, "No such session of yours", error)
    @ns.response(409, "Stopped already, or the stay has ended", error)
    @ns.response(422, "The stop reading goes backwards, or is not a meter value", error)
    @jwt_required()
    def post(self, session_id):
        """Stop charging, at the last reading or a staff-given one (its driver, staff)."""
        charge = ev.get(session_id, current_user)
        return session_dict(ev.stop(charge, json_body().get("stop_wh"), current_user))


def _bearer():
    """The bearer token of the request, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@roles_required("operator", "admin")
def _staff_reading(session_id):
    charge = ev.get(session_id, current_user)
    return session_dict(ev.report(charge, json_body()["wh"], current_user))


@ns.route(f"/ev-stations/<{ID}:station_id>/api-key")
@ns.param("station_id", "The station id")
class StationKey(Resource):
    @ns.response(201, "A new key (the old one stops working); shown only now", station_key_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such station", error)
    @roles_required("admin")
    def post(self, station_id):
        """Make the charger's API key for reporting meter readings (admin)."""
        station = ev_stations.get(station_id)
        return {"station_id": station.id, "api_key": self_serve.issue_key(station)}, 201

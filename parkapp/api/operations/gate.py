"""/gate/*: operators let vehicles in and out; /vehicle-types: what fits where."""

from flask import request
from flask_jwt_extended import current_user
from flask_restx import Namespace, fields

from parkapp.api.booking.bookings import booking_dict, booking_out, quote_out
from parkapp.api.booking.waitlist import entry_dict
from parkapp.api.booking.waitlist import entry_out as waitlist_entry_out
from parkapp.api.common import (
    KINDS,
    MAX_ID,
    NO_NUL,
    Resource,
    arg_int,
    error_model,
    iso,
    json_body,
    money,
    money_model,
    page_model,
    page_of,
    query_params,
    roles_required,
)
from parkapp.api.lots.spots import spot_brief, spot_brief_out
from parkapp.core.exceptions import Invalid
from parkapp.gate import passage as gate
from parkapp.models import STAFF_ROLES, VehicleType

ns = Namespace("gate", description="The gate: entries, exits, fees", path="/")
error = error_model(ns)
money_out = money_model(ns)
VEHICLE_TYPES = [t.value for t in VehicleType]
PLATE_FIELD = fields.String(required=True, max_length=32, pattern=NO_NUL, example="AB12 CDE")
TICKET_FIELD = fields.String(max_length=32, pattern=NO_NUL, example="T-7KQ2MX4PZ9HD")

_vehicle = {
    "vehicle_type": fields.String(
        enum=VEHICLE_TYPES, description="omit: the registered vehicle's, else car"
    ),
    "is_ev": fields.Boolean(description="omit: the registered vehicle's, else false"),
    "accessible": fields.Boolean(
        description="holds a disabled parking permit; omit: the registered vehicle's, else false"
    ),
}
entry_in = ns.model(
    "GateEntry",
    {
        "lot_id": fields.Integer(required=True, min=1, max=MAX_ID, example=1),
        "license_plate": PLATE_FIELD,
        **_vehicle,
        "gate": fields.String(max_length=60, pattern=NO_NUL, example="North"),
    },
    strict=True,
)
exit_in = ns.model(
    "GateExit",
    {
        "lot_id": fields.Integer(min=1, max=MAX_ID, description="only stays in this lot"),
        "ticket_number": TICKET_FIELD,
        "license_plate": fields.String(max_length=32, pattern=NO_NUL, example="AB12 CDE"),
        "gate": fields.String(max_length=60, pattern=NO_NUL, example="South"),
    },
    strict=True,
)
waitlist_in = ns.model(
    "GateWaitlistJoin",
    {
        "lot_id": fields.Integer(required=True, min=1, max=MAX_ID, example=1),
        "license_plate": PLATE_FIELD,
        **_vehicle,
    },
    strict=True,
)
entry_out = ns.model(
    "GateEntryResult",
    {
        "ticket_number": fields.String(example="T-7KQ2MX4PZ9HD"),
        "booking": fields.Nested(booking_out),
        "spot": fields.Nested(spot_brief_out),
        "reservation": fields.Boolean(description="true: the vehicle's reservation was used"),
    },
)
exit_out = ns.model(
    "GateExitResult",
    {
        "exit": fields.String(enum=["allowed"]),
        "booking": fields.Nested(booking_out, description="completed, with its final price"),
    },
)
fee_out = ns.model(
    "GateFee",
    {
        "booking": fields.Nested(booking_out),
        "quote": fields.Nested(quote_out, description="the stay priced until now"),
        "total": fields.Nested(money_out),
        "paid": fields.Nested(money_out),
        "due": fields.Nested(money_out),
        "exit_by": fields.DateTime(description="paid: leave by then and owe nothing more"),
    },
)
vehicle_type_out = ns.model(
    "VehicleType",
    {
        "name": fields.String(enum=VEHICLE_TYPES),
        "spot_kinds": fields.List(fields.String(enum=KINDS), description="best first"),
        "ev_spot_kinds": fields.List(fields.String(enum=KINDS), description="as an EV"),
        "accessible_spot_kinds": fields.List(
            fields.String(enum=KINDS), description="with a disabled parking permit"
        ),
    },
)
vehicle_type_page = page_model(ns, "VehicleTypePage", vehicle_type_out)


def _stay(data):
    """The stay a request names by ticket or by plate (exactly one of them)."""
    ticket, plate = data.get("ticket_number"), data.get("license_plate")
    if ticket in (None, "") and plate in (None, ""):
        raise Invalid("ticket_number", "One of ticket_number or license_plate is required.")
    if ticket not in (None, "") and plate not in (None, ""):
        raise Invalid("ticket_number", "Give either ticket_number or license_plate, not both.")
    return gate.find_inside(data.get("lot_id"), ticket=ticket or None, plate=plate or None)


@ns.route("/gate/entry")
class GateEntry(Resource):
    @ns.expect(entry_in, validate=True)
    @ns.response(201, "In: the ticket and the spot", entry_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an operator or admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(409, "Already inside, lot full (offer the waitlist) or lot closed", error)
    @ns.response(422, "Invalid plate, vehicle type or gate", error)
    @roles_required(*STAFF_ROLES)
    def post(self):
        """Let a vehicle in by plate: its reservation for now, else any fitting free spot."""
        data = json_body()
        booking, reserved = gate.enter(
            data["lot_id"],
            data["license_plate"],
            vehicle_type=data.get("vehicle_type"),
            is_ev=data.get("is_ev"),
            accessible=data.get("accessible"),
            gate=data.get("gate"),
            operator=current_user,
        )
        return {
            "ticket_number": booking.ticket_number,
            "booking": booking_dict(booking),
            "spot": spot_brief(booking.spot),
            "reservation": reserved,
        }, 201


@ns.route("/gate/exit")
class GateExit(Resource):
    @ns.expect(exit_in, validate=True)
    @ns.response(200, "Exit allowed: the stay is completed", exit_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an operator or admin", error)
    @ns.response(404, "No vehicle inside with that ticket or plate", error)
    @ns.response(409, "Payment required: the message says the amount due", error)
    @ns.response(422, "Neither or both of ticket_number and license_plate", error)
    @roles_required(*STAFF_ROLES)
    def post(self):
        """Let a vehicle out by ticket or plate once nothing is due on its stay."""
        data = json_body()
        booking = gate.leave(_stay(data), operator=current_user, gate=data.get("gate"))
        return {"exit": "allowed", "booking": booking_dict(booking)}


@ns.route("/gate/fee")
class GateFee(Resource):
    @ns.doc(
        params=query_params(
            ticket_number=("string", "the ticket (or give license_plate)"),
            license_plate=("string", "the plate (or give ticket_number)"),
            lot_id=("integer", "only stays in this lot"),
        )
    )
    @ns.response(200, "The fee as of now, what was paid and what is due", fee_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an operator or admin", error)
    @ns.response(404, "No vehicle inside with that ticket or plate", error)
    @ns.response(422, "Neither or both of ticket_number and license_plate", error)
    @roles_required(*STAFF_ROLES)
    def get(self):
        """The fee of a stay inside, itemised, with what is paid and due."""
        data = {
            "ticket_number": request.args.get("ticket_number"),
            "license_plate": request.args.get("license_plate"),
            "lot_id": arg_int("lot_id", None, 1, MAX_ID),
        }
        for name in ("ticket_number", "license_plate"):
            if data[name] is not None and (len(data[name]) > 32 or "\x00" in data[name]):
                raise Invalid(name, "At most 32 characters.")
        booking = _stay(data)
        bill = gate.fee(booking)
        return {
            "booking": booking_dict(booking),
            "quote": {**bill.quote.as_dict(), "total": money(bill.total_cents, bill.currency)},
            "total": money(bill.total_cents, bill.currency),
            "paid": money(bill.paid_cents, bill.currency),
            "due": money(bill.due_cents, bill.currency),
            "exit_by": iso(bill.exit_by),
        }


@ns.route("/gate/waitlist")
class GateWaitlist(Resource):
    @ns.expect(waitlist_in, validate=True)
    @ns.response(201, "Queued at the gate", waitlist_entry_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an operator or admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(409, "Already queued, or a fitting spot is free: let it in instead", error)
    @ns.response(422, "Invalid plate or vehicle type", error)
    @roles_required(*STAFF_ROLES)
    def post(self):
        """Queue a vehicle at the gate of a full lot."""
        data = json_body()
        entry, _ = gate.join_waitlist(
            data["lot_id"],
            data["license_plate"],
            data.get("vehicle_type"),
            data.get("is_ev"),
            data.get("accessible"),
        )
        return entry_dict(entry), 201


@ns.route("/vehicle-types")
class VehicleTypes(Resource):
    @ns.doc(security=[])
    @ns.response(
        200, "Every vehicle type with the spot kinds it fits, best first", vehicle_type_page
    )
    def get(self):
        """The vehicle types and the spot kinds each may be given, best first."""
        rows = gate.kinds_by_vehicle_type()
        return page_of(rows, _vehicle_type_dict)


def _vehicle_type_dict(row):
    vehicle_type, plain, ev, accessible = row
    return {
        "name": vehicle_type.value,
        "spot_kinds": [k.value for k in plain],
        "ev_spot_kinds": [k.value for k in ev],
        "accessible_spot_kinds": [k.value for k in accessible],
    }

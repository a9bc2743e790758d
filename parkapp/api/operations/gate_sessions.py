"""/gate/sessions: staff see the stays inside a lot now, with the fee so far, and move cars."""

from flask import request
from flask_restx import Namespace, fields

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
from parkapp.api.lots.spots import spot_brief, spot_brief_out
from parkapp.gate import sessions
from parkapp.lots import lots
from parkapp.models import STAFF_ROLES, utcnow

ns = Namespace("gate-sessions", description="The stays inside a lot now", path="/")
error = error_model(ns)
money_out = money_model(ns)

session_out = ns.model(
    "GateSession",
    {
        "booking_id": fields.Integer,
        "lot_id": fields.Integer,
        "plate": fields.String(example="AB12CDE"),
        "ticket_number": fields.String(example="T-7KQ2MX4PZ9HD"),
        "confirmation_code": fields.String,
        "source": fields.String(enum=["web", "api", "gate"]),
        "spot": fields.Nested(spot_brief_out),
        "level": fields.String(example="L1"),
        "zone": fields.String(example="A"),
        "since": fields.DateTime(description="checked in at"),
        "ends_at": fields.DateTime(description="the booked end; null: open-ended"),
        "fee_so_far": fields.Nested(money_out, description="the stay priced until now"),
        "paid": fields.Nested(money_out),
        "due": fields.Nested(money_out),
    },
)
session_page = page_model(ns, "GateSessionPage", session_out)
move_in = ns.model(
    "GateSessionMove",
    {"spot_id": fields.Integer(required=True, min=1, max=MAX_ID, example=12)},
    strict=True,
)


def session_dict(booking, now):
    """A stay inside, as staff see it: where it is, since when, and what it owes so far."""
    bill = sessions.fee_so_far(booking, now)
    spot = spot_brief(booking.spot)
    return {
        "booking_id": booking.id,
        "lot_id": booking.lot_id,
        "plate": booking.plate,
        "ticket_number": booking.ticket_number,
        "confirmation_code": booking.confirmation_code,
        "source": booking.source.value,
        "spot": spot,
        "level": spot["level"],
        "zone": spot["zone"],
        "since": iso(booking.checked_in_at or booking.starts_at),
        "ends_at": iso(booking.booked_ends_at),
        "fee_so_far": money(bill.total_cents, bill.currency),
        "paid": money(bill.paid_cents, bill.currency),
        "due": money(bill.due_cents, bill.currency),
    }


@ns.route("/gate/sessions")
class GateSessions(Resource):
    @ns.doc(
        params=query_params(
            lot_id=("integer", "only stays in this lot"),
            plate=("string", "the plate contains this (spaces and dashes ignored)"),
            page=("integer", "page number, from 1"),
            per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
        )
    )
    @ns.response(200, "The stays inside now, longest first", session_page)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an operator or admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(422, "Invalid filter", error)
    @roles_required(*STAFF_ROLES)
    def get(self):
        """The stays inside a lot now: plate, spot, level, zone, since when, fee so far."""
        lot_id = arg_int("lot_id", None, 1, MAX_ID)
        if lot_id is not None:
            lots.get_lot(lot_id, include_inactive=True)
        query = sessions.inside_query(lot_id, request.args.get("plate"))
        now = utcnow()
        return paginate(query, lambda booking: session_dict(booking, now))


@ns.route(f"/gate/sessions/<{ID}:booking_id>/move")
@ns.param("booking_id", "The stay's booking id")
class GateSessionMove(Resource):
    @ns.expect(move_in, validate=True)
    @ns.response(200, "Moved: the stay on its new spot", session_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an operator or admin", error)
    @ns.response(404, "No such stay inside, or no such spot", error)
    @ns.response(409, "The spot is taken (or reserved) during the stay", error)
    @ns.response(422, "The spot is in another lot, out of service, or the stay's own", error)
    @roles_required(*STAFF_ROLES)
    def post(self, booking_id):
        """Move a car inside to another free spot of the same lot; nothing else changes."""
        booking = sessions.move(booking_id, json_body()["spot_id"])
        return session_dict(booking, utcnow())

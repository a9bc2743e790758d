"""/quotes and /bookings: price a stay, book, check in, release, cancel."""

import re

from flask import request
from flask_jwt_extended import current_user, jwt_required
from flask_restx import Namespace, fields
from sqlalchemy.orm import joinedload, selectinload

from parkapp.api.common import (
    ID,
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
    optional_user,
    page_model,
    paginate,
    query_params,
    timestamp,
)
from parkapp.api.lots.spots import spot_brief, spot_brief_out
from parkapp.billing import refunds
from parkapp.booking import changes, claims, lifecycle, queries
from parkapp.core.exceptions import Invalid, NotFound
from parkapp.lots import lots
from parkapp.models import Booking, BookingSource, BookingStatus, Lot, VehicleType

ns = Namespace("bookings", description="Quotes and bookings", path="/")
error = error_model(ns)
STATUSES = [status.value for status in BookingStatus]
CODE = re.compile(r"^[A-Za-z0-9]{1,16}$")

money_out = money_model(ns)
quote_out = ns.model(
    "Quote",
    {
        "currency": fields.String(example="GBP"),
        "total_cents": fields.Integer(example=600),
        "total": fields.Nested(money_out),
        "open_ended": fields.Boolean,
        "lines": fields.List(
            fields.Nested(
                ns.model(
                    "QuoteLine",
                    {
                        "label": fields.String(example="3 h at 2.00 GBP/h"),
                        "amount_cents": fields.Integer,
                    },
                )
            )
        ),
    },
)
priced_quote_out = ns.inherit(
    "PricedStay",
    quote_out,
    {
        "lot_id": fields.Integer,
        "starts_at": fields.DateTime,
        "ends_at": fields.DateTime,
    },
)
booking_out = ns.model(
    "Booking",
    {
        "id": fields.Integer,
        "confirmation_code": fields.String(example="K7P2MX9QRT"),
        "lot_id": fields.Integer,
        "lot_name": fields.String,
        "spot": fields.Nested(spot_brief_out),
        "status": fields.String(enum=STATUSES),
        "source": fields.String(enum=[s.value for s in BookingSource]),
        "starts_at": fields.DateTime,
        "ends_at": fields.DateTime(description="null while a stay is open"),
        "vehicle_plate": fields.String(example="AB12CDE"),
        "user_id": fields.Integer,
        "checked_in_at": fields.DateTime,
        "released_at": fields.DateTime,
        "cancelled_at": fields.DateTime,
        "created_at": fields.DateTime,
        "quote": fields.Nested(quote_out, description="the price as booked, final once released"),
        "price": fields.Nested(
            money_out, allow_null=True, description="the final price, once released"
        ),
        "discount_code": fields.String(example="WELCOME10", description="the promo code used"),
    },
)
booking_page = page_model(ns, "BookingPage", booking_out)
cancelled_out = ns.inherit(
    "CancelledBooking",
    booking_out,
    {"refund": fields.Nested(money_out, description="given back by the lot's refund policy")},
)

_stay = {
    "lot_id": fields.Integer(required=True, min=1, max=MAX_ID, example=1),
    "starts_at": fields.DateTime(example="2026-11-23T09:00:00Z"),
    "ends_at": fields.DateTime(example="2026-11-23T12:00:00Z"),
    "spot_kind": fields.String(enum=KINDS, example="standard"),
    "discount_code": fields.String(
        max_length=64, pattern=NO_NUL, example="WELCOME10", description="a promo code"
    ),
}
quote_in = ns.model(
    "QuoteRequest",
    {
        **_stay,
        "starts_at": fields.DateTime(required=True, example="2026-11-23T09:00:00Z"),
        "ends_at": fields.DateTime(required=True, example="2026-11-23T12:00:00Z"),
        "vehicle_type": fields.String(enum=[t.value for t in VehicleType], example="car"),
        "vehicle_plate": fields.String(
            max_length=32,
            pattern=NO_NUL,
            example="AB12 CDE",
            description="with a token: your vehicle, so its membership applies",
        ),
    },
    strict=True,
)
booking_in = ns.model(
    "BookingRequest",
    {
        **_stay,
        "spot_id": fields.Integer(min=1, max=MAX_ID, description="omit: any free spot"),
        "vehicle_plate": fields.String(
            required=True, max_length=32, pattern=NO_NUL, example="AB12 CDE"
        ),
    },
    strict=True,
)
changed_out = ns.inherit(
    "ChangedBooking",
    booking_out,
    {
        "price_difference": fields.Nested(
            money_out, description="new price minus the old one (negative: cheaper)"
        ),
        "refund": fields.Nested(money_out, description="given back by the lot's refund policy"),
    },
)
change_in = ns.model(
    "BookingChange",
    {
        "starts_at": fields.DateTime(example="2026-11-23T10:00:00Z"),
        "ends_at": fields.DateTime(example="2026-11-23T13:00:00Z"),
    },
    strict=True,
)


def quote_dict(quote):
    """A quote's lines and total, with the total also as a money object."""
    return {**quote.as_dict(), "total": money(quote.total_cents, quote.currency)}


def booking_dict(booking):
    """A booking as the API shows it."""
    booking = queries.with_details(booking)
    return {
        "id": booking.id,
        "confirmation_code": booking.confirmation_code,
        "lot_id": booking.lot_id,
        "lot_name": booking.lot.name,
        "spot": spot_brief(booking.spot),
        "status": booking.status.value,
        "source": booking.source.value,
        "starts_at": iso(booking.starts_at),
        "ends_at": iso(booking.ends_at),
        "vehicle_plate": booking.plate,
        "user_id": booking.user_id,
        "checked_in_at": iso(booking.checked_in_at),
        "released_at": iso(booking.released_at),
        "cancelled_at": iso(booking.cancelled_at),
        "created_at": iso(booking.created_at),
        "quote": quote_dict(lifecycle.final_quote(booking)),
        "price": money(booking.price_cents, booking.currency),
        "discount_code": booking.discount.code if booking.discount else None,
    }


def _filter():
    """The list filters: drivers see their own bookings, operators also every active stay
    (the cars inside their lots), admins everything."""
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise Invalid("status", f"Status must be one of: {', '.join(STATUSES)}.")
    everyone = current_user.is_admin or (current_user.is_operator and status == "active")
    return queries.BookingFilter(
        user_id=None if everyone else current_user.id,
        lot_id=arg_int("lot_id", None, 1, MAX_ID),
        status=BookingStatus(status) if status else None,
        date_from=timestamp("from", request.args.get("from")),
        date_to=timestamp("to", request.args.get("to")),
    )


@ns.route("/quotes")
class Quotes(Resource):
    @ns.doc(security=[])
    @ns.expect(quote_in, validate=True)
    @ns.response(200, "The itemised price, nothing booked", priced_quote_out)
    @ns.response(404, "No such lot", error)
    @ns.response(422, "Invalid interval or field, or an unusable promo code (code says why)", error)
    def post(self):
        """Price a stay without booking it."""
        data = json_body()
        lot = lots.get_lot(data["lot_id"])
        starts_at = timestamp("starts_at", data["starts_at"], required=True)
        ends_at = timestamp("ends_at", data["ends_at"], required=True)
        vehicle_type = VehicleType(data["vehicle_type"]) if data.get("vehicle_type") else None
        quote = claims.quote_for(
            lot,
            starts_at,
            ends_at,
            data.get("spot_kind"),
            vehicle_type,
            data.get("discount_code"),
            optional_user(),
            data.get("vehicle_plate"),
        )
        return {
            **quote_dict(quote),
            "lot_id": lot.id,
            "starts_at": iso(starts_at),
            "ends_at": iso(ends_at),
        }


@ns.route("/bookings")
class BookingList(Resource):
    @ns.doc(
        params=query_params(
            status=("string", f"one of {', '.join(STATUSES)}"),
            lot_id=("integer", "only this lot"),
            **{
                "from": ("date-time", "starting at or after (ISO 8601 with offset)"),
                "to": ("date-time", "starting before (ISO 8601 with offset)"),
            },
            page=("integer", "page number"),
            per_page=("integer", "items per page"),
        )
    )
    @ns.response(
        200,
        "Your bookings (admins: everyone's; operators: every stay with status=active)",
        booking_page,
    )
    @ns.response(401, "No valid token", error)
    @ns.response(422, "Invalid filter", error)
    @jwt_required()
    def get(self):
        """List bookings: your own, or everyone's for admins."""
        # Each item reads its vehicle type, lot, spot, charging and validation: load them
        # with the page.
        query = queries.filtered_query(_filter()).options(
            joinedload(Booking.vehicle),
            selectinload(Booking.charging_sessions),
            selectinload(Booking.validation),
            *queries.DETAILS,
            joinedload(Booking.lot).selectinload(Lot.rates),  # priced per lot
        )
        return paginate(query, booking_dict)

    @ns.expect(booking_in, validate=True)
    @ns.response(201, "Booked", booking_out)
    @ns.response(401, "No valid token", error)
    @ns.response(404, "No such lot, or no such spot in it", error)
    @ns.response(409, "Spot taken, lot full, spot in maintenance or vehicle already booked", error)
    @ns.response(422, "Invalid interval, plate or spot kind, or an unusable promo code", error)
    @jwt_required()
    def post(self):
        """Reserve [starts_at, ends_at), or park now (open-ended) without starts_at."""
        data = json_body()
        request_ = claims.BookingRequest(
            lot_id=data["lot_id"],
            plate=data["vehicle_plate"],
            spot_id=data.get("spot_id"),
            starts_at=timestamp("starts_at", data.get("starts_at")),
            ends_at=timestamp("ends_at", data.get("ends_at")),
            spot_kind=data.get("spot_kind"),
            source=BookingSource.API,
            discount_code=data.get("discount_code"),
        )
        return booking_dict(claims.create_booking(current_user, request_)), 201


@ns.route(f"/bookings/<{ID}:booking_id>")
@ns.param("booking_id", "The booking id")
class BookingItem(Resource):
    @ns.response(200, "The booking", booking_out)
    @ns.response(401, "No valid token", error)
    @ns.response(404, "No such booking of yours", error)
    @jwt_required()
    def get(self, booking_id):
        """One booking (yours, or any for staff)."""
        return booking_dict(queries.get_booking(booking_id, current_user))

    @ns.expect(change_in, validate=True)
    @ns.response(200, "The booking with its new quote and the price difference", changed_out)
    @ns.response(401, "No valid token", error)
    @ns.response(404, "No such booking of yours", error)
    @ns.response(409, "No spot of its kind free for the new times, or not changeable", error)
    @ns.response(422, "Invalid time, or a field this booking cannot change", error)
    @jwt_required()
    def patch(self, booking_id):
        """Move a reservation, or the fixed end of an active stay (owner)."""
        booking = queries.get_booking(booking_id, current_user)
        if not booking.is_owner(current_user):  # staff see bookings; only drivers change theirs
            raise NotFound("No such booking.")
        data = json_body()
        change = changes.change_times(
            booking,
            current_user,
            timestamp("starts_at", data.get("starts_at")),
            timestamp("ends_at", data.get("ends_at")),
        )
        currency = change.booking.currency
        return {
            **booking_dict(change.booking),
            "price_difference": money(change.difference_cents, currency),
            "refund": money(change.refunded_cents, currency),
        }


@ns.route("/bookings/by-code/<string:code>")
@ns.param("code", "The confirmation code")
class BookingByCode(Resource):
    @ns.response(200, "The booking", booking_out)
    @ns.response(401, "No valid token", error)
    @ns.response(404, "No booking of yours with that code", error)
    @jwt_required()
    def get(self, code):
        """Find a booking by its confirmation code (owner, operator, admin)."""
        if not CODE.match(code):
            raise NotFound("No booking with that code.")
        return booking_dict(queries.get_by_code(code, current_user))


@ns.route(f"/bookings/<{ID}:booking_id>/check-in")
@ns.param("booking_id", "The booking id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such booking of yours", error)
class BookingCheckIn(Resource):
    @ns.response(200, "The booking, now active", booking_out)
    @ns.response(409, "Not a reservation, too early, or already over", error)
    @jwt_required()
    def post(self, booking_id):
        """Check in a reservation: reserved -> active (owner, operator)."""
        booking = queries.get_booking(booking_id, current_user)
        return booking_dict(lifecycle.check_in(booking, current_user))


@ns.route(f"/bookings/<{ID}:booking_id>/release")
@ns.param("booking_id", "The booking id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such booking of yours", error)
class BookingRelease(Resource):
    @ns.response(200, "The completed booking with its final price", booking_out)
    @ns.response(409, "Already released, or not checked in", error)
    @jwt_required()
    def post(self, booking_id):
        """End a stay now and fix its final price: active -> completed (owner, operator)."""
        return booking_dict(lifecycle.release_by_id(booking_id, current_user))


@ns.route(f"/bookings/<{ID}:booking_id>/cancel")
@ns.param("booking_id", "The booking id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such booking of yours", error)
class BookingCancel(Resource):
    @ns.response(200, "The cancelled booking and what was refunded", cancelled_out)
    @ns.response(409, "Not an upcoming reservation", error)
    @ns.response(503, "The card payment service could not refund; nothing changed", error)
    @jwt_required()
    def post(self, booking_id):
        """Cancel an upcoming reservation, refunding by the lot's policy (owner, admin)."""
        booking = lifecycle.cancel(queries.get_booking(booking_id, current_user), current_user)
        refunded = refunds.cancellation_refund_cents(booking)
        return {**booking_dict(booking), "refund": money(refunded, booking.currency)}

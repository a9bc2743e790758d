"""/discounts: admins manage promo codes; anyone checks a code against a stay or a booking."""

from flask import request
from flask_restx import Namespace, fields
from werkzeug.exceptions import Unauthorized

from parkapp.api.booking.bookings import quote_dict, quote_out
from parkapp.api.common import (
    ID,
    KINDS,
    MAX_ID,
    MAX_PER_PAGE,
    NO_NUL,
    Resource,
    error_model,
    iso,
    json_body,
    nullable,
    optional_user,
    page_model,
    paginate,
    query_params,
    roles_required,
    timestamp,
)
from parkapp.billing import discounts
from parkapp.booking import claims, queries
from parkapp.core.exceptions import Invalid
from parkapp.lots import lots
from parkapp.models import DiscountKind, VehicleType, utcnow
from parkapp.pricing import quoting as pricing

ns = Namespace("discounts", description="Promo codes", path="/")
error = error_model(ns)
DISCOUNT_KINDS = [kind.value for kind in DiscountKind]
VALUE_HELP = "percent: 1-100; fixed: cents off (1-10000000); free_hours: hours (1-72)"

discount_brief_out = ns.model(
    "DiscountBrief",
    {
        "code": fields.String(example="WELCOME10"),
        "name": fields.String(example="Welcome offer"),
        "kind": fields.String(enum=DISCOUNT_KINDS),
        "value": fields.Integer(example=10, description=VALUE_HELP),
        "description": fields.String(example="10% off"),
        "lot_id": fields.Integer(description="null: valid at every lot"),
        "valid_from": fields.DateTime,
        "valid_until": fields.DateTime,
    },
)
discount_out = ns.inherit(
    "Discount",
    discount_brief_out,
    {
        "id": fields.Integer,
        "max_uses": fields.Integer(description="null: no limit"),
        "max_uses_per_user": fields.Integer(description="null: no limit"),
        "uses_count": fields.Integer,
        "is_active": fields.Boolean,
        "created_at": fields.DateTime,
    },
)
discount_page = page_model(ns, "DiscountPage", discount_out)
validation_out = ns.model(
    "DiscountValidation",
    {
        "valid": fields.Boolean(example=True),
        "discount": fields.Nested(discount_brief_out),
        "quote": fields.Nested(quote_out, description="the price with the discount line"),
    },
)


def _discount_fields(required):
    return {
        "code": fields.String(
            required=required,
            max_length=64,
            pattern=NO_NUL,
            example="WELCOME10",
            description="3-32 of A-Z 0-9 - _; stored upper case",
        ),
        "name": fields.String(max_length=120, pattern=NO_NUL, example="Welcome offer"),
        "kind": fields.String(required=required, enum=DISCOUNT_KINDS, example="percent"),
        "value": fields.Integer(required=required, min=1, example=10, description=VALUE_HELP),
        "lot_id": nullable(fields.Integer(min=1, max=MAX_ID, description="null: every lot")),
        "valid_from": nullable(fields.DateTime(example="2026-11-01T00:00:00Z")),
        "valid_until": nullable(fields.DateTime(example="2026-12-01T00:00:00Z")),
        "max_uses": nullable(fields.Integer(min=1, example=100, description="null: no limit")),
        "max_uses_per_user": nullable(
            fields.Integer(min=1, example=1, description="null: no limit")
        ),
    }


discount_in = ns.model("DiscountCreate", _discount_fields(True), strict=True)
discount_changes_in = ns.model(
    "DiscountChanges",
    {**_discount_fields(False), "is_active": fields.Boolean(description="false deactivates")},
    strict=True,
)
validate_in = ns.model(
    "DiscountCheck",
    {
        "code": fields.String(required=True, max_length=64, pattern=NO_NUL, example="WELCOME10"),
        "lot_id": fields.Integer(min=1, max=MAX_ID, description="a prospective stay at this lot"),
        "booking_id": fields.Integer(
            min=1, max=MAX_ID, description="or an existing booking (its owner or staff)"
        ),
        "starts_at": fields.DateTime(example="2026-11-23T09:00:00Z"),
        "ends_at": fields.DateTime(example="2026-11-23T12:00:00Z"),
        "spot_kind": fields.String(enum=KINDS),
        "vehicle_type": fields.String(enum=[t.value for t in VehicleType]),
    },
    strict=True,
)


def brief_dict(discount):
    """What anyone checking a code may see of it."""
    return {
        "code": discount.code,
        "name": discount.name,
        "kind": discount.kind.value,
        "value": discount.value,
        "description": discounts.describe(discount),
        "lot_id": discount.lot_id,
        "valid_from": iso(discount.valid_from),
        "valid_until": iso(discount.valid_until),
    }


def discount_dict(discount):
    """A discount as admins see it."""
    return {
        **brief_dict(discount),
        "id": discount.id,
        "max_uses": discount.max_uses,
        "max_uses_per_user": discount.max_uses_per_user,
        "uses_count": discount.uses_count,
        "is_active": discount.is_active,
        "created_at": iso(discount.created_at),
    }


def _changes(data):
    """The body's discount fields as Python values (times parsed)."""
    changes = {name: value for name, value in data.items() if name != "is_active"}
    for name in ("valid_from", "valid_until"):
        if name in changes:
            changes[name] = timestamp(name, changes[name])
    return changes


def _active_filter():
    raw = request.args.get("active", "").lower()
    if raw in ("", "all"):
        return None
    if raw not in ("true", "false", "1", "0"):
        raise Invalid("active", "Use true or false.")
    return raw in ("true", "1")


def _search_text():
    q = request.args.get("q", "").strip()
    if len(q) > 64 or "\x00" in q:
        raise Invalid("q", "Search for at most 64 ordinary characters.")
    return q or None


@ns.route("/discounts")
class DiscountList(Resource):
    @ns.doc(
        params=query_params(
            q=("string", "code or name contains"),
            active=("boolean", "only active (true) or deactivated (false) codes"),
            page=("integer", "page number, from 1"),
            per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
        )
    )
    @ns.response(200, "Promo codes, newest first", discount_page)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(422, "Invalid filter", error)
    @roles_required("admin")
    def get(self):
        """List promo codes with their uses (admin)."""
        return paginate(discounts.list_query(_search_text(), _active_filter()), discount_dict)

    @ns.expect(discount_in, validate=True)
    @ns.response(201, "Created", discount_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(409, "Code taken", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def post(self):
        """Create a promo code (admin)."""
        data = discounts.DiscountInput(**_changes(json_body()))
        return discount_dict(discounts.create(data)), 201


@ns.route(f"/discounts/<{ID}:discount_id>")
@ns.param("discount_id", "The discount id")
@ns.response(401, "No valid token", error)
@ns.response(403, "Not an admin", error)
@ns.response(404, "No such discount", error)
class DiscountItem(Resource):
    @ns.response(200, "The promo code", discount_out)
    @roles_required("admin")
    def get(self, discount_id):
        """One promo code with its uses (admin)."""
        return discount_dict(discounts.get(discount_id))

    @ns.expect(discount_changes_in, validate=True)
    @ns.response(200, "Updated", discount_out)
    @ns.response(409, "Code taken, or changing what a used code takes off", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def patch(self, discount_id):
        """Change a promo code; is_active false/true deactivates or reactivates it (admin)."""
        discount = discounts.get(discount_id)
        data = json_body()
        changes = _changes(data)
        if changes:
            discount = discounts.update(discount, changes)
        if "is_active" in data:
            discounts.set_active(discount, data["is_active"])
        return discount_dict(discount)

    @ns.response(204, "Deactivated")
    @roles_required("admin")
    def delete(self, discount_id):
        """Deactivate a promo code: no new uses; bookings keep theirs (admin)."""
        discounts.set_active(discounts.get(discount_id), False)
        return "", 204


@ns.route("/discounts/validate")
class DiscountValidate(Resource):
    @ns.doc(security=[{}, "Bearer"])  # a token is optional
    @ns.expect(validate_in, validate=True)
    @ns.response(200, "The code applies; the price with it", validation_out)
    @ns.response(401, "booking_id without a valid token", error)
    @ns.response(404, "No such lot, or no such booking of yours", error)
    @ns.response(409, "The booking already carries a code", error)
    @ns.response(
        422,
        "Code unusable: code unknown_code, inactive, not_yet_valid, expired, exhausted, "
        "used_up or wrong_lot; or an invalid field",
        error,
    )
    def post(self):
        """Check a promo code against a prospective stay or a booking; nothing is used up.

        With a token, the per-driver limit is checked for you (for a booking: its driver).
        """
        data = json_body()
        if ("lot_id" in data) == ("booking_id" in data):
            raise Invalid("lot_id", "Give either lot_id (a prospective stay) or booking_id.")
        user = optional_user()
        try:
            if "booking_id" in data:
                discount, quote = _for_booking(data, user)
            else:
                discount, quote = _for_stay(data, user)
        except discounts.CodeRefused as exc:
            exc.errors = {"code": exc.errors[discounts.FIELD]}  # the body calls it `code`
            raise
        return {"valid": True, "discount": brief_dict(discount), "quote": quote_dict(quote)}


def _for_stay(data, user):
    lot = lots.get_lot(data["lot_id"])
    starts_at = timestamp("starts_at", data.get("starts_at"))
    ends_at = timestamp("ends_at", data.get("ends_at"))
    vehicle_type = VehicleType(data["vehicle_type"]) if data.get("vehicle_type") else None
    discount = discounts.check(data["code"], user=user, lot=lot)
    if starts_at is None and ends_at is None:  # no stay given: the first hour from now
        kind = claims.parse_kind(data.get("spot_kind"))
        return discount, pricing.quote(
            pricing.Stay(
                lot, utcnow(), spot_kind=kind, vehicle_type=vehicle_type, discount=discount
            )
        )
    quote = claims.quote_for(
        lot, starts_at, ends_at, data.get("spot_kind"), vehicle_type, discount.code, user
    )
    return discount, quote


def _for_booking(data, user):
    if user is None:
        raise Unauthorized("Log in to check a code against a booking.")
    booking = queries.get_booking(data["booking_id"], user)
    return discounts.preview_on_booking(booking, data["code"])

"""/merchants: admins set up the shops that validate parking, their lots, staff and totals."""

from flask_restx import Namespace, fields

from parkapp.api.common import (
    ID,
    MAX_ID,
    MAX_PER_PAGE,
    NO_NUL,
    Resource,
    error_model,
    iso,
    json_body,
    nullable,
    page_model,
    paginate,
    query_params,
    roles_required,
)
from parkapp.core.exceptions import Invalid
from parkapp.merchants import merchants
from parkapp.models import ADMIN, GiveKind, utcnow

ns = Namespace("merchants", description="Merchants who validate parking (admin)", path="/")
error = error_model(ns)
KINDS = [kind.value for kind in GiveKind]
VALUE_HELP = "full_fee: ignored (0); free_hours: hours (1-72); fixed: cents (1-10000000)"

totals_out = ns.model(
    "MerchantMonth",
    {
        "month": fields.String(example="2026-11", description="YYYY-MM, UTC"),
        "validations": fields.Integer(example=12),
        "amount_cents": fields.Integer(example=4800, description="what priced validations gave"),
    },
)
staff_out = ns.model(
    "MerchantStaffMember",
    {"id": fields.Integer, "email": fields.String, "full_name": fields.String},
)
merchant_out = ns.model(
    "Merchant",
    {
        "id": fields.Integer,
        "name": fields.String(example="Odeon Riverside"),
        "active": fields.Boolean,
        "give_kind": fields.String(enum=KINDS),
        "give_value": fields.Integer(example=2, description=VALUE_HELP),
        "gives": fields.String(example="First 2 h free"),
        "monthly_cap_cents": fields.Integer(description="null: no cap"),
        "billing_email": fields.String(description="null: statements go to the staff"),
        "lot_ids": fields.List(fields.Integer),
        "staff": fields.List(fields.Nested(staff_out)),
        "this_month": fields.Nested(totals_out, description="month to date"),
        "last_month": fields.Nested(totals_out),
        "created_at": fields.DateTime,
    },
)
merchant_page = page_model(ns, "MerchantPage", merchant_out)


def _fields(required):
    return {
        "name": fields.String(
            required=required, min_length=1, max_length=120, pattern=NO_NUL, example="Odeon"
        ),
        "give_kind": fields.String(required=required, enum=KINDS, example="free_hours"),
        "give_value": fields.Integer(min=0, max=10_000_000, example=2, description=VALUE_HELP),
        "monthly_cap_cents": nullable(
            fields.Integer(min=0, max=10_000_000, example=50000, description="null: no cap")
        ),
        "billing_email": nullable(fields.String(max_length=255, pattern=NO_NUL)),
        "lot_ids": fields.List(
            fields.Integer(min=1, max=MAX_ID), max_items=500, description="replaces the lots"
        ),
        "staff_user_ids": fields.List(
            fields.Integer(min=1, max=MAX_ID),
            max_items=200,
            description="replaces the staff: each gets the merchant role (one merchant each)",
        ),
    }


merchant_in = ns.model("MerchantCreate", _fields(True), strict=True)
merchant_changes_in = ns.model(
    "MerchantChanges",
    {**_fields(False), "active": fields.Boolean(description="false: no new validations")},
    strict=True,
)


def _month(merchant_id, month):
    cents, count = merchants.given_cents(merchant_id, month)
    return {"month": month, "validations": count, "amount_cents": cents}


def merchant_dict(merchant, now=None):
    """A merchant as admins see it, with this month's and last month's totals."""
    this_month = merchants.month_of(now or utcnow())
    return {
        "id": merchant.id,
        "name": merchant.name,
        "active": merchant.active,
        "give_kind": merchant.give_kind.value,
        "give_value": merchant.give_value,
        "gives": merchants.describe(merchant),
        "monthly_cap_cents": merchant.monthly_cap_cents,
        "billing_email": merchant.billing_email,
        "lot_ids": [lot.id for lot in merchant.lots],
        "staff": [
            {"id": s.user.id, "email": s.user.email, "full_name": s.user.full_name}
            for s in merchant.staff
        ],
        "this_month": _month(merchant.id, this_month),
        "last_month": _month(merchant.id, merchants.previous_month(this_month)),
        "created_at": iso(merchant.created_at),
    }


def _input(data):
    return merchants.MerchantInput(**data, given=set(data))


@ns.route("/merchants")
class MerchantList(Resource):
    @ns.doc(
        params=query_params(
            page=("integer", "page number, from 1"),
            per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
        )
    )
    @ns.response(200, "Merchants by name, with month-to-date totals", merchant_page)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(422, "Invalid page", error)
    @roles_required(ADMIN)
    def get(self):
        """List merchants (admin)."""
        return paginate(merchants.list_query(), merchant_dict)

    @ns.expect(merchant_in, validate=True)
    @ns.response(201, "Created", merchant_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(409, "Name taken, or a staff member of another merchant", error)
    @ns.response(422, "Invalid field", error)
    @roles_required(ADMIN)
    def post(self):
        """Create a merchant with its lots and staff (admin)."""
        return merchant_dict(merchants.create(_input(json_body()))), 201


@ns.route(f"/merchants/<{ID}:merchant_id>")
@ns.param("merchant_id", "The merchant id")
@ns.response(401, "No valid token", error)
@ns.response(403, "Not an admin", error)
@ns.response(404, "No such merchant", error)
class MerchantItem(Resource):
    @ns.response(200, "The merchant with month-to-date and last month's totals", merchant_out)
    @roles_required(ADMIN)
    def get(self, merchant_id):
        """One merchant (admin)."""
        return merchant_dict(merchants.get(merchant_id))

    @ns.expect(merchant_changes_in, validate=True)
    @ns.response(200, "Changed", merchant_out)
    @ns.response(409, "Name taken, or a staff member of another merchant", error)
    @ns.response(422, "Invalid field or empty change", error)
    @roles_required(ADMIN)
    def patch(self, merchant_id):
        """Change a merchant; lot_ids and staff_user_ids replace the lists (admin)."""
        merchant = merchants.get(merchant_id)
        data = json_body()
        if not data:
            raise Invalid("body", "Give at least one field to change.")
        return merchant_dict(merchants.update(merchant, _input(data)))

"""/validations: merchant staff validate a ticket or confirmation code and list their own."""

from flask import request
from flask_jwt_extended import current_user
from flask_restx import Namespace, fields

from parkapp.api.common import (
    ID,
    MAX_PER_PAGE,
    NO_NUL,
    Resource,
    error_model,
    iso,
    json_body,
    page_model,
    paginate,
    query_params,
    roles_required,
)
from parkapp.billing import validated
from parkapp.core.exceptions import DomainError, Invalid
from parkapp.merchants import merchants as merchant_rules
from parkapp.merchants import validations
from parkapp.models import ADMIN, MERCHANT, BookingStatus

ns = Namespace("validations", description="Merchant validations of parking", path="/")
error = error_model(ns)

validation_out = ns.model(
    "Validation",
    {
        "id": fields.Integer,
        "merchant_id": fields.Integer,
        "merchant_name": fields.String,
        "booking_id": fields.Integer,
        "lot_id": fields.Integer,
        "lot_name": fields.String,
        "ticket": fields.String(description="the gate ticket, else the confirmation code"),
        "validated_by": fields.String,
        "amount_cents": fields.Integer(
            description="what it takes off the stay; null while the stay is open-ended"
        ),
        "amount_now_cents": fields.Integer(
            description="what it takes off as priced now (the recorded amount once priced)"
        ),
        "currency": fields.String(example="GBP"),
        "created_at": fields.DateTime,
        "message": fields.String(example="Validated: 4.00 GBP off ticket T-7KQ2MX4PZ9HD."),
    },
)
validation_page = page_model(ns, "ValidationPage", validation_out)
validation_in = ns.model(
    "ValidationCreate",
    {
        "ticket_number": fields.String(max_length=40, pattern=NO_NUL, example="T-7KQ2MX4PZ9HD"),
        "confirmation_code": fields.String(max_length=40, pattern=NO_NUL, example="7KQ2MX4PZ9"),
    },
    strict=True,
)


def validation_dict(validation):
    """A validation with what it gives: recorded, else as priced now when that is final."""
    booking = validation.booking
    now_cents = validation.amount_cents  # recorded: the stay is priced, no bill to work out
    if now_cents is None:
        now_cents = validated.amount_now(validation)
    open_ended = booking.status == BookingStatus.ACTIVE and booking.booked_ends_at is None
    amount = validation.amount_cents
    if amount is None and not open_ended:
        amount = now_cents
    ticket = booking.ticket_number or booking.confirmation_code
    return {
        "id": validation.id,
        "merchant_id": validation.merchant_id,
        "merchant_name": validation.merchant.name,
        "booking_id": booking.id,
        "lot_id": booking.lot_id,
        "lot_name": booking.lot.name,
        "ticket": ticket,
        "validated_by": validation.validated_by.display_name if validation.validated_by else None,
        "amount_cents": amount,
        "amount_now_cents": now_cents,
        "currency": validation.currency,
        "created_at": iso(validation.created_at),
        "message": validated.words(validation, amount, now_cents, ticket),
    }


@ns.route("/validations")
class ValidationList(Resource):
    @ns.doc(
        params=query_params(
            month=("string", "YYYY-MM (UTC): only validations made that month"),
            page=("integer", "page number, from 1"),
            per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
        )
    )
    @ns.response(200, "Validations, newest first: your merchant's (admins: all)", validation_page)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not a merchant's staff or an admin", error)
    @ns.response(422, "Invalid filter", error)
    @roles_required(MERCHANT, ADMIN)
    def get(self):
        """List validations: staff see their own merchant's, admins every merchant's."""
        month = request.args.get("month", "").strip()
        since = until = None
        if month:
            if len(month) != 7:
                raise Invalid("month", "Give a month as YYYY-MM.")
            since, until = merchant_rules.month_bounds(month)
        return paginate(validations.visible_query(current_user, since, until), validation_dict)

    @ns.expect(validation_in, validate=True)
    @ns.response(201, "Validated; the amount it gives when known", validation_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not a merchant's staff, or the merchant is inactive", error)
    @ns.response(404, "No stay with this code at the merchant's car parks", error)
    @ns.response(
        409,
        "already_validated, cap_reached (the monthly cap), or not_validatable (cancelled)",
        error,
    )
    @ns.response(422, "Not a ticket number or confirmation code", error)
    @roles_required(MERCHANT)
    def post(self):
        """Validate a customer's parking by gate ticket or booking confirmation code."""
        data = json_body()
        if ("ticket_number" in data) == ("confirmation_code" in data):
            raise Invalid("ticket_number", "Give either ticket_number or confirmation_code.")
        field = "ticket_number" if "ticket_number" in data else "confirmation_code"
        try:
            validation = validations.validate(current_user, data[field])
        except DomainError as exc:  # name the field the caller sent
            errors = getattr(exc, "errors", None)
            if isinstance(errors, dict) and validations.FIELD in errors:
                exc.errors = {field: errors[validations.FIELD]}
            raise
        return validation_dict(validation), 201


@ns.route(f"/validations/<{ID}:validation_id>")
@ns.param("validation_id", "The validation id")
class ValidationItem(Resource):
    @ns.response(200, "The validation", validation_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not a merchant's staff or an admin", error)
    @ns.response(404, "No such validation (or another merchant's)", error)
    @roles_required(MERCHANT, ADMIN)
    def get(self, validation_id):
        """One validation: your merchant's (admins: any)."""
        return validation_dict(validations.get(validation_id, current_user))

"""/payments: take a payment (gate staff) or prepay online (drivers), receipts, Stripe's webhook.

Every payment carries an idempotency key: the client's `Idempotency-Key` header, or one the
server makes. A retry with the same key answers the first payment and creates nothing.
"""

from io import BytesIO

from flask import request, send_file, url_for
from flask_jwt_extended import current_user, jwt_required
from flask_restx import Namespace, fields

from parkapp.api.common import (
    ID,
    MAX_ID,
    NO_NUL,
    Resource,
    arg_int,
    error_model,
    iso,
    json_body,
    money,
    money_model,
    nullable,
    page_model,
    paginate,
    query_params,
)
from parkapp.billing import discounts, payments, receipts, stripe_checkout
from parkapp.booking import queries
from parkapp.core.exceptions import Forbidden
from parkapp.models import PaymentMethod, PaymentStatus
from parkapp.web.checkout import checkout_return_urls

ns = Namespace("payments", description="Payments, receipts and refunds", path="/")
error = error_model(ns)
money_out = money_model(ns)
METHODS = [method.value for method in PaymentMethod]
KEY_HEADER = {
    "Idempotency-Key": {
        "in": "header",
        "type": "string",
        "description": "up to 80 characters; a retry with the same key creates nothing new",
    }
}

payment_in = ns.model(
    "PaymentRequest",
    {
        "booking_id": fields.Integer(required=True, min=1, max=MAX_ID, example=12),
        "method": fields.String(
            required=True,
            enum=METHODS,
            description="online: the booking's driver; cash, card, mobile: gate staff",
        ),
        "amount_cents": fields.Integer(
            required=True, min=1, max=1_000_000_000, example=600, description="exactly the due"
        ),
        "discount_code": nullable(
            fields.String(max_length=32, pattern=NO_NUL, description="applied before paying")
        ),
    },
    strict=True,
)
refund_out = ns.model(
    "Refund",
    {
        "amount": fields.Nested(money_out),
        "reason": fields.String(example="Reservation cancelled"),
        "created_at": fields.DateTime,
    },
)
payment_out = ns.model(
    "Payment",
    {
        "id": fields.Integer,
        "booking_id": fields.Integer,
        "method": fields.String(enum=METHODS),
        "status": fields.String(enum=[status.value for status in PaymentStatus]),
        "amount": fields.Nested(money_out),
        "refunded": fields.Nested(money_out),
        "discount": fields.Nested(money_out, description="the promo code's share of this payment"),
        "receipt_number": fields.String(example="R-20261123-7KQ2MX"),
        "receipt_url": fields.String(description="the PDF, once paid"),
        "checkout_url": fields.String(description="pending Stripe payments: where to pay"),
        "idempotency_key": fields.String,
        "created_at": fields.DateTime,
        "paid_at": fields.DateTime,
        "refunds": fields.List(fields.Nested(refund_out)),
    },
)
payment_page = page_model(ns, "PaymentPage", payment_out)


def payment_dict(payment, with_checkout=True):
    """A payment as the API shows it (the checkout address costs a Stripe look-up)."""
    currency = payment.currency
    settled = payment.status in payments.SETTLED
    pending = payment.status == PaymentStatus.PENDING
    return {
        "id": payment.id,
        "booking_id": payment.booking_id,
        "method": payment.method.value,
        "status": payment.status.value,
        "amount": money(payment.amount_cents, currency),
        "refunded": money(payment.refunded_cents or 0, currency),
        "discount": money(payment.discount_cents or 0, currency),
        "receipt_number": payment.receipt_number,
        "receipt_url": url_for("api.payment_receipt", payment_id=payment.id) if settled else None,
        "checkout_url": stripe_checkout.checkout_url(payment)
        if pending and with_checkout
        else None,
        "idempotency_key": payment.idempotency_key,
        "created_at": iso(payment.created_at),
        "paid_at": iso(payment.paid_at),
        "refunds": [
            {
                "amount": money(refund.amount_cents, currency),
                "reason": refund.reason,
                "created_at": iso(refund.created_at),
            }
            for refund in payment.refunds
        ],
    }


def _apply_code(booking, code, key):
    """Apply a promo code before paying, unless this is a retry or the code is on already."""
    if not code or payments.by_key(key) is not None:
        return
    if booking.discount is not None and booking.discount.code == code.strip().upper():
        return
    discounts.apply_to_booking(booking, code, current_user)


@ns.route("/payments")
class PaymentList(Resource):
    @ns.doc(
        params=query_params(
            booking_id=("integer", "only this booking's payments"),
            page=("integer", "page number"),
            per_page=("integer", "items per page"),
        )
    )
    @ns.response(200, "Your payments (admins: everyone's), newest first", payment_page)
    @ns.response(401, "No valid token", error)
    @ns.response(422, "Invalid filter", error)
    @jwt_required()
    def get(self):
        """List payments: on your bookings, or taken by you; admins see all."""
        booking_id = arg_int("booking_id", None, 1, MAX_ID)
        query = payments.payments_query(current_user, booking_id)
        return paginate(query, lambda payment: payment_dict(payment, with_checkout=False))

    @ns.doc(params=KEY_HEADER)
    @ns.expect(payment_in, validate=True)
    @ns.response(201, "Paid, or pending at Stripe Checkout (see checkout_url)", payment_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Drivers pay online; cash, card and mobile are for gate staff", error)
    @ns.response(404, "No such booking of yours", error)
    @ns.response(409, "Nothing due, key used for another booking, or a checkout open", error)
    @ns.response(422, "Wrong amount (the message names the due) or invalid field", error)
    @ns.response(503, "The card payment service is unavailable; nothing was changed", error)
    @jwt_required()
    def post(self):
        """Pay exactly the amount due on a booking, once per Idempotency-Key."""
        data = json_body()
        booking = queries.get_booking(data["booking_id"], current_user)
        method = PaymentMethod(data["method"])
        key = payments.check_key(request.headers.get("Idempotency-Key") or payments.new_key())
        if method == PaymentMethod.ONLINE:
            if not booking.is_owner(current_user):
                raise Forbidden("Only the booking's driver pays online.")
            _apply_code(booking, data.get("discount_code"), key)
            payment = payments.prepay(
                booking,
                current_user,
                amount_cents=data["amount_cents"],
                idempotency_key=key,
                return_urls=checkout_return_urls(booking),
            )
        else:
            if not current_user.is_operator:
                raise Forbidden("Cash, card and mobile payments are taken by gate staff.")
            _apply_code(booking, data.get("discount_code"), key)
            payment = payments.pay(
                booking,
                method=method,
                amount_cents=data["amount_cents"],
                idempotency_key=key,
                operator=current_user,
            )
        return payment_dict(payment), 201


@ns.route(f"/payments/<{ID}:payment_id>", endpoint="payment")
@ns.param("payment_id", "The payment id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such payment of yours", error)
class PaymentItem(Resource):
    @ns.response(200, "The payment with its refunds", payment_out)
    @jwt_required()
    def get(self, payment_id):
        """One payment (yours, or any for gate staff)."""
        return payment_dict(payments.get_payment(payment_id, current_user))


@ns.route(f"/payments/<{ID}:payment_id>/receipt", endpoint="payment_receipt")
@ns.param("payment_id", "The payment id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such payment of yours", error)
@ns.response(409, "Not paid (yet)", error)
class PaymentReceipt(Resource):
    @ns.produces(["application/pdf"])
    @ns.response(200, "The PDF receipt")
    @jwt_required()
    def get(self, payment_id):
        """The PDF receipt of a paid payment (owner, operator, admin)."""
        payment = payments.get_payment(payment_id, current_user)
        return send_file(
            BytesIO(receipts.receipt_pdf(payment)),
            mimetype="application/pdf",
            as_attachment=True,
            download_name=receipts.file_name(payment),
            max_age=0,
        )


@ns.route("/payments/stripe/webhook", doc=False)  # Stripe's callback, not a client operation
class StripeWebhook(Resource):
    def post(self):
        """Stripe's events about Checkout sessions, verified by their signature."""
        kind, session = stripe_checkout.verified_event(
            request.get_data(), request.headers.get("Stripe-Signature")
        )
        payments.handle_stripe_event(kind, session)
        return {"received": True}

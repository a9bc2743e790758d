"""Driver pages for payments: pay a booking online, come back from Stripe, download receipts.

"Pay now" posts the amount the driver saw and a key made when the page was drawn, so a
double submit pays once. With Stripe configured the driver is sent to Checkout and comes
back to `checkout_return`, which asks Stripe how it went in case the webhook is slower.
Without Stripe (test mode) the payment is recorded at once and no card is charged.
"""

from contextlib import suppress
from io import BytesIO

from flask import current_app, flash, redirect, request, send_file, url_for
from flask_security import auth_required, current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired, Length, NumberRange
from wtforms.widgets import HiddenInput

from parkapp.billing import bills as billing
from parkapp.billing import payments, receipts, refunds, stripe_checkout
from parkapp.booking import queries
from parkapp.core.exceptions import Conflict, DomainError, NotFound
from parkapp.core.money import money
from parkapp.models import PaymentStatus
from parkapp.user.blueprint import bp
from parkapp.web.checkout import checkout_return_urls


class PayForm(FlaskForm):
    """The amount shown on the page and the payment's idempotency key, both hidden."""

    amount_cents = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(1)])
    idempotency_key = HiddenField(validators=[InputRequired(), Length(max=80)])


def online_available():
    """Whether drivers can pay online: through Stripe, or recorded at once in test mode."""
    return stripe_checkout.configured() or bool(current_app.config.get("PAYMENTS_TEST_MODE"))


@bp.context_processor
def _payment_helpers():
    def payment_panel(booking):
        """The booking page's payment box: what is due, the Pay button, payments made."""
        if not current_user.is_authenticated:
            return None
        payable = booking.status in payments.PAYABLE
        bill = billing.bill(booking) if payable else None
        due = bill.due_cents if bill else 0
        form = None
        if due and booking.is_owner(current_user) and online_available():
            form = PayForm(
                formdata=None, data={"amount_cents": due, "idempotency_key": payments.new_key()}
            )
        return {
            "bill": bill,
            "due": due,
            "form": form,
            "test_mode": not stripe_checkout.configured(),
            "payments": list(booking.payments),
        }

    return {"payment_panel": payment_panel, "refund_policy": refunds.policy_text}


def _own_booking(booking_id):
    booking = queries.get_booking(booking_id, current_user)
    if not booking.is_owner(current_user):
        raise NotFound("No such booking.")
    return booking


@bp.post("/bookings/<int:booking_id>/pay")
@auth_required("session")
def pay_now(booking_id):
    """Pay what is due online: off to Stripe Checkout, or recorded at once in test mode."""
    booking = _own_booking(booking_id)
    back = url_for("user.booking_detail", booking_id=booking.id, _anchor="payments")
    form = PayForm()
    if not form.validate_on_submit():
        flash("The payment form was incomplete; please try again.", "error")
        return redirect(back)
    try:
        payment = payments.prepay(
            booking,
            current_user,
            amount_cents=form.amount_cents.data,
            idempotency_key=form.idempotency_key.data,
            return_urls=checkout_return_urls(booking),
        )
    except Conflict as exc:
        if exc.code == "checkout_open":  # pay in the checkout already open
            url = stripe_checkout.checkout_url(payments.open_checkout_of(booking))
            if url:
                return redirect(url, code=303)
        flash(exc.words, "error")
        return redirect(back)
    except DomainError as exc:
        flash(exc.words, "error")
        return redirect(back)
    if payment.status == PaymentStatus.PENDING:
        url = stripe_checkout.checkout_url(payment)
        if url:
            return redirect(url, code=303)
        flash("The checkout could not be opened; please try again in a minute.", "error")
    elif payment.status == PaymentStatus.PAID:
        note = (
            " Online payments are in test mode: no card was charged."
            if not payment.provider
            else ""
        )
        flash(f"Paid {money(payment.amount_cents, payment.currency)} online.{note}", "success")
    return redirect(back)


@bp.get("/bookings/<int:booking_id>/checkout-return")
@auth_required("session")
def checkout_return(booking_id):
    """Back from Stripe Checkout: settle the checkout with Stripe and say how it went."""
    booking = _own_booking(booking_id)
    if stripe_checkout.configured():
        with suppress(DomainError):  # the webhook settles it later; the page says it waits
            payments.settle_open_checkouts(booking)
    session_id = request.args.get("session_id", "")
    done = next((p for p in booking.payments if p.provider_ref == session_id), None)
    if done is not None and done.status in payments.SETTLED:
        flash(f"Payment of {money(done.amount_cents, done.currency)} received.", "success")
    elif done is not None and done.status == PaymentStatus.PENDING:
        flash("Your payment is being confirmed; this page shows it once it is.", "info")
    else:
        flash("The payment was not completed.", "error")
    return redirect(url_for("user.booking_detail", booking_id=booking.id, _anchor="payments"))


@bp.get("/payments/<int:payment_id>/receipt")
@auth_required("session")
def payment_receipt(payment_id):
    """The PDF receipt of a payment (its driver, gate staff)."""
    payment = payments.get_payment(payment_id, current_user)
    return send_file(
        BytesIO(receipts.receipt_pdf(payment)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=receipts.file_name(payment),
        max_age=0,
    )

"""Refunds: the per-lot cancellation policy, and money given back on a payment.

A cancelled reservation is refunded in full while `now <= starts_at - refund_hours_before`
hours, and not at all after that, or ever when the lot's policy is NULL. The refund rows,
the payment's `refunded_cents` and its status change in the cancellation's transaction; a
Stripe payment is refunded through Stripe first (see `stripe_checkout` for its errors).
"""

from datetime import timedelta

from sqlalchemy import func, select

from parkapp.billing import stripe_checkout
from parkapp.core.money import money
from parkapp.extensions import db
from parkapp.models import Payment, PaymentStatus, Refund, utcnow

CANCELLED = "Reservation cancelled"
OVERPAID = "Paid more than was due"
PAID_AFTER_CANCEL = "Paid after the booking was cancelled"
CHANGED = "Booking changed to a lower price"


def policy_text(lot):
    """The lot's refund policy in words, for drivers."""
    hours = lot.refund_hours_before
    if hours is None:
        return "Cancelled reservations are not refunded."
    if hours == 0:
        return "Cancel before the start for a full refund; no refund after that."
    return f"Cancel at least {hours} h before the start for a full refund; no refund after that."


def refundable(booking, now):
    """Whether cancelling `booking` at `now` gets its payments back under the lot's policy."""
    hours = booking.lot.refund_hours_before
    return hours is not None and now <= booking.starts_at - timedelta(hours=hours)


def refund(payment, amount_cents, reason, key, now=None):
    """Give back `amount_cents` of a paid payment, in the caller's transaction.

    A Stripe payment is refunded through Stripe with an idempotency key made of `key` and
    the payment, so the same refund asked twice is made once.
    """
    provider_ref = None
    if payment.provider == stripe_checkout.PROVIDER:
        provider_ref = stripe_checkout.refund(
            payment, amount_cents, f"parkapp-refund-{payment.id}-{key}"
        )
    row = Refund(
        payment=payment,
        amount_cents=amount_cents,
        reason=reason,
        provider_ref=provider_ref,
        created_at=now or utcnow(),
    )
    db.session.add(row)
    payment.refunded_cents = (payment.refunded_cents or 0) + amount_cents
    if payment.refunded_cents == payment.amount_cents:
        payment.status = PaymentStatus.REFUNDED
    return row


def settle_cancelled(session, booking, now):
    """Close the booking's open checkouts and refund what the policy gives back.

    Runs inside the cancellation's transaction, the booking row locked.
    """
    session.expire(booking, ["payments"])
    for payment in booking.payments:
        if payment.status == PaymentStatus.PENDING:
            if payment.provider_ref:
                stripe_checkout.expire(payment.provider_ref)  # best effort: it expires anyway
            payment.status = PaymentStatus.FAILED
    if refundable(booking, now):
        for payment in booking.payments:
            if payment.status == PaymentStatus.PAID and payment.net_cents > 0:
                refund(payment, payment.net_cents, CANCELLED, "cancel", now)
    session.flush()


def refund_excess(session, booking, price_cents, now):
    """Give back what was paid above `price_cents` (newest payment first); return the Refunds.

    Runs inside the change's transaction, the booking row locked; the caller applies the
    lot's policy first.
    """
    session.expire(booking, ["payments"])
    excess = sum(p.net_cents for p in booking.payments) - price_cents
    made = []
    for payment in reversed(booking.payments):
        if excess <= 0:
            break
        if payment.status == PaymentStatus.PAID and payment.net_cents > 0:
            amount = min(payment.net_cents, excess)
            made.append(refund(payment, amount, CHANGED, f"change-{now:%Y%m%d%H%M%S%f}", now))
            excess -= amount
    session.flush()
    return made


def cancellation_refund_cents(booking):
    """What the cancellation of `booking` gave back, in cents."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_cents), 0))
        .join(Payment, Refund.payment_id == Payment.id)
        .where(Payment.booking_id == booking.id, Refund.reason == CANCELLED)
    )


def cancellation_note(booking):
    """What a cancellation did about money, in words, or None when nothing had been paid."""
    refunded = cancellation_refund_cents(booking)
    if refunded:
        return f"Refunded {money(refunded, booking.currency)}."
    if not any(payment.net_cents for payment in booking.payments):
        return None
    hours = booking.lot.refund_hours_before
    if hours is None:
        return "No refund: this car park does not refund cancellations."
    return f"No refund: cancelled less than {hours} h before the start."

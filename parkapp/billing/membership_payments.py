"""Paying for membership terms: a term is granted only against a payment of its own.

Like a booking's online payment: in test mode (PAYMENTS_TEST_MODE, no Stripe key) the
payment is recorded paid at once with no card charged; with Stripe it is a pending Checkout
payment and the term applies when the signed webhook says it was paid; with neither,
subscribing and renewing are refused (503 `payments_unavailable`) and nothing is created.
Auto-renewal can only charge in test mode (a Checkout needs the driver there): otherwise
the membership ends and the driver renews by hand.
"""

import secrets

from flask import current_app
from sqlalchemy import select

from parkapp.billing import stripe_checkout
from parkapp.core import hooks, links
from parkapp.core.codes import new_code
from parkapp.core.exceptions import Invalid
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.memberships import subscriptions
from parkapp.memberships.subscriptions import (
    AUTO_RENEW,
    PAID,
    PENDING,
    RENEW,
    SUBSCRIBE,
    PaymentsUnavailable,
)
from parkapp.models import MembershipPayment, MembershipStatus, PaymentStatus, utcnow

TEST, STRIPE = "test", "stripe"


def listen():
    """Answer the memberships' `membership_term_due` hook (the app factory connects it)."""
    hooks.membership_term_due.connect(_term_due, weak=False)


def _term_due(_sender, session, membership, purpose, key, now):
    """Record the payment of one term: "paid" in test mode, "pending" with a Checkout.

    Auto-renewal gets no answer unless in test mode (nobody is there for a Checkout);
    otherwise no way to take money raises PaymentsUnavailable, rolling the grant back.
    """
    if purpose == AUTO_RENEW:
        if mode() != TEST:
            return None
        take(session, membership, RENEW, key, now, TEST)
        return PAID
    payment_mode = require_mode()
    take(session, membership, purpose, key, now, payment_mode)
    return PAID if payment_mode == TEST else PENDING


def mode():
    """How money is taken now: "stripe", "test", or None when it cannot be."""
    if stripe_checkout.configured():
        return STRIPE
    return TEST if current_app.config.get("PAYMENTS_TEST_MODE") else None


def require_mode():
    """The payment mode, or PaymentsUnavailable before anything is created."""
    current = mode()
    if current is None:
        raise PaymentsUnavailable(
            "Memberships cannot be paid for right now (no payment service is set up); "
            "nothing was charged or created."
        )
    return current


def new_receipt_number(now):
    """A receipt number like a booking payment's, M-prefixed: M-20261123-7KQ2MX."""
    return f"M-{now:%Y%m%d}-{new_code(6)}"


def _return_urls():
    page = links.link("memberships")
    if page is None:  # no request and no PUBLIC_URL: Stripe still needs absolute addresses
        page = "https://parkapp.invalid/memberships"
    return page + "?checkout=done", page + "?checkout=cancelled"


def take(session, membership, purpose, key, now, payment_mode):
    """Add the payment for one term of `membership` in the caller's transaction.

    Test mode: paid now. Stripe: pending, its Checkout opened (a Stripe failure raises
    ProviderUnavailable and the caller's transaction, membership included, rolls back).
    """
    plan = membership.plan
    payment = MembershipPayment(
        membership=membership,
        user_id=membership.user_id,
        purpose=purpose,
        status=PaymentStatus.PAID if payment_mode == TEST else PaymentStatus.PENDING,
        amount_cents=plan.price_cents,
        currency=plan.currency,
        idempotency_key=key or f"srv-{secrets.token_urlsafe(24)}",
        receipt_number=new_receipt_number(now),
        provider=stripe_checkout.PROVIDER if payment_mode == STRIPE else None,
        created_at=now,
        paid_at=now if payment_mode == TEST else None,
    )
    session.add(payment)
    session.flush()
    if payment_mode == STRIPE:
        payment.provider_ref, _ = stripe_checkout.open_checkout_for(
            payment,
            f"parkapp membership: {plan.name}",
            f"{'Renewal' if purpose == RENEW else 'First term'}, {plan.duration_months} month(s)",
            {"membership_payment_id": str(payment.id), "membership_id": str(membership.id)},
            membership.user.email,
            _return_urls(),
        )
        session.flush()
    return payment


def latest(membership):
    """The membership's most recent payment, or None."""
    return membership.payments[-1] if membership.payments else None


def checkout_url(payment):
    return stripe_checkout.checkout_url(payment) if payment is not None else None


# -- Stripe's webhook --------------------------------------------------------------------


def of_session(session):
    """The membership payment a Checkout session belongs to, or None."""
    session_id = session.get("id")
    if not isinstance(session_id, str):
        return None
    return db.session.scalar(select(MembershipPayment).filter_by(provider_ref=session_id))


def handle_event(kind, session, payment, now=None):
    """Apply a verified Checkout event to a membership payment (each event once)."""
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        return completed(session, payment, now)
    if kind in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        return failed(payment)
    return payment


def completed(session, payment, now=None):
    """Mark the payment paid and grant its term: start a pending membership, or renew."""
    if session.get("payment_status") != "paid":
        return payment
    if session.get("amount_total") != payment.amount_cents or (
        str(session.get("currency", "")).upper() != payment.currency
    ):
        raise Invalid("amount_total", "The amount paid does not match the payment.")
    now = now or utcnow()
    with write_transaction() as db_session:
        membership = payment.membership
        db_session.refresh(membership, with_for_update=True)
        db_session.refresh(payment)
        if payment.status != PaymentStatus.PENDING:
            return payment  # the same event again
        payment.status, payment.paid_at = PaymentStatus.PAID, now
        if payment.purpose == SUBSCRIBE:
            membership.status = MembershipStatus.ACTIVE
            membership.starts_at = now
            membership.ends_at = subscriptions.add_months(now, membership.plan.duration_months)
            membership.total_paid_cents += payment.amount_cents
            membership.paid_at = now
        else:
            subscriptions.extend(membership, now, payment.amount_cents)
    hooks.membership_paid.send(None, membership_id=payment.membership_id)
    return payment


def failed(payment):
    """A checkout that expired unpaid: its payment failed, a membership waiting on it ended."""
    with write_transaction() as db_session:
        db_session.refresh(payment, with_for_update=True)
        if payment.status != PaymentStatus.PENDING:
            return payment
        payment.status = PaymentStatus.FAILED
        membership = payment.membership
        if payment.purpose == SUBSCRIBE and membership.status == MembershipStatus.PENDING:
            membership.status = MembershipStatus.EXPIRED
            membership.auto_renew = False
    return payment

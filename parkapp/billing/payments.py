"""Payments: money taken at the gate or online, exactly once per idempotency key.

Gate payments (cash, card, mobile) and online payments in test mode are paid when they
are recorded. With Stripe configured, an online payment starts `pending` with a Checkout
session; Stripe's signed webhook (or a look-up when the driver comes back) marks it paid
or failed. A booking has at most one open checkout at a time.
"""

import secrets

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from parkapp.billing import bills as billing
from parkapp.billing import membership_payments, refunds, stripe_checkout, validated
from parkapp.core import hooks
from parkapp.core.codes import new_code
from parkapp.core.exceptions import Conflict, Invalid, NotFound, WrongState
from parkapp.core.money import money
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Payment, PaymentMethod, PaymentStatus, utcnow

PAYABLE = (BookingStatus.RESERVED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)
SETTLED = (PaymentStatus.PAID, PaymentStatus.REFUNDED)
MAX_KEY_LENGTH = 80


def parse_method(method):
    """A PaymentMethod, or Invalid naming the accepted ones."""
    try:
        return PaymentMethod(method)
    except ValueError:
        accepted = ", ".join(m.value for m in PaymentMethod)
        raise Invalid("method", f"Payment method must be one of: {accepted}.") from None


def check_key(key):
    """An idempotency key as given, or Invalid."""
    key = (key or "").strip() if isinstance(key, str) else ""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(
            "idempotency_key", f"Give a key of 1 to {MAX_KEY_LENGTH} printable characters."
        )
    return key


def new_key():
    """A fresh idempotency key, for a payment whose client sent none."""
    return f"srv-{secrets.token_urlsafe(24)}"


def by_key(key):
    return db.session.scalar(select(Payment).filter_by(idempotency_key=key))


def pay(booking, *, method, amount_cents, idempotency_key, payer=None, operator=None, now=None):
    """Record a paid payment of exactly the amount due on `booking`; return the Payment.

    The same `idempotency_key` again returns the first payment and creates nothing; a key
    already used for another booking is a conflict. A wrong amount is Invalid (422) and
    names the amount due; nothing due is WrongState (409). The booking row is locked, so
    two payments racing for one bill cannot both be taken.
    """
    return _take(booking, parse_method(method), amount_cents, idempotency_key, payer, operator, now)


def prepay(booking, user, *, amount_cents, idempotency_key, return_urls=None, now=None):
    """The driver's online payment for their own booking; return the Payment.

    With Stripe: a pending payment and its Checkout session (`return_urls` is the pair of
    addresses Stripe sends the driver back to: paid, and gave up). Without Stripe, in test
    mode: paid at once, no card charged; outside test mode online payment is refused.
    """
    if not booking.is_owner(user):
        raise NotFound("No such booking.")
    key = check_key(idempotency_key)
    existing = _replay(key, booking)
    if existing is not None:
        return existing
    if not stripe_checkout.configured():
        if not current_app.config.get("PAYMENTS_TEST_MODE"):
            raise WrongState("Online payment is not available; pay at the gate.", code="no_online")
        return _take(booking, PaymentMethod.ONLINE, amount_cents, key, user, None, now)
    settle_open_checkouts(booking, amount_cents)

    def checkout(payment):
        success, cancel = return_urls
        payment.provider_ref, _ = stripe_checkout.open_checkout(payment, booking, success, cancel)

    return _take(booking, PaymentMethod.ONLINE, amount_cents, key, user, None, now, checkout)


def _take(booking, method, amount_cents, key, payer, operator, now, checkout=None):
    key = check_key(key)
    existing = _replay(key, booking)
    if existing is not None:
        return existing
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
        raise Invalid("amount_cents", "Give the amount as a whole number of cents.")
    now = now or utcnow()
    try:
        with write_transaction() as session:
            session.refresh(booking, with_for_update=True)
            session.expire(booking, ["payments"])
            validated.fit_to_cap(booking)  # before the amount due is checked against the bill
            bill = _check_due(booking, amount_cents, now)
            if checkout is not None and open_checkout_of(booking) is not None:
                raise Conflict(
                    "A checkout for this booking is already open; finish it or let it expire.",
                    code="checkout_open",
                )
            payment = Payment(
                booking_id=booking.id,
                user_id=payer.id if payer is not None else booking.user_id,
                operator_id=operator.id if operator is not None else None,
                method=method,
                status=PaymentStatus.PAID if checkout is None else PaymentStatus.PENDING,
                amount_cents=amount_cents,
                discount_cents=_new_discount_cents(booking, bill),
                currency=bill.currency,
                idempotency_key=key,
                receipt_number=new_receipt_number(now),
                provider=None if checkout is None else stripe_checkout.PROVIDER,
                created_at=now,
                paid_at=now if checkout is None else None,
            )
            session.add(payment)
            validated.note(booking, bill)  # what a merchant's validation took off, as paid
            session.flush()
            if checkout is not None:
                checkout(payment)
                session.flush()
    except IntegrityError:
        db.session.rollback()
        existing = _replay(key, booking)  # the same key won a race a moment ago
        if existing is None:
            raise
        return existing
    if payment.status == PaymentStatus.PAID:
        hooks.booking_mail.send(None, event="payment", booking_id=booking.id, ref=str(payment.id))
    return payment


def _check_due(booking, amount_cents, now):
    """The booking's bill, once it is payable and `amount_cents` is exactly what is due."""
    if booking.status not in PAYABLE:
        raise WrongState(f"This booking is {booking.status.value}; nothing can be paid on it.")
    bill = billing.bill(booking, now)
    if bill.due_cents == 0:
        raise WrongState("Nothing is due on this booking.", code="nothing_due")
    if amount_cents != bill.due_cents:
        due = money(bill.due_cents, bill.currency)
        raise Invalid(
            "amount_cents",
            f"The amount due is {due} ({bill.due_cents} cents).",
            f"Wrong amount: {due} is due.",
        )
    return bill


def _new_discount_cents(booking, bill):
    """The part of the booking's discount not yet counted on an earlier payment."""
    total = -sum(line.amount_cents for line in bill.quote.lines if line.amount_cents < 0)
    counted = sum(p.discount_cents or 0 for p in booking.payments if p.status in SETTLED)
    return max(0, total - counted)


def _replay(key, booking):
    existing = by_key(key)
    if existing is not None and existing.booking_id != booking.id:
        raise Conflict(
            "This idempotency key was already used for another payment.",
            code="idempotency_key_reused",
            errors={"idempotency_key": ["Already used for another booking."]},
        )
    return existing


def new_receipt_number(now):
    """A receipt number people can read out: R-20261123-7KQ2MX."""
    tail = new_code(6)
    return f"R-{now:%Y%m%d}-{tail}"


# -- Stripe Checkout outcomes -----------------------------------------------------------


def open_checkout_of(booking):
    """The booking's pending online payment, if a checkout is open for it."""
    return next((p for p in booking.payments if p.status == PaymentStatus.PENDING), None)


def settle_open_checkouts(booking, amount_cents=None):
    """Bring the booking's pending payments up to date with Stripe.

    A completed checkout is marked paid, an expired one failed; an open one for another
    amount than `amount_cents` (the bill has grown since) is closed so a new one can start.
    """
    db.session.expire(booking, ["payments"])
    for payment in [p for p in booking.payments if p.status == PaymentStatus.PENDING]:
        session = stripe_checkout.retrieve(payment.provider_ref)
        status = session.get("status")
        stale = status == "open" and amount_cents not in (None, session.get("amount_total"))
        if status == "complete":
            checkout_completed(session)
        elif status == "expired" or (stale and stripe_checkout.expire(session["id"])):
            checkout_failed(session)
    db.session.expire(booking, ["payments"])


def handle_stripe_event(kind, session):
    """Apply a verified webhook event to its payment; other event types are ignored."""
    membership_payment = membership_payments.of_session(session)
    if membership_payment is not None:
        return membership_payments.handle_event(kind, session, membership_payment)
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        checkout_completed(session)
    elif kind in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        checkout_failed(session)


def _payment_of(session):
    session_id = session.get("id")
    if not isinstance(session_id, str):
        raise Invalid("id", "The event names no checkout session.")
    return db.session.scalar(select(Payment).filter_by(provider_ref=session_id))


def checkout_completed(session, now=None):
    """Mark the checkout's payment paid, once; give back what is no longer due.

    The amount Stripe took must be the payment's amount (422 otherwise, nothing changes).
    Money taken for a booking cancelled meanwhile, or already paid otherwise, is refunded.
    """
    payment = _payment_of(session)
    if payment is None or session.get("payment_status") != "paid":
        return payment  # not ours, or an asynchronous method still under way
    if session.get("amount_total") != payment.amount_cents or (
        str(session.get("currency", "")).upper() != payment.currency
    ):
        raise Invalid("amount_total", "The amount paid does not match the payment.")
    now = now or utcnow()
    with write_transaction() as db_session:
        booking = payment.booking
        db_session.refresh(booking, with_for_update=True)
        db_session.refresh(payment)
        db_session.expire(booking, ["payments"])
        if payment.status in SETTLED:
            return payment  # the same event again
        cancelled = booking.status == BookingStatus.CANCELLED
        due = 0 if cancelled else billing.bill(booking, now).due_cents
        payment.status, payment.paid_at = PaymentStatus.PAID, now
        excess = payment.amount_cents - min(due, payment.amount_cents)
        refund = None
        if excess:
            reason = refunds.PAID_AFTER_CANCEL if cancelled else refunds.OVERPAID
            refund = refunds.refund(payment, excess, reason, "excess", now)
        db_session.flush()
        refund_id = refund.id if refund is not None else None
    hooks.booking_mail.send(None, event="payment", booking_id=booking.id, ref=str(payment.id))
    if refund_id is not None:
        hooks.booking_mail.send(None, event="refund", booking_id=booking.id, ref=str(refund_id))
    return payment


def checkout_failed(session):
    """Mark a pending checkout's payment failed (a paid one stays paid)."""
    payment = _payment_of(session)
    if payment is None:
        return None
    with write_transaction() as db_session:
        db_session.refresh(payment, with_for_update=True)
        if payment.status == PaymentStatus.PENDING:
            payment.status = PaymentStatus.FAILED
    return payment


# -- reading payments --------------------------------------------------------------------


def can_view(payment, user):
    """The payer, the booking's driver, and gate staff may see a payment."""
    return payment.user_id == user.id or payment.booking.can_view(user)


def get_payment(payment_id, user):
    """A payment the user may see, or NotFound."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or not can_view(payment, user):
        raise NotFound("No such payment.")
    return payment


def payments_query(user, booking_id=None):
    """A select of payments, newest first: everyone's for admins, else the user's own."""
    query = (
        select(Payment)
        .join(Booking, Payment.booking_id == Booking.id)
        .options(selectinload(Payment.refunds))  # each payment's answer lists its refunds
    )
    if not user.is_admin:
        query = query.where(
            or_(
                Booking.user_id == user.id,
                Payment.user_id == user.id,
                Payment.operator_id == user.id,
            )
        )
    if booking_id is not None:
        query = query.where(Payment.booking_id == booking_id)
    return query.order_by(Payment.id.desc())

"""Payments: money taken at the gate or online, exactly once per idempotency key."""

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import BookingStatus, Payment, PaymentMethod, PaymentStatus, utcnow
from parkapp.services import billing
from parkapp.services.exceptions import Conflict, Invalid, WrongState
from parkapp.services.pricing import money

PAYABLE = (BookingStatus.RESERVED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)
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
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(
            "idempotency_key", f"Give a key of 1 to {MAX_KEY_LENGTH} printable characters."
        )
    return key


def by_key(key):
    return db.session.scalar(select(Payment).filter_by(idempotency_key=key))


def pay(booking, *, method, amount_cents, idempotency_key, payer=None, operator=None, now=None):
    """Record a paid payment of exactly the amount due on `booking`; return the Payment.

    The same `idempotency_key` again returns the first payment and creates nothing; a key
    already used for another booking is a conflict. A wrong amount is Invalid (422) and
    names the amount due; nothing due is WrongState (409). The booking row is locked, so
    two payments racing for one bill cannot both be taken.
    """
    method = parse_method(method)
    key = check_key(idempotency_key)
    existing = _replay(key, booking)
    if existing is not None:
        return existing
    now = now or utcnow()
    try:
        with write_transaction() as session:
            session.refresh(booking, with_for_update=True)
            session.expire(booking, ["payments"])
            if booking.status not in PAYABLE:
                raise WrongState(
                    f"This booking is {booking.status.value}; nothing can be paid on it."
                )
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
            payment = Payment(
                booking_id=booking.id,
                user_id=payer.id if payer is not None else booking.user_id,
                operator_id=operator.id if operator is not None else None,
                method=method,
                status=PaymentStatus.PAID,
                amount_cents=amount_cents,
                currency=bill.currency,
                idempotency_key=key,
                receipt_number=new_receipt_number(now),
                created_at=now,
                paid_at=now,
            )
            session.add(payment)
            session.flush()
    except IntegrityError:
        db.session.rollback()
        existing = _replay(key, booking)  # the same key won a race a moment ago
        if existing is None:
            raise
        return existing
    return payment


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
    from parkapp.services.bookings import CODE_ALPHABET

    tail = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
    return f"R-{now:%Y%m%d}-{tail}"

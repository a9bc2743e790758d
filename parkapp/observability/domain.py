"""Counting bookings and payments where the domain commits them: one ORM hook.

Every flush notes new bookings and payments that became paid; only a commit counts them,
so a rolled-back booking (a lost race, a failed savepoint) is never counted.
"""

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from parkapp.models import Booking, Payment, PaymentStatus
from parkapp.observability import metrics

NOTED = "parkapp.obs.noted"  # session.info key: objects flushed in this transaction


def listen():
    """Attach the hooks to every Session once."""
    if not event.contains(Session, "after_flush", _note):
        event.listen(Session, "after_flush", _note)
        event.listen(Session, "after_commit", _count)
        event.listen(Session, "after_rollback", _forget)


def _note(session, _context):
    noted = session.info.setdefault(NOTED, [])
    for obj in session.new:
        if isinstance(obj, Booking):
            noted.append((obj, ("booking", str(obj.source))))
        elif isinstance(obj, Payment) and obj.status == PaymentStatus.PAID:
            noted.append((obj, _payment_labels(obj)))
    for obj in session.dirty:
        # a payment that was something else before (pending at Stripe) and is paid now
        if (
            isinstance(obj, Payment)
            and obj.status == PaymentStatus.PAID
            and inspect(obj).attrs.status.history.deleted
        ):
            noted.append((obj, _payment_labels(obj)))


def _payment_labels(payment):
    return ("payment", str(payment.currency), str(payment.method), payment.amount_cents)


def _count(session):
    for obj, labels in session.info.pop(NOTED, []):
        if not inspect(obj).persistent:  # inserted in a savepoint that was rolled back
            continue
        if labels[0] == "booking":
            metrics.BOOKINGS.labels(labels[1]).inc()
        else:
            _, currency, method, cents = labels
            metrics.PAYMENTS.labels(currency, method).inc()
            metrics.PAYMENT_CENTS.labels(currency, method).inc(cents)


def _forget(session):
    session.info.pop(NOTED, None)

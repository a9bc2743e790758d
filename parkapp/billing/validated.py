"""What a merchant's validation took off a stay, written on the validation once priced.

The validation's line is part of the stay's quote (see `pricing.quoting.validation_lines`);
its amount is recorded when a payment is taken, when the stay leaves through the gate, and
before a merchant's statement counts it.
"""

from sqlalchemy import select

from parkapp.billing import bills
from parkapp.core.money import money
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.merchants import validations as merchant_validations
from parkapp.models import BookingStatus, Validation, utcnow

PREFIX = "Validated by "
GAVE_NOTHING = (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)


def validation_cents(quote):
    """What the validation line of a quote takes off (positive cents; 0 without one)."""
    return -sum(ln.amount_cents for ln in quote.lines if ln.label.startswith(PREFIX))


def fit_to_cap(booking):
    """Before a validated stay is priced for good: its validation gives no more than its
    merchant's monthly cap still allows (see `merchants.validations.fit_to_cap`)."""
    validation = merchant_validations.of_booking(booking)
    if validation is not None:
        merchant_validations.fit_to_cap(validation)
    return validation


def note(booking, bill):
    """Write the validation's amount from `bill` (inside the caller's transaction)."""
    validation = merchant_validations.of_booking(booking)
    if validation is not None:
        merchant_validations.record_amount(validation, validation_cents(bill.quote))
    return validation


def record(booking, now=None):
    """Price the booking as of `now` and write what its validation gave (its own commit)."""
    with write_transaction():
        validation = merchant_validations.of_booking(booking)
        if validation is None:
            return None
        if booking.status in GAVE_NOTHING:  # cancelled or never came: the merchant owes 0
            merchant_validations.record_amount(validation, 0)
        else:
            merchant_validations.fit_to_cap(validation)
            bill = bills.bill(booking, now or utcnow())
            merchant_validations.record_amount(validation, validation_cents(bill.quote))
    return validation


def amount_now(validation, now=None):
    """What the validation takes off its stay as priced now (not written)."""
    return validation_cents(bills.bill(validation.booking, now or utcnow()).quote)


def price_unpriced(merchant_id, since, until, now=None):
    """Record the amount of the merchant's validations made in [since, until) still unpriced."""
    pending = db.session.scalars(
        select(Validation).where(
            Validation.merchant_id == merchant_id,
            Validation.created_at >= since,
            Validation.created_at < until,
            Validation.amount_cents.is_(None),
        )
    ).all()
    for validation in pending:
        record(validation.booking, now)
    return len(pending)


def words(validation, amount_cents, now_cents, ticket):
    """The result in words for staff: what the validation takes off which ticket."""
    name = validation.merchant.name
    if amount_cents is not None:
        return f"Validated by {name}: {money(amount_cents, validation.currency)} off {ticket}."
    so_far = money(now_cents, validation.currency)
    return f"Validated by {name}: {so_far} off {ticket} so far (the stay is still open)."

"""Validating a stay: merchant staff enter a gate ticket or a booking's confirmation code.

A validation is made at one of the merchant's lots for a booking that is still payable
(reserved, inside, or left with something due), once per booking: the unique constraint on
`validations.booking_id` refuses a second one, even when two arrive at the same moment.
With a monthly cap, a merchant whose priced validations reached it makes no more, and each
validation gives at most what was left of the cap when it was made. Several stays validated
before any is priced could together give more, so each is fitted to what the others left
when it is priced for good (`fit_to_cap`): priced validations never add up past the cap.
"""

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parkapp.core import codes
from parkapp.core.exceptions import Conflict, Forbidden, Invalid, NotFound
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.merchants import merchants as merchant_rules
from parkapp.models import Booking, BookingStatus, Merchant, Validation, utcnow
from parkapp.pricing.quoting import ValidationTerms

FIELD = "code"
VALIDATABLE = (BookingStatus.RESERVED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)
TICKET_BODY = 12  # gate tickets: T- and 12 symbols; confirmation codes: 10 symbols
CODE_LENGTH = 10


class AlreadyValidated(Conflict):
    code = "already_validated"


class CapReached(Conflict):
    code = "cap_reached"


def parse_code(raw, field=FIELD):
    """(column, value) for a ticket number or confirmation code as typed; Invalid otherwise.

    Case, spaces and dashes do not matter: "t-7kq2 mx4p z9hd" is ticket T-7KQ2MX4PZ9HD.
    """
    if not isinstance(raw, str) or len(raw) > 40:
        raise Invalid(field, "Type the ticket number or the booking's confirmation code.")
    body = re.sub(r"[\s-]", "", raw.upper())
    if len(body) == TICKET_BODY + 1 and body[0] == "T" and _symbols(body[1:]):
        return Booking.ticket_number, "T-" + body[1:]
    if len(body) == CODE_LENGTH and _symbols(body):
        return Booking.confirmation_code, body
    raise Invalid(
        field,
        f"A ticket number is T- and {TICKET_BODY} letters and digits; "
        f"a confirmation code {CODE_LENGTH}.",
    )


def _symbols(text):
    return all(ch in codes.CODE_ALPHABET for ch in text)


def staff_merchant(user):
    """The active merchant the user validates for; Forbidden (403) for anyone else."""
    merchant = merchant_rules.of_user(user)
    if merchant is None or not user.is_merchant:
        raise Forbidden("Only a merchant's staff validate parking.")
    if not merchant.active:
        raise Forbidden(f"{merchant.name} no longer validates parking.", code="merchant_inactive")
    return merchant


def validate(user, code, now=None):
    """Validate the stay with this ticket or code for the user's merchant; the Validation.

    403 for a user who is not a merchant's staff; 422 for what is not a code; 404 for an
    unknown code or a stay at a lot the merchant does not validate at (the same answer,
    so staff learn nothing of other lots); 409 already_validated, cap_reached, or a stay
    that can no longer be validated (cancelled, no-show).
    """
    merchant = staff_merchant(user)
    column, value = parse_code(code)
    now = now or utcnow()
    lot_ids = {lot.id for lot in merchant.lots}
    try:
        with write_transaction() as session:
            booking = session.scalar(select(Booking).where(column == value).limit(1))
            if booking is None or booking.lot_id not in lot_ids:
                raise NotFound(
                    f"No stay with {value} at {merchant.name}'s car parks.",
                    errors={FIELD: ["Unknown ticket or code here."]},
                )
            existing = _of_booking(booking.id)
            if existing is not None:
                raise _already(existing)
            if booking.status not in VALIDATABLE:
                raise Conflict(
                    f"This stay is {booking.status.value}: there is nothing to validate.",
                    code="not_validatable",
                    errors={FIELD: [f"The stay is {booking.status.value}."]},
                )
            # One validation at a time per merchant: the cap is counted under this lock.
            session.refresh(merchant, with_for_update=True)
            limit = _cap_left(merchant, now)
            validation = Validation(
                merchant_id=merchant.id,
                booking=booking,
                validated_by_id=user.id,
                limit_cents=limit,
                currency=booking.currency or booking.lot.currency,
                created_at=now,
            )
            session.add(validation)
            session.flush()
    except IntegrityError:
        db.session.rollback()
        existing = _of_booking(booking.id)
        if existing is None:
            raise
        raise _already(existing) from None
    return validation


def _already(existing):
    return AlreadyValidated(
        f"This stay was already validated by {existing.merchant.name}.",
        errors={FIELD: ["Already validated."]},
    )


def _cap_left(merchant, now):
    """What is left of the merchant's cap this month (None: no cap); CapReached at zero."""
    if merchant.monthly_cap_cents is None:
        return None
    given, _count = merchant_rules.given_cents(merchant.id, merchant_rules.month_of(now))
    left = merchant.monthly_cap_cents - given
    if left <= 0:
        raise CapReached(
            f"{merchant.name} has reached its monthly cap of "
            f"{merchant.monthly_cap_cents / 100:.2f}: no more validations this month.",
            errors={FIELD: ["Monthly cap reached."]},
        )
    return left


def fit_to_cap(validation):
    """Lower the validation's limit to what the merchant's other priced validations of its
    month left of the cap, under the merchant's row lock; call before pricing it for good
    (payment, release, statement), in that transaction. No cap: nothing changes."""
    merchant = validation.merchant
    if merchant.monthly_cap_cents is None:
        return validation
    db.session.execute(select(Merchant.id).where(Merchant.id == merchant.id).with_for_update())
    validation.limit_cents = _limit_within_cap(validation)
    return validation


def _limit_within_cap(validation):
    """The validation's limit, lowered to what the cap leaves after the merchant's other
    priced validations of the same month (its own limit when there is no cap)."""
    merchant = validation.merchant
    if merchant.monthly_cap_cents is None:
        return validation.limit_cents
    given, _count = merchant_rules.given_cents(
        merchant.id, merchant_rules.month_of(validation.created_at)
    )
    others = given - (validation.amount_cents or 0)  # a re-priced stay replaces its own amount
    left = max(0, merchant.monthly_cap_cents - others)
    return left if validation.limit_cents is None else min(validation.limit_cents, left)


def _of_booking(booking_id):
    return db.session.scalar(select(Validation).where(Validation.booking_id == booking_id))


def of_booking(booking):
    """The booking's validation, or None (loaded with the booking when it was read locked)."""
    return booking.validation if booking.id is not None else None


def terms_for_booking(booking):
    """The ValidationTerms a booking is priced with (None when nobody validated it)."""
    validation = of_booking(booking)
    if validation is None:
        return None
    merchant = validation.merchant
    return ValidationTerms(
        merchant.name, merchant.give_kind, merchant.give_value, _limit_within_cap(validation)
    )


def record_amount(validation, cents):
    """Write what the validation took off its stay (in the caller's transaction)."""
    validation.amount_cents = max(0, int(cents))


def list_query(merchant_id=None, since=None, until=None):
    """Validations, newest first: one merchant's when given (a select, for pagination)."""
    query = select(Validation)
    if merchant_id is not None:
        query = query.where(Validation.merchant_id == merchant_id)
    if since is not None:
        query = query.where(Validation.created_at >= since)
    if until is not None:
        query = query.where(Validation.created_at < until)
    return query.order_by(Validation.created_at.desc(), Validation.id.desc())


def visible_query(user, since=None, until=None):
    """What a user may list: every validation for admins, their merchant's for its staff."""
    if user.is_admin:
        return list_query(None, since, until)
    return list_query(staff_merchant(user).id, since, until)


def get(validation_id, user):
    """A validation the user may see, else NotFound (another merchant's looks missing)."""
    validation = db.session.get(Validation, validation_id)
    if validation is None:
        raise NotFound("No such validation.")
    if not user.is_admin and validation.merchant_id != staff_merchant(user).id:
        raise NotFound("No such validation.")
    return validation


def merchant_of(validation):
    """The validation's merchant."""
    return db.session.get(Merchant, validation.merchant_id)

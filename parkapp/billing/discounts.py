"""Promo codes: create and edit them, check one against a stay, count each use exactly once.

A use is counted by `redeem` inside the caller's write transaction: the discount row is
locked (FOR NO KEY UPDATE on PostgreSQL; SQLite's write lock covers the whole transaction),
the limits are checked again under that lock, then `uses_count` goes up by one and a
redemption row is written. A booking that fails afterwards rolls the use back with it.

The validity window applies to the moment a code is used (booked, or applied at payment),
not to when the stay takes place.
"""

import re
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from parkapp.billing import bills as billing
from parkapp.core.exceptions import Conflict, Invalid, NotFound, WrongState
from parkapp.core.money import money
from parkapp.core.timezones import lot_zone
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import (
    BookingStatus,
    Discount,
    DiscountKind,
    DiscountRedemption,
    Lot,
    PaymentStatus,
    utcnow,
)

FIELD = "discount_code"
CODE_PATTERN = re.compile(r"^[A-Z0-9_-]{3,32}$")
VALUE_BOUNDS = {
    DiscountKind.PERCENT: (1, 100, "a percentage"),
    DiscountKind.FIXED: (1, 10_000_000, "an amount in cents"),
    DiscountKind.FREE_HOURS: (1, 72, "a number of hours"),
}
MAX_USES = 10_000_000
# Editing what a code takes off would change the bills of bookings that already carry it.
FROZEN_ONCE_USED = ("kind", "value", "lot_id")
APPLICABLE = (BookingStatus.RESERVED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)


class CodeRefused(Invalid):
    """A promo code that cannot be used here; `code` names why (expired, exhausted, ...)."""

    def __init__(self, reason, message):
        super().__init__(FIELD, message, message)
        self.code = reason


@dataclass
class DiscountInput:
    """The editable fields of a discount, already parsed to Python types."""

    code: str
    kind: str
    value: int
    name: str = ""
    lot_id: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_uses: int | None = None
    max_uses_per_user: int | None = None


# --- codes and descriptions ---------------------------------------------------------------


def normalise_code(raw, field="code"):
    """A code as stored: stripped, upper case, 3 to 32 of A-Z 0-9 - _; Invalid otherwise."""
    code = (raw or "").strip().upper() if isinstance(raw, str) else ""
    if not CODE_PATTERN.match(code):
        raise Invalid(field, "Use 3 to 32 letters, digits, hyphens or underscores.")
    return code


def describe(discount):
    """What a code takes off, for people: "10% off", "5.00 GBP off", "first 2 h free"."""
    if discount.kind == DiscountKind.PERCENT:
        return f"{discount.value}% off"
    if discount.kind == DiscountKind.FIXED:
        currency = discount.lot.currency if discount.lot is not None else ""
        return f"{money(discount.value, currency).strip()} off"
    return f"first {discount.value} h free"


def uses_label(discount):
    """Uses so far against the limit: "3 / 100", or "3 / ∞" without one."""
    return f"{discount.uses_count} / {discount.max_uses if discount.max_uses else '∞'}"


# --- admin: create, edit, deactivate ------------------------------------------------------


def validate_input(data):
    """Check a discount's fields; raise Invalid naming the first bad one."""
    data.code = normalise_code(data.code)
    try:
        data.kind = DiscountKind(data.kind)
    except ValueError:
        kinds = ", ".join(k.value for k in DiscountKind)
        raise Invalid("kind", f"Kind must be one of: {kinds}.") from None
    low, high, what = VALUE_BOUNDS[data.kind]
    if not _whole(data.value) or not low <= data.value <= high:
        raise Invalid("value", f"Give {what} from {low} to {high}.")
    data.name = (data.name or "").strip()
    if len(data.name) > 120:
        raise Invalid("name", "At most 120 characters.")
    if data.lot_id is not None and db.session.get(Lot, data.lot_id) is None:
        raise Invalid("lot_id", "No such lot.")
    for name in ("valid_from", "valid_until"):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            raise Invalid(name, "Give the time with a UTC offset.")
    if data.valid_from and data.valid_until and data.valid_until <= data.valid_from:
        raise Invalid("valid_until", "The end of the validity must be after its start.")
    for name in ("max_uses", "max_uses_per_user"):
        value = getattr(data, name)
        if value is not None and (not _whole(value) or not 1 <= value <= MAX_USES):
            raise Invalid(
                name, f"Give a whole number from 1 to {MAX_USES}, or nothing for no limit."
            )


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def create(data):
    """Create a discount after validating it; 409 when the code is taken."""
    validate_input(data)
    _check_code_free(data.code)
    discount = Discount(**{f.name: getattr(data, f.name) for f in fields(DiscountInput)})
    try:
        with write_transaction() as session:
            session.add(discount)
    except IntegrityError:
        _check_code_free(data.code)  # lost a race for the same code
        raise
    return discount


def update(discount, changes):
    """Apply a dict of field changes, validated as a whole.

    Once a code has been used, what it takes off and where are fixed (the bookings that carry
    it are priced with it), and its use limit cannot drop below the uses already counted.
    """
    unknown = set(changes) - {f.name for f in fields(DiscountInput)}
    if unknown:
        raise Invalid(sorted(unknown)[0], "This field cannot be changed.")
    current = DiscountInput(**{f.name: getattr(discount, f.name) for f in fields(DiscountInput)})
    for name, value in changes.items():
        setattr(current, name, value)
    validate_input(current)
    with write_transaction() as session:
        locked = _lock(session, discount.id)
        if locked.uses_count:
            for name in FROZEN_ONCE_USED:
                if getattr(current, name) != getattr(locked, name):
                    raise Conflict(
                        f"Code {locked.code} has been used {locked.uses_count} time(s), so "
                        f"its {name.replace('_id', '')} cannot change; create a new code.",
                        code="discount_in_use",
                        errors={name: ["Fixed once the code has been used."]},
                    )
        if current.max_uses is not None and current.max_uses < locked.uses_count:
            raise Invalid("max_uses", f"The code has been used {locked.uses_count} times already.")
        if current.code != locked.code:
            _check_code_free(current.code, exclude_id=locked.id)
        for name in changes:
            setattr(locked, name, getattr(current, name))
    return locked


def set_active(discount, active):
    """Deactivate (no new uses; bookings keep theirs) or reactivate a discount."""
    with write_transaction() as session:
        _lock(session, discount.id).is_active = active
    return discount


def _check_code_free(code, exclude_id=None):
    query = select(Discount.id).where(Discount.code == code)
    if exclude_id is not None:
        query = query.where(Discount.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise Conflict(
            f"The code {code} is taken.",
            code="code_taken",
            errors={"code": ["This code is taken."]},
        )


def get(discount_id):
    """The discount with this id, or NotFound."""
    discount = db.session.get(Discount, discount_id)
    if discount is None:
        raise NotFound("No such discount.")
    return discount


def list_query(q=None, active=None):
    """Discounts, newest first, optionally by code or name and by state."""
    query = select(Discount).order_by(Discount.created_at.desc(), Discount.id.desc())
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            func.lower(Discount.code).like(pattern) | func.lower(Discount.name).like(pattern)
        )
    if active is not None:
        query = query.where(Discount.is_active.is_(active))
    return query.options(db.joinedload(Discount.lot))


# --- checking and counting uses -----------------------------------------------------------


def find(code):
    """The discount with this code (any case), or None; malformed codes are never found."""
    try:
        normalised = normalise_code(code, FIELD)
    except Invalid:
        return None
    return db.session.scalar(select(Discount).where(Discount.code == normalised))


def check(code, *, user=None, lot=None, at=None):
    """The usable Discount for `code`, or CodeRefused (422) saying why not.

    `user` (None: anonymous) is held to the per-user limit; `lot` must be the code's lot
    when it has one; `at` (default now) must fall in the validity window.
    """
    discount = find(code)
    if discount is None:
        shown = code.strip().upper()[:40] if isinstance(code, str) else ""
        message = f"There is no promo code {shown}." if shown else "Enter a promo code."
        raise CodeRefused("unknown_code", message)
    _check_usable(discount, user, lot, at or utcnow())
    return discount


def _check_usable(discount, user, lot, at):
    code = discount.code
    if not discount.is_active:
        raise CodeRefused("inactive", f"Promo code {code} is no longer active.")
    if discount.valid_from is not None and at < discount.valid_from:
        when = _when(discount.valid_from, lot)
        raise CodeRefused("not_yet_valid", f"Promo code {code} is valid from {when}.")
    if discount.valid_until is not None and at >= discount.valid_until:
        when = _when(discount.valid_until, lot)
        raise CodeRefused("expired", f"Promo code {code} expired on {when}.")
    if discount.lot_id is not None and lot is not None and lot.id != discount.lot_id:
        raise CodeRefused("wrong_lot", f"Promo code {code} is valid only at {discount.lot.name}.")
    if discount.max_uses is not None and discount.uses_count >= discount.max_uses:
        raise CodeRefused(
            "exhausted", f"Promo code {code} has been used up (all {discount.max_uses} uses)."
        )
    if user is not None and discount.max_uses_per_user is not None:
        _check_user_limit(discount, user)


def _check_user_limit(discount, user):
    limit = discount.max_uses_per_user
    if uses_by(discount, user) >= limit:
        times = "once" if limit == 1 else f"{limit} times"
        raise CodeRefused(
            "used_up",
            f"You have used promo code {discount.code} already; it is good {times} per driver.",
        )


def _when(instant, lot):
    zone = lot_zone(lot) if lot is not None else None
    local = instant.astimezone(zone) if zone else instant
    return local.strftime("%d %b %Y %H:%M ") + (lot.timezone if lot is not None else "UTC")


def uses_by(discount, user):
    """How many times `user` has used `discount` (redemptions still counted)."""
    return db.session.scalar(
        select(func.count(DiscountRedemption.id)).where(
            DiscountRedemption.discount_id == discount.id,
            DiscountRedemption.user_id == user.id,
        )
    )


def _lock(session, discount_id):
    """The discount row, locked and read afresh (it may be stale in the identity map)."""
    # FOR NO KEY UPDATE serialises redeemers without blocking the foreign-key checks of
    # bookings and redemptions that reference the row.
    return session.scalar(
        select(Discount)
        .where(Discount.id == discount_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def redeem(session, discount, booking, user=None, at=None):
    """Count one use of `discount` on `booking`, inside the caller's write transaction.

    Checks every rule again under the row lock, so concurrent redemptions of the last use
    (or of one driver's last use) cannot both succeed; raises CodeRefused otherwise.
    """
    locked = _lock(session, discount.id)
    _check_usable(locked, user, booking.lot, at or utcnow())
    locked.uses_count += 1
    session.add(
        DiscountRedemption(
            discount_id=locked.id,
            booking_id=booking.id,
            user_id=user.id if user is not None else None,
        )
    )
    booking.discount_id = locked.id
    booking.discount = locked
    session.flush()
    return locked


def release(session, booking):
    """Give back the use a booking counted (its reservation was cancelled); idempotent."""
    redemption = session.scalar(select(DiscountRedemption).filter_by(booking_id=booking.id))
    if redemption is None:
        return
    locked = _lock(session, redemption.discount_id)
    session.delete(redemption)
    locked.uses_count = max(0, locked.uses_count - 1)
    session.flush()


def apply_to_booking(booking, code, user=None, now=None):
    """Apply a code to a booking that has none yet and nothing paid (at payment or exit).

    The use is counted against the booking's driver. 409 if the booking already carries a
    code, has a payment, or is cancelled; CodeRefused (422) if the code cannot be used.
    """
    if user is not None and not (booking.is_owner(user) or user.is_operator):
        raise NotFound("No such booking.")
    if booking.discount_id is not None:
        raise _already_applied()
    now = now or utcnow()
    discount = check(code, user=booking.user, lot=booking.lot, at=now)
    with write_transaction() as session:
        session.refresh(booking, with_for_update=True)
        session.expire(booking, ["payments"])
        if booking.discount_id is not None:
            raise _already_applied()
        if booking.status not in APPLICABLE:
            raise WrongState(f"This booking is {booking.status.value}; no code can be applied.")
        if any(p.status in (PaymentStatus.PAID, PaymentStatus.PENDING) for p in booking.payments):
            raise Conflict(
                "This booking has a payment already; a code can only be applied before paying.",
                code="already_paid",
            )
        redeem(session, discount, booking, booking.user, now)
        if booking.quoted_cents is not None:
            booking.quoted_cents = billing.price(booking, booking.booked_ends_at).total_cents
        if booking.released_at is not None:
            booking.price_cents = billing.bill(booking, now).total_cents
    return booking


def preview_on_booking(booking, code, now=None):
    """(Discount, the booking's price with it), as `apply_to_booking` would make it.

    Nothing is used up; 409 if the booking carries a code already.
    """
    if booking.discount_id is not None:
        raise _already_applied()
    now = now or utcnow()
    discount = check(code, user=booking.user, lot=booking.lot, at=now)
    return discount, billing.price(booking, billing.billed_until(booking, now), discount)


def _already_applied():
    return Conflict(
        "This booking already carries a promo code.",
        code="discount_already_applied",
        errors={FIELD: ["The booking already has a promo code."]},
    )

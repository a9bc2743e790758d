"""Merchants: create and change them, their lots and staff, and their monthly totals."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from parkapp.accounts.datastore import user_datastore
from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import MERCHANT, GiveKind, Lot, Merchant, MerchantStaff, User, Validation

NAME_MAX = 120
MAX_HOURS = 72
MAX_CENTS = 10_000_000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class MerchantInput:
    """The fields of a merchant as given (None: not given)."""

    name: str | None = None
    give_kind: str | None = None
    give_value: int | None = None
    monthly_cap_cents: int | None = None
    billing_email: str | None = None
    active: bool | None = None
    lot_ids: list | None = None
    staff_user_ids: list | None = None
    given: set = field(default_factory=set)  # the names given, so None can clear a value


def parse_kind(raw):
    """A GiveKind, or Invalid naming the accepted ones."""
    try:
        return GiveKind(raw)
    except ValueError:
        accepted = ", ".join(k.value for k in GiveKind)
        raise Invalid("give_kind", f"Must be one of: {accepted}.") from None


def _whole(name, value, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Invalid(name, f"Give a whole number from {low} to {high}.")
    return value


def _check_value(kind, value):
    if kind == GiveKind.FULL_FEE:
        return 0
    if kind == GiveKind.FREE_HOURS:
        return _whole("give_value", value, 1, MAX_HOURS)
    return _whole("give_value", value, 1, MAX_CENTS)


def _check_name(name):
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise Invalid("name", f"Give a name of 1 to {NAME_MAX} printable characters.")
    return name


def _check_email(email):
    email = (email or "").strip().lower() if isinstance(email, str) else ""
    if not email:
        return None
    if len(email) > 255 or not EMAIL.match(email):
        raise Invalid("billing_email", "Give an email address, e.g. accounts@shop.example.")
    return email


def _lots(lot_ids):
    if not isinstance(lot_ids, list) or len(lot_ids) > 500:
        raise Invalid("lot_ids", "Give a list of lot ids.")
    ids = {_whole("lot_ids", i, 1, 2**31 - 1) for i in lot_ids}
    found = db.session.scalars(select(Lot).where(Lot.id.in_(ids)).order_by(Lot.id)).all()
    if len(found) != len(ids):
        raise Invalid(
            "lot_ids",
            "No such lot: " + ", ".join(map(str, sorted(ids - {lot.id for lot in found}))) + ".",
        )
    return list(found)


def _staff(merchant, user_ids):
    """Link these users to the merchant (and only these), giving and taking the role."""
    if not isinstance(user_ids, list) or len(user_ids) > 200:
        raise Invalid("staff_user_ids", "Give a list of user ids.")
    ids = {_whole("staff_user_ids", i, 1, 2**31 - 1) for i in user_ids}
    users = db.session.scalars(select(User).where(User.id.in_(ids))).all()
    if len(users) != len(ids):
        raise Invalid("staff_user_ids", "No such user among the staff ids.")
    taken = db.session.scalars(
        select(MerchantStaff).where(
            MerchantStaff.user_id.in_(ids), MerchantStaff.merchant_id != merchant.id
        )
    ).all()
    if taken:
        raise Conflict(
            "A user validates for one merchant only: "
            + ", ".join(f"user {link.user_id} is staff of {link.merchant.name}" for link in taken)
            + ".",
            code="staff_of_another_merchant",
            errors={"staff_user_ids": ["Already staff of another merchant."]},
        )
    for link in list(merchant.staff):
        if link.user_id not in ids:
            user_datastore.remove_role_from_user(link.user, MERCHANT)
            db.session.delete(link)
    current = {link.user_id for link in merchant.staff}
    for user in users:
        if user.id not in current:
            db.session.add(MerchantStaff(user_id=user.id, merchant_id=merchant.id))
        user_datastore.add_role_to_user(user, MERCHANT)


def create(data):
    """A new merchant from a MerchantInput; 409 when the name is taken, 422 for bad fields."""
    return _save(Merchant(active=True), data, creating=True)


def update(merchant, data):
    """Change the given fields of a merchant (lots and staff replace the lists)."""
    return _save(merchant, data, creating=False)


def _save(merchant, data, creating):
    given = data.given or {k for k, v in vars(data).items() if v is not None and k != "given"}
    if creating or "name" in given:
        merchant.name = _check_name(data.name)
    if creating or "give_kind" in given or "give_value" in given:
        kind = (
            parse_kind(data.give_kind) if (creating or "give_kind" in given) else merchant.give_kind
        )
        value = data.give_value if "give_value" in given else merchant.give_value
        merchant.give_kind, merchant.give_value = kind, _check_value(kind, value)
    if "monthly_cap_cents" in given:
        cap = data.monthly_cap_cents
        merchant.monthly_cap_cents = (
            None if cap is None else _whole("monthly_cap_cents", cap, 0, MAX_CENTS)
        )
    if "billing_email" in given:
        merchant.billing_email = _check_email(data.billing_email)
    if "active" in given:
        if not isinstance(data.active, bool):
            raise Invalid("active", "Give true or false.")
        merchant.active = data.active
    lots = _lots(data.lot_ids) if "lot_ids" in given else None
    try:
        with write_transaction() as session:
            _check_name_free(merchant)
            if lots is not None:
                merchant.lots = lots
            session.add(merchant)
            session.flush()
            if "staff_user_ids" in given:
                _staff(merchant, data.staff_user_ids)
    except IntegrityError:
        db.session.rollback()
        raise _name_taken() from None
    return merchant


def _check_name_free(merchant):
    other = db.session.scalar(
        select(Merchant.id).where(func.lower(Merchant.name) == merchant.name.lower()).limit(1)
    )
    if other is not None and other != merchant.id:
        raise _name_taken()


def _name_taken():
    return Conflict(
        "A merchant with this name exists.",
        code="name_taken",
        errors={"name": ["Already used by another merchant."]},
    )


def get(merchant_id):
    """A merchant by id, or NotFound."""
    merchant = db.session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("No such merchant.")
    return merchant


def list_query():
    """All merchants by name (a select, for pagination)."""
    return select(Merchant).order_by(Merchant.name, Merchant.id)


def of_user(user):
    """The merchant the user validates for, or None."""
    link = db.session.get(MerchantStaff, user.id) if user is not None else None
    return link.merchant if link is not None else None


def describe(merchant):
    """What the merchant gives, in words: "Full parking fee", "First 2 h free", "5.00 off"."""
    if merchant.give_kind == GiveKind.FULL_FEE:
        return "Full parking fee"
    if merchant.give_kind == GiveKind.FREE_HOURS:
        return f"First {merchant.give_value} h free"
    return f"{merchant.give_value // 100}.{merchant.give_value % 100:02d} off"


def month_of(at):
    """'YYYY-MM' of an instant, in UTC (the months of statements and caps)."""
    return at.astimezone(UTC).strftime("%Y-%m")


def month_bounds(month):
    """(start, end) aware UTC datetimes of a 'YYYY-MM' month; Invalid for junk."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise Invalid("month", "Give a month as YYYY-MM.") from None
    if start.month == 12:
        return start, start.replace(year=start.year + 1, month=1)
    return start, start.replace(month=start.month + 1)


def previous_month(month):
    """The 'YYYY-MM' before a 'YYYY-MM'."""
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def given_cents(merchant_id, month):
    """(cents given, validations) of the merchant's validations made in the month.

    Cents count the validations already priced; an unpriced one adds to the count only.
    """
    start, end = month_bounds(month)
    cents, count = db.session.execute(
        select(
            func.coalesce(func.sum(Validation.amount_cents), 0), func.count(Validation.id)
        ).where(
            Validation.merchant_id == merchant_id,
            Validation.created_at >= start,
            Validation.created_at < end,
        )
    ).one()
    return int(cents), int(count)

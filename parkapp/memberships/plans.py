"""Membership plans (admin): their fields and limits, creating, changing and withdrawing them,
and what a plan gives in words."""

from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import Lot, MembershipPlan

MAX_PRICE_CENTS = 10_000_000
LIMITS = {
    "duration_months": (1, 24),
    "price_cents": (0, MAX_PRICE_CENTS),
    "vehicle_limit": (1, 50),
    "included_hours": (0, 744),
    "discount_percent": (0, 100),
}


@dataclass
class PlanInput:
    """The editable fields of a plan, already parsed to Python types."""

    name: str
    price_cents: int
    duration_months: int = 1
    currency: str = "USD"
    vehicle_limit: int = 1
    included_hours: int = 0
    discount_percent: int = 0
    description: str = ""
    lot_ids: list[int] | None = None


# --- plans (admin) ------------------------------------------------------------------------


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def validate_plan(data):
    """Check a plan's fields; raise Invalid naming the first bad one."""
    data.name = (data.name or "").strip() if isinstance(data.name, str) else ""
    if not 2 <= len(data.name) <= 80 or "\x00" in data.name:
        raise Invalid("name", "Give a name of 2 to 80 characters.")
    data.description = (data.description or "").strip()
    if len(data.description) > 2000 or "\x00" in data.description:
        raise Invalid("description", "At most 2000 ordinary characters.")
    currency = data.currency.strip().upper() if isinstance(data.currency, str) else ""
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise Invalid("currency", "Give a three-letter ISO 4217 code such as GBP.")
    data.currency = currency
    for name, (low, high) in LIMITS.items():
        value = getattr(data, name)
        if not _whole(value) or not low <= value <= high:
            raise Invalid(name, f"Give a whole number from {low} to {high}.")
    lots = []
    for lot_id in data.lot_ids or []:
        lot = db.session.get(Lot, lot_id) if _whole(lot_id) else None
        if lot is None:
            raise Invalid("lot_ids", f"No such lot: {lot_id}.")
        if lot not in lots:
            lots.append(lot)
    return lots


def _apply_plan(plan, data, lots):
    for item in fields(PlanInput):
        if item.name != "lot_ids":
            setattr(plan, item.name, getattr(data, item.name))
    plan.lots = lots


def _name_taken():
    return Conflict("A plan with this name exists.", code="name_taken", errors={"name": ["Taken."]})


def create_plan(data):
    """Create a plan; 409 when the name is taken."""
    lots = validate_plan(data)
    try:
        with write_transaction() as session:
            plan = MembershipPlan(is_active=True)
            _apply_plan(plan, data, lots)
            session.add(plan)
    except IntegrityError:
        raise _name_taken() from None
    return plan


def update_plan(plan, changes):
    """Change some of a plan's fields; terms apply to its memberships' next stays."""
    current = {item.name: getattr(plan, item.name, None) for item in fields(PlanInput)}
    current["lot_ids"] = [lot.id for lot in plan.lots]
    data = PlanInput(**{**current, **changes})
    lots = validate_plan(data)
    try:
        with write_transaction():
            _apply_plan(plan, data, lots)
    except IntegrityError:
        raise _name_taken() from None
    return plan


def set_plan_active(plan, active):
    """Offer a plan again, or stop offering it (memberships of it carry on)."""
    with write_transaction():
        plan.is_active = active
    return plan


def get_plan(plan_id, active_only=False):
    """One plan, or NotFound (also for an inactive plan when `active_only`)."""
    plan = db.session.get(MembershipPlan, plan_id)
    if plan is None or (active_only and not plan.is_active):
        raise NotFound("No such membership plan.")
    return plan


def plans_query(active_only=True):
    """Plans by price (a select, for pagination)."""
    query = select(MembershipPlan).order_by(MembershipPlan.price_cents, MembershipPlan.id)
    return query.where(MembershipPlan.is_active.is_(True)) if active_only else query


def describe_plan(plan):
    """What a plan gives, in words: "10 h a month included, then 20% off"."""
    parts = []
    if plan.included_hours:
        parts.append(f"{plan.included_hours} h a month included")
    if plan.discount_percent:
        parts.append(f"{plan.discount_percent}% off")
    return ", then ".join(parts) or "no reduction"

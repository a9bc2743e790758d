"""Memberships: plans (admin), subscriptions and attached vehicles (drivers), and the terms a
membership gives a stay.

A membership runs `[starts_at, ends_at)` and is cut into periods of one calendar month from
its start; each period includes the plan's `included_hours`. A stay of an attached vehicle
at a covered lot, starting while the membership is in force, is priced with it (the booking
keeps `membership_id`). Included hours are used up by the membership's stays in order of
booking (id): a stay's free hours are what its period had left after the stays booked
before it, so a later booking never changes an earlier one's price. Cancelled and no-show
bookings use nothing.

Paying: every term is granted against a MembershipPayment, taken by billing through the
`membership_term_due` hook (test mode, Stripe Checkout, or refused); what was paid is summed on the membership (`price_cents`,
`paid_at`, `total_paid_cents`). Cancelling refunds nothing: it turns auto-renew off and the
membership stays in force until `ends_at`.
"""

import calendar
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parkapp.core import hooks
from parkapp.core.exceptions import Conflict, DomainError, Invalid, NotFound, WrongState
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import (
    Lot,
    Membership,
    MembershipPayment,
    MembershipPlan,
    MembershipStatus,
    MembershipVehicle,
    PaymentStatus,
    User,
    Vehicle,
    utcnow,
)

IN_FORCE = (MembershipStatus.ACTIVE, MembershipStatus.CANCELLED)
# membership_term_due purposes, and billing's answers (core/hooks.py)
SUBSCRIBE, RENEW, AUTO_RENEW = "subscribe", "renew", "auto_renew"
PAID, PENDING = "paid", "pending"


class PaymentsUnavailable(DomainError):
    """No way to take money is set up (no Stripe key, test mode off): nothing is granted."""

    status, code = 503, "payments_unavailable"


def _charge(session, membership, purpose, key, now):
    """Billing's payment for one term, in this transaction: PAID, or PENDING (a Checkout).

    Raises PaymentsUnavailable when no payment can be taken (nobody answers, or billing
    has no way to take money), so the caller's transaction, and what it granted, rolls back.
    """
    answer = hooks.first_answer(
        hooks.membership_term_due,
        session=session,
        membership=membership,
        purpose=purpose,
        key=key,
        now=now,
    )
    if answer not in (PAID, PENDING):
        raise PaymentsUnavailable(
            "Memberships cannot be paid for right now (no payment service is set up); "
            "nothing was charged or created."
        )
    return answer


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


def add_months(instant, months):
    """`instant` moved by whole calendar months, the day clamped to the month's last."""
    month = instant.month - 1 + months
    year, month = instant.year + month // 12, month % 12 + 1
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


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


# --- memberships (drivers) ----------------------------------------------------------------


def get_membership(membership_id, user):
    """One of the user's memberships, or NotFound (also for another user's)."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or not membership.is_owner(user):
        raise NotFound("No such membership.")
    return membership


def memberships_of(user):
    """The user's memberships, newest first."""
    return db.session.scalars(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.id.desc())
    ).all()


def is_in_force(membership, at):
    return membership.status in IN_FORCE and membership.starts_at <= at < membership.ends_at


def _own_vehicles(user, vehicle_ids, field="vehicle_ids"):
    vehicles = []
    for vehicle_id in vehicle_ids:
        vehicle = db.session.get(Vehicle, vehicle_id) if _whole(vehicle_id) else None
        if vehicle is None or vehicle.user_id != user.id:
            raise Invalid(field, f"No such vehicle of yours: {vehicle_id}.")
        if vehicle not in vehicles:
            vehicles.append(vehicle)
    return vehicles


def _over_limit(plan):
    count = "1 vehicle" if plan.vehicle_limit == 1 else f"{plan.vehicle_limit} vehicles"
    return Conflict(f"This plan covers at most {count}.", code="vehicle_limit")


def _lock_user(session, user):
    """Serialise a driver's membership changes (SQLite's write lock already does)."""
    session.execute(select(User.id).where(User.id == user.id).with_for_update())


def subscribe(user, plan_id, vehicle_ids=(), now=None, idempotency_key=None):
    """Take out a membership of an active plan from now, against a payment for its price.

    Test mode: in force at once, its payment recorded paid (no card charged). Stripe: the
    membership waits (pending) for its Checkout to be paid. Neither: PaymentsUnavailable
    (503) and nothing is created. 409 when the driver already has this plan (or is paying
    for it), or names more vehicles than it covers. The same `idempotency_key` again
    returns the first membership.
    """
    now = now or utcnow()
    plan = get_plan(plan_id, active_only=True)
    vehicles = _own_vehicles(user, vehicle_ids)
    if len(vehicles) > plan.vehicle_limit:
        raise _over_limit(plan)
    replay = _replay(user, idempotency_key)
    if replay is not None:
        return replay
    with write_transaction() as session:
        _lock_user(session, user)
        held = session.scalar(
            select(Membership.id).where(
                Membership.user_id == user.id,
                Membership.plan_id == plan.id,
                Membership.status.in_((*IN_FORCE, MembershipStatus.PENDING)),
                Membership.ends_at > now,
            )
        )
        if held is not None:
            raise Conflict(f"You already have the {plan.name} plan.", code="already_member")
        membership = Membership(
            user_id=user.id,
            plan_id=plan.id,
            status=MembershipStatus.PENDING,
            starts_at=now,
            ends_at=add_months(now, plan.duration_months),
            auto_renew=True,
            price_cents=plan.price_cents,
            total_paid_cents=0,
            currency=plan.currency,
        )
        membership.attached = [MembershipVehicle(vehicle_id=v.id) for v in vehicles]
        session.add(membership)
        session.flush()
        if (
            not plan.price_cents
            or _charge(session, membership, SUBSCRIBE, idempotency_key, now) == PAID
        ):
            membership.status = MembershipStatus.ACTIVE
            membership.total_paid_cents = plan.price_cents
            membership.paid_at = now
    return membership


def _replay(user, key):
    if not key:
        return None
    payment = db.session.scalar(select(MembershipPayment).filter_by(idempotency_key=key))
    if payment is None:
        return None
    if payment.user_id != user.id or payment.purpose != SUBSCRIBE:
        raise Conflict(
            "This idempotency key was already used for another payment.",
            code="idempotency_key_reused",
            errors={"idempotency_key": ["Already used."]},
        )
    return payment.membership


def attach_vehicle(membership, vehicle_id, now=None):
    """Cover one more of the driver's vehicles; 409 past the plan's limit or once ended."""
    now = now or utcnow()
    [vehicle] = _own_vehicles(membership.user, [vehicle_id], field="vehicle_id")
    with write_transaction() as session:
        session.refresh(membership, with_for_update=True)
        if not is_in_force(membership, now):
            raise WrongState("This membership has ended.", code="membership_ended")
        if vehicle.id in {link.vehicle_id for link in membership.attached}:
            raise Conflict(f"{vehicle.plate} is already covered.", code="already_attached")
        if len(membership.attached) >= membership.plan.vehicle_limit:
            raise _over_limit(membership.plan)
        membership.attached.append(MembershipVehicle(vehicle_id=vehicle.id))
    return membership


def detach_vehicle(membership, vehicle_id):
    """Stop covering a vehicle (its stays booked so far keep their prices); 404 if not covered."""
    with write_transaction() as session:
        session.refresh(membership, with_for_update=True)
        link = next((v for v in membership.attached if v.vehicle_id == vehicle_id), None)
        if link is None:
            raise NotFound("That vehicle is not covered by this membership.")
        membership.attached.remove(link)
    return membership


def cancel(membership, now=None):
    """Stop auto-renewal: the membership stays in force until its end; nothing is refunded."""
    now = now or utcnow()
    with write_transaction() as session:
        session.refresh(membership, with_for_update=True)
        if not is_in_force(membership, now) or membership.status != MembershipStatus.ACTIVE:
            raise WrongState("This membership is already cancelled or over.", code="not_active")
        membership.status = MembershipStatus.CANCELLED
        membership.auto_renew = False
        membership.cancelled_at = now
    return membership


def extend(membership, now, paid_cents):
    """Add one more term of the plan to a locked membership, paid `paid_cents` at `now`."""
    plan = membership.plan
    membership.ends_at = add_months(membership.ends_at, plan.duration_months)
    membership.price_cents = paid_cents
    membership.total_paid_cents += paid_cents
    membership.paid_at = now
    membership.renewals += 1


def renew(membership, now=None, idempotency_key=None):
    """Renew by hand: one more term from the current end, against a payment; auto-renew on.

    Test mode (or a free plan): extended now. Stripe: a pending Checkout payment, the term
    added when it is paid. Neither: PaymentsUnavailable (503). 409 once the membership has
    ended (take out a new one), when the plan is withdrawn, or while a renewal awaits payment.
    """
    now = now or utcnow()
    price = membership.plan.price_cents
    with write_transaction() as session:
        session.refresh(membership, with_for_update=True)
        if not is_in_force(membership, now):
            raise WrongState("This membership has ended; subscribe again.", code="not_active")
        if not membership.plan.is_active:
            raise WrongState("This plan is no longer offered.", code="plan_withdrawn")
        if any(p.status == PaymentStatus.PENDING for p in membership.payments):
            raise Conflict("A payment for this membership is still open.", code="checkout_open")
        if not price or _charge(session, membership, RENEW, idempotency_key, now) == PAID:
            extend(membership, now, price)
        membership.status = MembershipStatus.ACTIVE
        membership.auto_renew = True
        membership.cancelled_at = None
    return membership

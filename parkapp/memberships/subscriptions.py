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

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from parkapp.core import hooks
from parkapp.core.exceptions import Conflict, DomainError, Invalid, NotFound, WrongState
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.memberships.plans import (  # noqa: F401 (the plans' names, as callers know them)
    LIMITS,
    MAX_PRICE_CENTS,
    PlanInput,
    _whole,
    create_plan,
    describe_plan,
    get_plan,
    plans_query,
    set_plan_active,
    update_plan,
    validate_plan,
)
from parkapp.models import (
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
from parkapp.models.memberships import HELD, IN_FORCE

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


def add_months(instant, months):
    """`instant` moved by whole calendar months, the day clamped to the month's last."""
    month = instant.month - 1 + months
    year, month = instant.year + month // 12, month % 12 + 1
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


# --- memberships (drivers) ----------------------------------------------------------------


def get_membership(membership_id, user):
    """One of the user's memberships, or NotFound (also for another user's)."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or not membership.is_owner(user):
        raise NotFound("No such membership.")
    return membership


def memberships_of(user):
    """The user's memberships, newest first, with their plans, vehicles and payments loaded."""
    return db.session.scalars(
        select(Membership)
        .where(Membership.user_id == user.id)
        .order_by(Membership.id.desc())
        .options(
            selectinload(Membership.plan).selectinload(MembershipPlan.lots),
            selectinload(Membership.attached).selectinload(MembershipVehicle.vehicle),
            selectinload(Membership.payments),
        )
    ).all()


def is_in_force(membership, at):
    """Whether the membership covers stays at `at` (its grace period after a failed renewal too)."""
    return membership.status in IN_FORCE and membership.starts_at <= at < membership.in_force_until


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


def subscribe(user, plan_id, vehicle_ids=(), now=None, idempotency_key=None, auto_renew=True):
    """Take out a membership of an active plan from now, against a payment for its price.

    It covers at least one of the driver's vehicles (422 `vehicle_ids` without one) and
    renews by itself at its end when `auto_renew`.

    Test mode: in force at once, its payment recorded paid (no card charged). Stripe: the
    membership waits (pending) for its Checkout to be paid. Neither: PaymentsUnavailable
    (503) and nothing is created. 409 when the driver already has this plan (or is paying
    for it), or names more vehicles than it covers. The same `idempotency_key` again
    returns the first membership.
    """
    now = now or utcnow()
    plan = get_plan(plan_id, active_only=True)
    vehicles = _own_vehicles(user, vehicle_ids)
    if not vehicles:
        raise Invalid("vehicle_ids", "Choose at least one of your vehicles to cover.")
    if len(vehicles) > plan.vehicle_limit:
        raise _over_limit(plan)
    replay = _replay(user, idempotency_key)
    if replay is not None:
        return replay
    paid = False
    with write_transaction() as session:
        _lock_user(session, user)
        held = session.scalar(
            select(Membership.id).where(
                Membership.user_id == user.id,
                Membership.plan_id == plan.id,
                Membership.status.in_(HELD),
                Membership.in_force_until > now,
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
            auto_renew=bool(auto_renew),
            price_cents=plan.price_cents,
            total_paid_cents=0,
            currency=plan.currency,
        )
        membership.attached = [MembershipVehicle(vehicle_id=v.id) for v in vehicles]
        session.add(membership)
        session.flush()
        paid = bool(plan.price_cents) and (
            _charge(session, membership, SUBSCRIBE, idempotency_key, now) == PAID
        )
        if paid or not plan.price_cents:
            membership.status = MembershipStatus.ACTIVE
            membership.total_paid_cents = plan.price_cents
            membership.paid_at = now
    if paid:
        hooks.membership_paid.send(None, membership_id=membership.id)
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
    """Stop covering a vehicle (its stays booked so far keep their prices); 404 if not covered,
    409 `last_vehicle` for the one vehicle of a membership still in force."""
    with write_transaction() as session:
        session.refresh(membership, with_for_update=True)
        link = next((v for v in membership.attached if v.vehicle_id == vehicle_id), None)
        if link is None:
            raise NotFound("That vehicle is not covered by this membership.")
        if len(membership.attached) == 1 and membership.in_force_until > utcnow():
            raise Conflict(
                "A membership covers at least one vehicle: add another one before removing "
                "this one.",
                code="last_vehicle",
            )
        membership.attached.remove(link)
    return membership


def cancel(membership, now=None):
    """Stop auto-renewal: the membership stays in force until its end; nothing is refunded.

    In the grace period of a failed renewal the term is already over: it ends at once.
    """
    now = now or utcnow()
    with write_transaction() as session:
        session.refresh(membership, with_for_update=True)
        if not is_in_force(membership, now) or membership.status != MembershipStatus.ACTIVE:
            raise WrongState("This membership is already cancelled or over.", code="not_active")
        _stop_renewing(membership, now)
    return membership


def _stop_renewing(membership, now):
    membership.status = MembershipStatus.CANCELLED
    membership.auto_renew = False
    membership.cancelled_at = now
    membership.grace_until = membership.retry_at = None


def set_auto_renew(membership, auto_renew, now=None):
    """Turn auto-renewal on or off while the membership is in force (409 once it ended).

    Off is `cancel` (runs to its end); on again makes a cancelled membership renew at its
    end, unless its plan was withdrawn (409). Setting what is already set changes nothing.
    """
    now = now or utcnow()
    with write_transaction() as session:
        session.refresh(membership, with_for_update=True)
        if not is_in_force(membership, now):
            raise WrongState("This membership has ended; subscribe again.", code="not_active")
        if bool(auto_renew) == membership.auto_renew:
            return membership
        if not auto_renew:
            _stop_renewing(membership, now)
        elif not membership.plan.is_active:
            raise WrongState("This plan is no longer offered.", code="plan_withdrawn")
        else:
            membership.status = MembershipStatus.ACTIVE
            membership.auto_renew = True
            membership.cancelled_at = None
    return membership


def extend(membership, now, paid_cents):
    """Add one more term of the plan to a locked membership, paid `paid_cents` at `now`."""
    plan = membership.plan
    membership.ends_at = add_months(membership.ends_at, plan.duration_months)
    membership.price_cents = paid_cents
    membership.total_paid_cents += paid_cents
    membership.paid_at = now
    membership.renewals += 1
    membership.grace_until = membership.retry_at = None  # a failed renewal is paid at last


def renew(membership, now=None, idempotency_key=None):
    """Renew by hand: one more term from the current end, against a payment; auto-renew on.

    Test mode (or a free plan): extended now. Stripe: a pending Checkout payment, the term
    added when it is paid. Neither: PaymentsUnavailable (503). 409 once the membership has
    ended (take out a new one), when the plan is withdrawn, or while a renewal awaits payment.
    """
    now = now or utcnow()
    price = membership.plan.price_cents
    paid = False
    with write_transaction() as session:
        session.refresh(membership, with_for_update=True)
        if not is_in_force(membership, now):
            raise WrongState("This membership has ended; subscribe again.", code="not_active")
        if not membership.plan.is_active:
            raise WrongState("This plan is no longer offered.", code="plan_withdrawn")
        if any(p.status == PaymentStatus.PENDING for p in membership.payments):
            raise Conflict("A payment for this membership is still open.", code="checkout_open")
        paid = bool(price) and _charge(session, membership, RENEW, idempotency_key, now) == PAID
        if paid or not price:
            extend(membership, now, price)
        membership.status = MembershipStatus.ACTIVE
        membership.auto_renew = True
        membership.cancelled_at = None
    if paid:
        hooks.membership_paid.send(None, membership_id=membership.id)
    return membership

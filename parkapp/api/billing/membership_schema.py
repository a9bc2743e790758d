"""The memberships namespace's models and how plans, memberships and payments are shown."""

from flask_restx import Namespace, fields

from parkapp.api.common import (
    MAX_ID,
    NO_NUL,
    error_model,
    iso,
    money,
    money_model,
    page_model,
    page_of,
)
from parkapp.billing import membership_payments, savings
from parkapp.memberships import subscriptions as memberships

ns = Namespace("memberships", description="Membership plans and memberships", path="/")
error = error_model(ns)
money_out = money_model(ns)
BOUNDS = memberships.LIMITS

plan_out = ns.model(
    "MembershipPlan",
    {
        "id": fields.Integer,
        "name": fields.String(example="Commuter"),
        "description": fields.String,
        "duration_months": fields.Integer(example=1),
        "price": fields.Nested(money_out),
        "vehicle_limit": fields.Integer(example=2),
        "included_hours": fields.Integer(example=10, description="per month of membership"),
        "discount_percent": fields.Integer(example=20, description="off what is left"),
        "lot_ids": fields.List(fields.Integer, description="empty: every lot"),
        "summary": fields.String(example="10 h a month included, then 20% off"),
        "is_active": fields.Boolean,
    },
)
plan_page = page_model(ns, "MembershipPlanPage", plan_out)
IDEMPOTENCY = {
    "Idempotency-Key": {
        "in": "header",
        "type": "string",
        "description": "the same key again returns the first answer and charges nothing more",
    }
}


def _plan_fields(required):
    def bounded(name, example, description=None):
        low, high = BOUNDS[name]
        return fields.Integer(
            required=required, min=low, max=high, example=example, description=description
        )

    return {
        "name": fields.String(
            required=required, min_length=2, max_length=80, pattern=NO_NUL, example="Commuter"
        ),
        "description": fields.String(max_length=2000, pattern=NO_NUL),
        "duration_months": bounded("duration_months", 1),
        "price_cents": bounded("price_cents", 4900),
        "currency": fields.String(
            required=required, pattern="^[A-Za-z]{3}$", example="GBP", description="ISO 4217"
        ),
        "vehicle_limit": bounded("vehicle_limit", 2),
        "included_hours": bounded("included_hours", 10, "per month of membership"),
        "discount_percent": bounded("discount_percent", 20),
        "lot_ids": fields.List(
            fields.Integer(min=1, max=MAX_ID), max_items=500, description="empty: every lot"
        ),
    }


plan_in = ns.model("MembershipPlanCreate", _plan_fields(True), strict=True)
plan_changes_in = ns.model(
    "MembershipPlanChanges",
    {**_plan_fields(False), "is_active": fields.Boolean(description="false withdraws the plan")},
    strict=True,
)
vehicle_brief = ns.model(
    "MembershipVehicle", {"id": fields.Integer, "plate": fields.String(example="AB12CDE")}
)
usage_out = ns.model(
    "MembershipUsage",
    {
        "period_start": fields.DateTime,
        "period_end": fields.DateTime,
        "hours_included": fields.Float(example=10),
        "hours_used": fields.Float(example=2.5),
        "hours_left": fields.Float(example=7.5),
        "stays": fields.Integer(example=3),
        "saved": fields.Nested(money_out, description="what its lines took off its stays"),
        "days_remaining": fields.Integer(example=21),
    },
)
membership_payment_out = ns.model(
    "MembershipPayment",
    {
        "id": fields.Integer,
        "purpose": fields.String(enum=["subscribe", "renew"]),
        "status": fields.String(enum=["pending", "paid", "failed", "refunded"]),
        "amount": fields.Nested(money_out),
        "test_mode": fields.Boolean(description="recorded paid with no card charged"),
        "receipt_number": fields.String(example="M-20261123-7KQ2MX"),
        "paid_at": fields.DateTime,
        "checkout_url": fields.String(description="Stripe Checkout page while pending"),
    },
)
membership_out = ns.model(
    "Membership",
    {
        "id": fields.Integer,
        "plan": fields.Nested(plan_out),
        "status": fields.String(enum=[s.value for s in memberships.MembershipStatus]),
        "starts_at": fields.DateTime,
        "ends_at": fields.DateTime,
        "auto_renew": fields.Boolean,
        "next_renewal_at": fields.DateTime(
            description="when it renews (charged) next; null when it will not"
        ),
        "renewal_failed": fields.Boolean(
            description="its renewal's payment failed: in force until grace_until, retried daily"
        ),
        "grace_until": fields.DateTime(
            description="while renewal_failed: in force until then, lapses after it unpaid"
        ),
        "price": fields.Nested(money_out, description="charged for the current term"),
        "total_paid": fields.Nested(money_out),
        "paid_at": fields.DateTime,
        "vehicles": fields.List(fields.Nested(vehicle_brief)),
        "usage": fields.Nested(usage_out),
        "payment": fields.Nested(
            membership_payment_out, allow_null=True, description="the latest payment"
        ),
    },
)
membership_page = page_model(ns, "MembershipPage", membership_out)
subscribe_in = ns.model(
    "MembershipSubscribe",
    {
        "plan_id": fields.Integer(required=True, min=1, max=MAX_ID),
        "vehicle_ids": fields.List(
            fields.Integer(min=1, max=MAX_ID),
            required=True,
            min_items=1,
            max_items=50,
            description="your vehicles to cover: at least one",
        ),
        "auto_renew": fields.Boolean(
            default=True, description="renew (and charge) by itself at each term's end"
        ),
    },
    strict=True,
)
auto_renew_in = ns.model(
    "MembershipChanges",
    {"auto_renew": fields.Boolean(required=True, description="false: runs to its end")},
    strict=True,
)
attach_in = ns.model(
    "MembershipAttach",
    {"vehicle_id": fields.Integer(required=True, min=1, max=MAX_ID)},
    strict=True,
)


def plan_dict(plan):
    """A plan as the API shows it."""
    return {
        "id": plan.id,
        "name": plan.name,
        "description": plan.description,
        "duration_months": plan.duration_months,
        "price": money(plan.price_cents, plan.currency),
        "vehicle_limit": plan.vehicle_limit,
        "included_hours": plan.included_hours,
        "discount_percent": plan.discount_percent,
        "lot_ids": [lot.id for lot in plan.lots],
        "summary": memberships.describe_plan(plan),
        "is_active": plan.is_active,
    }


def payment_dict(payment):
    """A membership payment as the API shows it (None for none)."""
    if payment is None:
        return None
    return {
        "id": payment.id,
        "purpose": payment.purpose,
        "status": payment.status.value,
        "amount": money(payment.amount_cents, payment.currency),
        "test_mode": payment.test_mode,
        "receipt_number": payment.receipt_number,
        "paid_at": iso(payment.paid_at),
        "checkout_url": membership_payments.checkout_url(payment)
        if payment.status.value == "pending"
        else None,
    }


def membership_list(items):
    """A page of memberships, their usage figures read for all of them at once."""
    usages = savings.usages(items)
    return page_of(items, lambda m: membership_dict(m, usages[m.id]))


def membership_dict(membership, usage=None):
    """A membership with its usage figures and latest payment."""
    usage = usage or savings.usage(membership)
    renews = membership.auto_renew and membership.status.value == "active"
    return {
        "id": membership.id,
        "plan": plan_dict(membership.plan),
        "status": membership.status.value,
        "starts_at": iso(membership.starts_at),
        "ends_at": iso(membership.ends_at),
        "auto_renew": membership.auto_renew,
        "next_renewal_at": iso(membership.ends_at) if renews else None,
        "renewal_failed": membership.renewal_failed and membership.status.value == "active",
        "grace_until": iso(membership.grace_until) if renews else None,
        "price": money(membership.price_cents, membership.currency),
        "total_paid": money(membership.total_paid_cents, membership.currency),
        "paid_at": iso(membership.paid_at),
        "vehicles": [{"id": v.id, "plate": v.plate} for v in membership.vehicles],
        "usage": {
            "period_start": iso(usage.period_start),
            "period_end": iso(usage.period_end),
            "hours_included": usage.included_minutes / 60,
            "hours_used": usage.hours_used,
            "hours_left": usage.hours_left,
            "stays": usage.stays,
            "saved": money(usage.saved_cents, membership.currency),
            "days_remaining": usage.days_remaining,
        },
        "payment": payment_dict(membership_payments.latest(membership)),
    }

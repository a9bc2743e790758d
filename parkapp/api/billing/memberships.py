"""/membership-plans (anyone reads, admins manage) and /memberships (a driver's own)."""

from flask import request
from flask_jwt_extended import current_user
from flask_restx import Namespace, fields

from parkapp.api.common import (
    ID,
    MAX_ID,
    NO_NUL,
    Resource,
    error_model,
    iso,
    json_body,
    money,
    money_model,
    page_model,
    page_of,
    paginate,
    roles_required,
)
from parkapp.billing import membership_payments, payments, savings
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


def _key():
    key = request.headers.get("Idempotency-Key")
    return payments.check_key(key) if key is not None else None


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
            fields.Integer(min=1, max=MAX_ID), max_items=50, description="your vehicles to cover"
        ),
    },
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


def membership_dict(membership):
    """A membership with its usage figures and latest payment."""
    usage = savings.usage(membership)
    return {
        "id": membership.id,
        "plan": plan_dict(membership.plan),
        "status": membership.status.value,
        "starts_at": iso(membership.starts_at),
        "ends_at": iso(membership.ends_at),
        "auto_renew": membership.auto_renew,
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


@ns.route("/membership-plans")
class PlanList(Resource):
    @ns.doc(security=[])
    @ns.response(200, "Plans on offer, cheapest first", plan_page)
    def get(self):
        """Membership plans on offer."""
        return paginate(memberships.plans_query(active_only=True), plan_dict)

    @ns.expect(plan_in, validate=True)
    @ns.response(201, "Created", plan_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(409, "Name taken", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def post(self):
        """Create a membership plan (admin)."""
        plan = memberships.create_plan(memberships.PlanInput(**json_body()))
        return plan_dict(plan), 201


@ns.route(f"/membership-plans/<{ID}:plan_id>")
@ns.param("plan_id", "The plan id")
@ns.response(404, "No such plan", error)
class PlanItem(Resource):
    @ns.doc(security=[])
    @ns.response(200, "The plan (withdrawn plans too)", plan_out)
    def get(self, plan_id):
        """One membership plan."""
        return plan_dict(memberships.get_plan(plan_id))

    @ns.expect(plan_changes_in, validate=True)
    @ns.response(200, "Updated", plan_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(409, "Name taken", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("admin")
    def patch(self, plan_id):
        """Change a plan; is_active false withdraws it, true offers it again (admin)."""
        plan = memberships.get_plan(plan_id)
        data = json_body()
        changes = {k: v for k, v in data.items() if k != "is_active"}
        if changes:
            plan = memberships.update_plan(plan, changes)
        if "is_active" in data:
            memberships.set_plan_active(plan, data["is_active"])
        return plan_dict(plan)

    @ns.response(204, "Withdrawn")
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @roles_required("admin")
    def delete(self, plan_id):
        """Withdraw a plan: no new members; current memberships run on (admin)."""
        memberships.set_plan_active(memberships.get_plan(plan_id), False)
        return "", 204


@ns.route("/memberships")
@ns.response(401, "No valid token", error)
@ns.response(403, "Not a driver", error)
class MembershipList(Resource):
    @ns.response(200, "Your memberships, newest first", membership_page)
    @roles_required("user")
    def get(self):
        """Your memberships with their usage."""
        return page_of(memberships.memberships_of(current_user), membership_dict)

    @ns.expect(subscribe_in, validate=True)
    @ns.doc(params=IDEMPOTENCY)
    @ns.response(
        201,
        "Subscribed against a payment: paid (test mode), or pending with its checkout_url",
        membership_out,
    )
    @ns.response(404, "No such plan on offer", error)
    @ns.response(409, "Already a member of this plan, or more vehicles than it covers", error)
    @ns.response(422, "Invalid field, or not your vehicle", error)
    @ns.response(503, "No payment service set up (payments_unavailable), or Stripe down", error)
    @roles_required("user")
    def post(self):
        """Subscribe to a plan, covering some of your vehicles; the payment is in the answer."""
        data = json_body()
        membership = memberships.subscribe(
            current_user,
            data["plan_id"],
            data.get("vehicle_ids") or [],
            idempotency_key=_key(),
        )
        return membership_dict(membership), 201


@ns.route(f"/memberships/<{ID}:membership_id>")
@ns.param("membership_id", "The membership id")
@ns.response(401, "No valid token", error)
@ns.response(403, "Not a driver", error)
@ns.response(404, "No such membership of yours", error)
class MembershipItem(Resource):
    @ns.response(200, "The membership with its usage", membership_out)
    @roles_required("user")
    def get(self, membership_id):
        """One of your memberships with its usage."""
        return membership_dict(memberships.get_membership(membership_id, current_user))


@ns.route(f"/memberships/<{ID}:membership_id>/vehicles")
@ns.param("membership_id", "The membership id")
class MembershipVehicles(Resource):
    @ns.expect(attach_in, validate=True)
    @ns.response(200, "Attached", membership_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not a driver", error)
    @ns.response(404, "No such membership of yours", error)
    @ns.response(409, "The plan covers no more vehicles, already covered, or ended", error)
    @ns.response(422, "Not your vehicle", error)
    @roles_required("user")
    def post(self, membership_id):
        """Cover one more of your vehicles."""
        membership = memberships.get_membership(membership_id, current_user)
        memberships.attach_vehicle(membership, json_body()["vehicle_id"])
        return membership_dict(membership)


@ns.route(f"/memberships/<{ID}:membership_id>/vehicles/<{ID}:vehicle_id>")
@ns.param("membership_id", "The membership id")
@ns.param("vehicle_id", "The vehicle id")
class MembershipVehicle(Resource):
    @ns.response(204, "Detached")
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not a driver", error)
    @ns.response(404, "No such membership of yours, or vehicle not covered", error)
    @roles_required("user")
    def delete(self, membership_id, vehicle_id):
        """Stop covering a vehicle."""
        membership = memberships.get_membership(membership_id, current_user)
        memberships.detach_vehicle(membership, vehicle_id)
        return "", 204


def _action(name, summary, conflict):
    @ns.route(f"/memberships/<{ID}:membership_id>/{name}")
    @ns.param("membership_id", "The membership id")
    class Action(Resource):
        @ns.response(200, "Done", membership_out)
        @ns.response(401, "No valid token", error)
        @ns.response(403, "Not a driver", error)
        @ns.response(404, "No such membership of yours", error)
        @ns.response(409, conflict, error)
        @roles_required("user")
        def post(self, membership_id):
            membership = memberships.get_membership(membership_id, current_user)
            getattr(memberships, name)(membership)
            return membership_dict(membership)

    Action.post.__doc__ = summary
    Action.__name__ = f"Membership{name.title()}"
    return Action


_action(
    "cancel",
    "Turn auto-renewal off: in force until its end; nothing is refunded.",
    "Already cancelled or over",
)
_action(
    "renew",
    "Renew for one more term from the current end, against a payment (503 without one).",
    "Ended, or the plan is withdrawn",
)

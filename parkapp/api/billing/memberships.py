"""/membership-plans (anyone reads, admins manage) and /memberships (a driver's own)."""

from flask import request
from flask_jwt_extended import current_user

from parkapp.api.billing.membership_schema import (
    IDEMPOTENCY,
    attach_in,
    auto_renew_in,
    error,
    membership_dict,
    membership_list,
    membership_out,
    membership_page,
    ns,
    plan_changes_in,
    plan_dict,
    plan_in,
    plan_out,
    plan_page,
    subscribe_in,
)
from parkapp.api.common import ID, Resource, json_body, paginate, roles_required
from parkapp.billing import payments
from parkapp.memberships import subscriptions as memberships


def _key():
    key = request.headers.get("Idempotency-Key")
    return payments.check_key(key) if key is not None else None


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
        return membership_list(memberships.memberships_of(current_user))

    @ns.expect(subscribe_in, validate=True)
    @ns.doc(params=IDEMPOTENCY)
    @ns.response(
        201,
        "Subscribed against a payment: paid (test mode), or pending with its checkout_url",
        membership_out,
    )
    @ns.response(404, "No such plan on offer", error)
    @ns.response(409, "Already a member of this plan, or more vehicles than it covers", error)
    @ns.response(422, "Invalid field, no vehicle named, or not your vehicle", error)
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
            auto_renew=data.get("auto_renew", True),
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

    @ns.expect(auto_renew_in, validate=True)
    @ns.response(200, "Changed", membership_out)
    @ns.response(409, "Ended, or auto-renew on for a withdrawn plan", error)
    @ns.response(422, "Invalid field", error)
    @roles_required("user")
    def patch(self, membership_id):
        """Turn auto-renewal on or off (off runs the membership to its end)."""
        membership = memberships.get_membership(membership_id, current_user)
        memberships.set_auto_renew(membership, json_body()["auto_renew"])
        return membership_dict(membership)


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
    @ns.response(409, "The membership's only vehicle", error)
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

"""/lots/{id}/demand: anyone reads a lot's demand pricing; admins replace its settings."""

from flask_restx import Namespace, fields

from parkapp.api.common import (
    ID,
    Resource,
    error_model,
    json_body,
    nullable,
    optional_user,
    roles_required,
)
from parkapp.lots import lots
from parkapp.models import DemandDirection
from parkapp.models.pricing import MAX_ADJUST, MIN_ADJUST
from parkapp.pricing import demand

ns = Namespace("demand", description="Demand pricing: rates that follow occupancy", path="/")
error = error_model(ns)
DIRECTIONS = [d.value for d in DemandDirection]
TOKEN_OPTIONAL = [{}, "Bearer"]

step_fields = {
    "direction": fields.String(
        required=True, enum=DIRECTIONS, description="above: at T% full or more; below: under T%"
    ),
    "threshold_percent": fields.Integer(required=True, min=0, max=100, example=85),
    "adjust_percent": fields.Integer(
        required=True, min=MIN_ADJUST, max=MAX_ADJUST, example=25, description="not 0"
    ),
}
step_in = ns.model("DemandStepInput", step_fields, strict=True)
step_out = ns.model(
    "DemandStep", {**step_fields, "description": fields.String(example="+25% at 85% full or more")}
)
adjustment_out = ns.model(
    "DemandAdjustment",
    {"percent": fields.Integer(example=25), "occupancy_percent": fields.Integer(example=88)},
)
demand_out = ns.model(
    "DemandPricing",
    {
        "lot_id": fields.Integer,
        "enabled": fields.Boolean,
        "currency": fields.String(example="USD"),
        "floor_cents": fields.Integer(description="lowest adjusted hourly rate; null: none"),
        "ceiling_cents": fields.Integer(description="highest adjusted hourly rate; null: none"),
        "steps": fields.List(fields.Nested(step_out)),
        "occupied": fields.Integer(description="spots a booking covers now"),
        "spots_in_service": fields.Integer,
        "occupancy_percent": fields.Integer(description="rounded down"),
        "adjustment": fields.Nested(adjustment_out, allow_null=True, description="null: none"),
        "hourly_rate_cents": fields.Integer(description="the lot's own hourly rate"),
        "adjusted_hourly_rate_cents": fields.Integer(description="with the adjustment, bounded"),
    },
)
demand_in = ns.model(
    "DemandPricingInput",
    {
        "enabled": fields.Boolean(required=True),
        "floor_cents": nullable(fields.Integer(min=0, max=demand.MAX_BOUND, example=300)),
        "ceiling_cents": nullable(fields.Integer(min=0, max=demand.MAX_BOUND, example=800)),
        "steps": fields.List(
            fields.Nested(step_in), max_items=demand.MAX_STEPS, description="replaces all"
        ),
    },
    strict=True,
)


def step_dict(step):
    return {
        "direction": step.direction.value,
        "threshold_percent": step.threshold_percent,
        "adjust_percent": step.adjust_percent,
        "description": demand.describe(step),
    }


def demand_dict(lot):
    """A lot's demand settings with its occupancy and adjustment now."""
    now = demand.status(lot)
    adjust = now.adjustment
    return {
        "lot_id": lot.id,
        "enabled": lot.demand_enabled,
        "currency": lot.currency,
        "floor_cents": lot.demand_floor_cents,
        "ceiling_cents": lot.demand_ceiling_cents,
        "steps": [step_dict(step) for step in demand.ordered(lot.demand_steps)],
        "occupied": now.occupied,
        "spots_in_service": now.in_service,
        "occupancy_percent": now.occupancy_percent,
        "adjustment": (
            {"percent": adjust.percent, "occupancy_percent": adjust.occupancy_percent}
            if adjust
            else None
        ),
        "hourly_rate_cents": now.hourly_rate_cents,
        "adjusted_hourly_rate_cents": now.adjusted_hourly_rate_cents,
    }


@ns.route(f"/lots/<{ID}:lot_id>/demand")
@ns.param("lot_id", "The lot id")
class LotDemand(Resource):
    @ns.doc(security=TOKEN_OPTIONAL)
    @ns.response(200, "The lot's demand pricing now", demand_out)
    @ns.response(401, "A token was sent but is not valid", error)
    @ns.response(404, "No such lot", error)
    def get(self, lot_id):
        """A lot's demand steps, bounds, occupancy and the adjustment in force now."""
        user = optional_user()
        lot = lots.get_lot(lot_id, include_inactive=user is not None and user.is_admin)
        return demand_dict(lot)

    @ns.expect(demand_in, validate=True)
    @ns.response(200, "Replaced", demand_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(
        422, "A bad field or step (e.g. past the floor or ceiling); nothing changed", error
    )
    @roles_required("admin")
    def put(self, lot_id):
        """Turn demand pricing on or off and replace its bounds and steps at once (admin)."""
        lot = lots.get_lot(lot_id, include_inactive=True)
        data = json_body()
        settings = demand.Settings(
            enabled=data["enabled"],
            floor_cents=data.get("floor_cents"),
            ceiling_cents=data.get("ceiling_cents"),
            steps=tuple(demand.StepInput(**step) for step in data.get("steps") or ()),
        )
        demand.replace_settings(lot, settings)
        return demand_dict(lot)

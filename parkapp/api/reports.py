"""/reports: the admin dashboard's figures."""

from flask_restx import Namespace, Resource, fields

from parkapp.api.common import error_model, roles_required
from parkapp.services import reports

ns = Namespace("reports", description="Figures for admins")
error = error_model(ns)

dashboard_out = ns.model(
    "Dashboard",
    {
        "lots": fields.Integer(description="active lots"),
        "spots": fields.Integer(description="spots in service"),
        "occupied_now": fields.Integer,
        "occupancy_percent": fields.Float(example=42.5),
        "active_bookings": fields.Integer,
        "bookings_today": fields.Integer(description="created today (UTC)"),
        "revenue_today": fields.List(
            fields.Nested(
                ns.model(
                    "Revenue",
                    {"amount_cents": fields.Integer, "currency": fields.String(example="GBP")},
                )
            ),
            description="completed stays released today (UTC), per currency",
        ),
    },
)


@ns.route("/dashboard")
class Dashboard(Resource):
    @ns.response(200, "Today's figures", dashboard_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @roles_required("admin")
    def get(self):
        """Occupancy, active bookings, bookings and revenue today (admin)."""
        return reports.dashboard()

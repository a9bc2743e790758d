"""/reports: the admin dashboard's figures, and the operators' day at each lot."""

from flask import request
from flask_restx import Namespace, fields

from parkapp.analytics import charts as analytics
from parkapp.analytics import dashboard as reports
from parkapp.api.common import (
    MAX_ID,
    Resource,
    arg_int,
    error_model,
    iso,
    query_params,
    roles_required,
)
from parkapp.gate import dashboard as operations
from parkapp.models import PaymentMethod, WaitlistStatus

ns = Namespace("reports", description="Figures for admins and operators")
error = error_model(ns)


class Row(fields.Raw):
    """One chart row: its cells in column order (text, numbers or null)."""

    __schema_type__ = "array"

    def schema(self):
        return {**super().schema(), "items": {}}


dashboard_out = ns.model(
    "Dashboard",
    {
        "lots": fields.Integer(description="active lots"),
        "spots": fields.Integer(description="spots in service"),
        "occupied_now": fields.Integer,
        "occupancy_percent": fields.Float(example=42.5),
        "active_bookings": fields.Integer,
        "bookings_today": fields.Integer(description="created today (UTC)"),
        "entries_today": fields.Integer(description="stays checked in today (UTC)"),
        "exits_today": fields.Integer(description="stays released today (UTC)"),
        "revenue_today": fields.List(
            fields.Nested(
                ns.model(
                    "Revenue",
                    {"amount_cents": fields.Integer, "currency": fields.String(example="GBP")},
                )
            ),
            description="completed stays released today (UTC), per currency",
        ),
        "analytics": fields.Raw(
            description="every analytics chart (as GET /reports/<chart>) for the filters given"
        ),
    },
)
chart_out = ns.model(
    "AnalyticsChart",
    {
        "chart": fields.String(enum=list(analytics.CHARTS)),
        "title": fields.String,
        "from": fields.Date,
        "to": fields.Date,
        "lot_id": fields.Integer(description="null: all lots"),
        "timezone": fields.String(
            description="the lot's zone; for all lots 'local' (each lot's own days), "
            "or UTC for occupancy"
        ),
        "note": fields.String,
        "columns": fields.List(fields.String),
        "rows": fields.List(Row, description="one list of cells per row, as columns"),
        "summary": fields.Raw,
    },
)
CHART_PARAMS = query_params(
    **{
        "from": ("string", "first day, YYYY-MM-DD (default: 29 days before `to`)"),
        "to": ("string", "last day, YYYY-MM-DD (default: today); at most 366 days"),
        "lot_id": ("integer", "only this lot (default: all lots, each on its own local days)"),
        "day": ("string", "occupancy: the day (default: today, or `to`)"),
        "span": ("string", "occupancy: day or week"),
    }
)


@ns.route("/dashboard")
class Dashboard(Resource):
    @ns.doc(params=CHART_PARAMS)
    @ns.response(200, "Today's figures", dashboard_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(422, "A bad date, or a range that ends before it starts", error)
    @roles_required("admin")
    def get(self):
        """Today's figures (admin), and every analytics chart for the filters given."""
        filters = analytics.parse_filters(request.args)
        return {
            **reports.dashboard(),
            "analytics": {
                name: result.as_dict(filters)
                for name, result in analytics.all_charts(filters).items()
            },
        }


def _chart_resource(name):
    """GET /reports/<name>: one analytics chart as a table (admin)."""

    class ChartResource(Resource):
        @ns.doc(params=CHART_PARAMS)
        @ns.response(200, "The chart's rows", chart_out)
        @ns.response(401, "No valid token", error)
        @ns.response(403, "Not an admin", error)
        @ns.response(404, "No such lot", error)
        @ns.response(422, "A bad date, or a range that ends before it starts", error)
        @roles_required("admin")
        def get(self):
            filters = analytics.parse_filters(request.args)
            return analytics.chart(name, filters).as_dict(filters)

    ChartResource.get.__doc__ = f"The {name.replace('-', ' ')} chart's data (admin)."
    ChartResource.__name__ = "Chart" + name.title().replace("-", "")
    ns.route(f"/{name}", endpoint=f"reports_{name}")(ChartResource)


for _name in analytics.CHARTS:
    _chart_resource(_name)


METHODS = [method.value for method in PaymentMethod]
fee_out = ns.model(
    "Fee",
    {
        "method": fields.String(enum=METHODS),
        "amount_cents": fields.Integer(description="paid today, refunds subtracted"),
        "currency": fields.String(example="GBP"),
    },
)
queued_out = ns.model(
    "QueuedVehicle",
    {
        "entry_id": fields.Integer,
        "position": fields.Integer(description="place among the waiting; null while offered"),
        "vehicle_plate": fields.String(example="AB12CDE"),
        "driver": fields.String(description="the driver's name; null: queued at the gate"),
        "spot_kind": fields.String(description="null: any spot that fits the vehicle"),
        "since": fields.DateTime,
        "status": fields.String(enum=[WaitlistStatus.WAITING.value, WaitlistStatus.OFFERED.value]),
        "offered_spot": fields.String(description="label of the spot held, while offered"),
        "offer_expires_at": fields.DateTime,
    },
)
figures = {
    "entries_today": fields.Integer(description="stays checked in today"),
    "exits_today": fields.Integer(description="stays released today"),
    "inside_now": fields.Integer(description="active stays"),
    "waiting": fields.Integer,
    "offered": fields.Integer,
}
lot_day_out = ns.model(
    "LotOperations",
    {
        "lot_id": fields.Integer,
        "lot_name": fields.String,
        "timezone": fields.String(example="Europe/London"),
        "day": fields.Date(description="today in the lot's time zone"),
        **figures,
        "fees_today": fields.List(fields.Nested(fee_out)),
        "queue": fields.List(fields.Nested(queued_out), description="FIFO order"),
    },
)
operations_out = ns.model(
    "Operations",
    {
        "as_of": fields.DateTime,
        "lots": fields.List(fields.Nested(lot_day_out)),
        "totals": fields.Nested(
            ns.model(
                "OperationsTotals",
                {**figures, "fees_today": fields.List(fields.Nested(fee_out))},
            )
        ),
    },
)


def _queued_dict(row):
    entry = row.entry
    return {
        "entry_id": entry.id,
        "position": row.position,
        "vehicle_plate": entry.plate,
        "driver": entry.user.display_name if entry.user else None,
        "spot_kind": entry.spot_kind.value if entry.spot_kind else None,
        "since": iso(entry.created_at),
        "status": entry.status.value,
        "offered_spot": entry.offered_spot.label if entry.is_offered else None,
        "offer_expires_at": iso(entry.offer_expires_at) if entry.is_offered else None,
    }


def _fees(by_method, currency):
    return [
        {"method": method.value, "amount_cents": cents, "currency": currency}
        for method, cents in sorted(by_method.items())
    ]


def operations_dict(ops):
    """The operator dashboard as the API shows it."""
    totals = ops.totals
    return {
        "as_of": iso(ops.as_of),
        "lots": [
            {
                "lot_id": day.lot.id,
                "lot_name": day.lot.name,
                "timezone": day.lot.timezone,
                "day": day.day.isoformat(),
                "entries_today": day.entries,
                "exits_today": day.exits,
                "inside_now": day.inside,
                "waiting": day.waiting,
                "offered": day.offered,
                "fees_today": _fees(day.fees, day.lot.currency),
                "queue": [_queued_dict(row) for row in day.queue],
            }
            for day in ops.lots
        ],
        "totals": {
            "entries_today": totals["entries"],
            "exits_today": totals["exits"],
            "inside_now": totals["inside"],
            "waiting": totals["waiting"],
            "offered": totals["offered"],
            "fees_today": [
                fee
                for currency, by_method in totals["fees"].items()
                for fee in _fees(by_method, currency)
            ],
        },
    }


@ns.route("/operations")
class OperationsToday(Resource):
    @ns.doc(params=query_params(lot_id=("integer", "only this lot")))
    @ns.response(200, "Today at each lot, in the lot's own time zone", operations_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an operator or admin", error)
    @ns.response(404, "No such lot", error)
    @ns.response(422, "lot_id is not a whole number", error)
    @roles_required("operator", "admin")
    def get(self):
        """Entries, exits, vehicles inside, fees by method and the waitlist of each lot."""
        lot_id = arg_int("lot_id", low=1, high=MAX_ID)
        return operations_dict(operations.today(lot_id))

"""Admin analytics page: the charts over a range of days, and each chart's data as CSV.

Routes register on the admin blueprint, so its guard (admins only) covers them. The filters
are read by the analytics service, as the API reads them.
"""

from flask import Response, abort, render_template, request

from parkapp.admin.blueprint import bp
from parkapp.analytics import charts as analytics
from parkapp.core.exceptions import Invalid
from parkapp.lots.lots import picker_lots

HEAT_LEVELS = 5


@bp.get("/analytics")
def analytics_page():
    """Every chart for the filters; a bad filter is shown next to its field (422)."""
    errors, status = {}, 200
    try:
        filters = analytics.parse_filters(request.args)
    except Invalid as exc:
        errors, status = exc.errors, 422
        filters = _default_filters(request.args.get("lot_id"))
    charts = analytics.all_charts(filters)
    return render_template(
        "admin/analytics.html",
        filters=filters,
        args=request.args,
        errors=errors,
        charts=charts,
        payload={name: chart.as_dict(filters) for name, chart in charts.items()},
        lots=picker_lots(),
        heat=_heat(charts["peak-hours"]),
    ), status


@bp.get("/analytics/<chart>.csv")
def analytics_csv(chart):
    """One chart's rows as a CSV download (422 for bad filters, as on the page)."""
    if chart not in analytics.CHARTS:
        abort(404)
    filters = analytics.parse_filters(request.args)
    name = f"{chart}_{filters.first.isoformat()}_{filters.last.isoformat()}.csv"
    return Response(
        analytics.csv_text(analytics.chart(chart, filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _default_filters(lot_id):
    """The default range, for the chosen lot when that part of the filter is fine."""
    try:
        return analytics.parse_filters({"lot_id": lot_id})
    except Invalid:
        return analytics.parse_filters({})


def _heat(chart):
    """The peak-hours grid as {weekday: [(arrivals, shade level 0..5)] by hour}."""
    top = max((row[2] for row in chart.rows), default=0)
    grid = {}
    for weekday, _hour, count in chart.rows:
        level = -(-count * HEAT_LEVELS // top) if top else 0  # ceiling: any arrival shows
        grid.setdefault(weekday, []).append((count, level))
    return grid

"""Analytics charts on a small hand-made history with known answers, over the API and pages.

Two lots: "Hudson" in New York (UTC-5 in January, 2 spots, USD) and "Quay" in UTC (1 spot,
EUR). Monday 5 January 2026, New York time:
- stay A on spot 1: 22:30 to 01:30 the next day (crosses hours and midnight), paid 6.00
  at 01:30 (06:30 UTC, 6 January);
- stay B on spot 2: 09:00 to 10:30, checked in at 08:50, paid 4.50 at 21:00 (02:00 UTC on
  the 6th: another day in UTC than in New York), 1.00 of it refunded;
- one cancelled reservation and one no-show that day.
Quay: stay C, Wednesday 7 January 10:00 to 12:00 UTC, paid 8.00 EUR at 12:00.
"""

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from parkapp.analytics import charts as analytics
from parkapp.core.codes import new_code
from parkapp.core.exceptions import Invalid
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Payment, PaymentMethod, PaymentStatus

API = "/api/v1"
NY = ZoneInfo("America/New_York")


def ny(day, hour, minute=0):
    return datetime(2026, 1, day, hour, minute, tzinfo=NY)


def utc(day, hour, minute=0):
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def add_booking(lot, spot, status, starts, ends, checked_in=None):
    booking = Booking(
        lot_id=lot.id,
        spot_id=spot.id,
        plate="AB12CDE",
        status=status,
        starts_at=starts,
        ends_at=ends,
        booked_ends_at=ends,
        checked_in_at=checked_in or (starts if status == BookingStatus.COMPLETED else None),
        released_at=ends if status == BookingStatus.COMPLETED else None,
        confirmation_code=new_code(),
        currency=lot.currency,
    )
    db.session.add(booking)
    db.session.flush()
    return booking


def add_payment(booking, cents, paid_at, refunded=0):
    db.session.add(
        Payment(
            booking_id=booking.id,
            method=PaymentMethod.CARD,
            status=PaymentStatus.PAID,
            amount_cents=cents,
            refunded_cents=refunded,
            currency=booking.currency,
            idempotency_key=f"key-{booking.id}",
            receipt_number=f"R-{booking.id}",
            paid_at=paid_at,
        )
    )


@pytest.fixture
def history(make_lot):
    hudson = make_lot(
        name="Hudson", timezone="America/New_York", currency="USD", spots={"standard": 2}
    )
    quay = make_lot(name="Quay", timezone="UTC", currency="EUR", spots={"standard": 1})
    one, two = hudson.spots
    stay_a = add_booking(hudson, one, BookingStatus.COMPLETED, ny(5, 22, 30), ny(6, 1, 30))
    stay_b = add_booking(
        hudson, two, BookingStatus.COMPLETED, ny(5, 9), ny(5, 10, 30), checked_in=ny(5, 8, 50)
    )
    add_booking(hudson, one, BookingStatus.CANCELLED, ny(5, 12), ny(5, 14))
    add_booking(hudson, two, BookingStatus.NO_SHOW, ny(5, 18), ny(5, 19))
    stay_c = add_booking(quay, quay.spots[0], BookingStatus.COMPLETED, utc(7, 10), utc(7, 12))
    add_payment(stay_a, 600, ny(6, 1, 30))
    add_payment(stay_b, 450, ny(5, 21), refunded=100)
    add_payment(stay_c, 800, utc(7, 12))
    db.session.commit()
    return hudson, quay


def filters(lot=None, **args):
    if lot is not None:
        args["lot_id"] = str(lot.id)
    return analytics.parse_filters(args)


def column(result, name):
    index = result.columns.index(name)
    return [row[index] for row in result.rows]


def test_occupancy_by_hour_in_the_lots_zone(app_ctx, history):
    hudson, _quay = history
    day = analytics.occupancy_by_hour(filters(hudson, day="2026-01-05"))
    assert len(day.rows) == 24 and day.timezone == "America/New_York"
    percent = dict(zip(column(day, "hour"), column(day, "occupied_percent"), strict=True))
    busy = {hour: p for hour, p in percent.items() if p}
    # two spots: a full hour of one stay is 50 %, half an hour 25 %
    assert busy == {
        "2026-01-05 09:00": 50.0,
        "2026-01-05 10:00": 25.0,
        "2026-01-05 22:00": 25.0,
        "2026-01-05 23:00": 50.0,
    }
    week = analytics.occupancy_by_hour(filters(hudson, day="2026-01-05", span="week"))
    assert len(week.rows) == 168
    after_midnight = {r[0]: r[2] for r in week.rows if r[0].startswith("2026-01-06") and r[2]}
    assert after_midnight == {"2026-01-06 00:00": 50.0, "2026-01-06 01:00": 25.0}
    assert sum(column(week, "spot_hours")) == pytest.approx(4.5)


def test_occupancy_for_all_lots_is_in_utc(app_ctx, history):
    result = analytics.occupancy_by_hour(filters(day="2026-01-07"))
    busy = {r[0]: r[2] for r in result.rows if r[2]}
    # three spots in all; stay C fills one from 10:00 to 12:00 UTC
    assert busy == {"2026-01-07 10:00": 33.3, "2026-01-07 11:00": 33.3}
    assert result.timezone == "UTC"


def test_revenue_by_day_is_net_of_refunds_on_local_days(app_ctx, history):
    hudson, _quay = history
    local = analytics.revenue_by_day(filters(hudson, **{"from": "2026-01-05", "to": "2026-01-06"}))
    assert local.rows == [
        ["2026-01-05", "USD", 1, 450, 100, 350],
        ["2026-01-06", "USD", 1, 600, 0, 600],
    ]
    everywhere = analytics.revenue_by_day(filters(**{"from": "2026-01-05", "to": "2026-01-07"}))
    # all lots: each lot's own local days, so stay B's payment stays on the 5th
    assert [r for r in everywhere.rows if r[2]] == [
        ["2026-01-07", "EUR", 1, 800, 0, 800],
        ["2026-01-05", "USD", 1, 450, 100, 350],
        ["2026-01-06", "USD", 1, 600, 0, 600],
    ]
    assert everywhere.summary["net_cents"] == {"EUR": 800, "USD": 950}
    assert everywhere.timezone == "local"


def test_revenue_by_lot(app_ctx, history):
    result = analytics.revenue_by_lot(filters(**{"from": "2026-01-05", "to": "2026-01-07"}))
    hudson, quay = history
    assert result.rows == [
        ["Hudson", hudson.id, "USD", 2, 1050, 100, 950],
        ["Quay", quay.id, "EUR", 1, 800, 0, 800],
    ]


def test_peak_hours_count_arrivals_by_local_weekday_and_hour(app_ctx, history):
    hudson, _quay = history
    local = analytics.peak_hours(filters(hudson, **{"from": "2026-01-05", "to": "2026-01-11"}))
    assert len(local.rows) == 168
    # stay B arrived at 08:50 (check-in), stay A at its 22:30 start
    assert [r for r in local.rows if r[2]] == [["Mon", 8, 1], ["Mon", 22, 1]]
    everywhere = analytics.peak_hours(filters(**{"from": "2026-01-05", "to": "2026-01-11"}))
    assert [r for r in everywhere.rows if r[2]] == [["Mon", 8, 1], ["Mon", 22, 1], ["Wed", 10, 1]]


def test_average_stay(app_ctx, history):
    hudson, _quay = history
    result = analytics.average_stay(filters(hudson, **{"from": "2026-01-05", "to": "2026-01-06"}))
    assert result.rows == [["2026-01-05", 2, 135.0], ["2026-01-06", 0, None]]
    assert result.summary == {"stays": 2, "average_minutes": 135.0}


def test_no_show_and_cancellation_rates(app_ctx, history):
    hudson, _quay = history
    result = analytics.rates(filters(hudson, **{"from": "2026-01-05", "to": "2026-01-05"}))
    assert result.rows == [["2026-01-05", 4, 1, 1, 25.0, 25.0]]
    everywhere = analytics.rates(filters(**{"from": "2026-01-05", "to": "2026-01-07"}))
    assert everywhere.summary["bookings"] == 5
    assert everywhere.summary["no_show_percent"] == 20.0


def test_top_lots_by_stays_and_revenue(app_ctx, history):
    hudson, quay = history
    result = analytics.top_lots(filters(**{"from": "2026-01-05", "to": "2026-01-07"}))
    assert result.rows == [
        ["Hudson", hudson.id, 2, 4.5, "USD", 950, 1, 1],
        ["Quay", quay.id, 1, 2.0, "EUR", 800, 2, 2],
    ]


def test_range_defaults_to_the_last_30_days_and_refuses_bad_ranges(app_ctx):
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    default = analytics.parse_filters({}, now=now)
    assert (default.first.isoformat(), default.last.isoformat()) == ("2026-02-09", "2026-03-10")
    for args, field in (
        ({"from": "2026-03-10", "to": "2026-03-09"}, "to"),
        ({"from": "2025-01-01", "to": "2026-03-09"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"span": "month"}, "span"),
        ({"lot_id": "-1"}, "lot_id"),
        ({"lot_id": "x"}, "lot_id"),
        ({"day": "9999-12-31"}, "day"),
    ):
        with pytest.raises(Invalid) as caught:
            analytics.parse_filters(args, now=now)
        assert field in caught.value.errors


# -- API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("chart", analytics.CHARTS)
def test_api_chart_endpoints(client, admin_headers, history, chart):
    response = client.get(
        f"{API}/reports/{chart}?from=2026-01-05&to=2026-01-07", headers=admin_headers
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["chart"] == chart and body["from"] == "2026-01-05"
    assert all(len(row) == len(body["columns"]) for row in body["rows"])


def test_api_rates_with_a_lot_and_the_dashboard(client, admin_headers, history):
    hudson, _quay = history
    query = f"from=2026-01-05&to=2026-01-05&lot_id={hudson.id}"
    body = client.get(f"{API}/reports/rates?{query}", headers=admin_headers).get_json()
    assert body["rows"] == [["2026-01-05", 4, 1, 1, 25.0, 25.0]]
    assert body["timezone"] == "America/New_York"
    dashboard = client.get(f"{API}/reports/dashboard?{query}", headers=admin_headers).get_json()
    assert set(dashboard["analytics"]) == set(analytics.CHARTS)
    assert dashboard["analytics"]["rates"]["rows"] == body["rows"]
    assert "occupied_now" in dashboard


def test_api_refuses_a_range_that_ends_before_it_starts(client, admin_headers):
    for path in ("/reports/rates", "/reports/dashboard"):
        response = client.get(f"{API}{path}?from=2026-01-07&to=2026-01-05", headers=admin_headers)
        assert response.status_code == 422
        assert response.get_json()["errors"] == {"to": ["The range ends before it starts."]}
    missing = client.get(f"{API}/reports/rates?lot_id=999999", headers=admin_headers)
    assert missing.status_code == 404


def test_api_charts_are_for_admins_only(client, driver_headers, operator_headers):
    assert client.get(f"{API}/reports/occupancy").status_code == 401
    assert client.get(f"{API}/reports/occupancy", headers=driver_headers).status_code == 403
    assert client.get(f"{API}/reports/top-lots", headers=operator_headers).status_code == 403


# -- pages -----------------------------------------------------------------------------------


def test_page_shows_every_chart_with_the_vendored_script(client, auth, admin, history):
    auth.login(admin.email)
    response = client.get("/admin/analytics?from=2026-01-05&to=2026-01-07")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for chart in analytics.CHARTS:
        assert f'id="card-{chart}"' in html
        assert f"/admin/analytics/{chart}.csv?" in html
    assert html.count("<canvas") == 7  # two for top lots; peak hours is a shaded table
    assert 'id="heat-map"' in html and 'class="heat-5"' in html
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert "/static/js/analytics.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert 'type="application/json" id="analytics-data"' in html
    assert "onclick" not in html and "onload" not in html


def test_page_shows_a_bad_range_next_to_the_field(client, auth, admin):
    auth.login(admin.email)
    response = client.get("/admin/analytics?from=2026-01-07&to=2026-01-05")
    assert response.status_code == 422
    assert "The range ends before it starts." in response.get_data(as_text=True)
    junk = client.get("/admin/analytics?lot_id=x&day=9999-12-31")
    assert junk.status_code == 422
    assert "Must be a whole number." in junk.get_data(as_text=True)
    assert client.get("/admin/analytics/rates.csv?from=2026-01-07&to=2026-01-05").status_code == 422


def test_csv_downloads_parse_back(client, auth, admin, history):
    auth.login(admin.email)
    hudson, _quay = history
    response = client.get(
        f"/admin/analytics/revenue-by-day.csv?from=2026-01-05&to=2026-01-06&lot_id={hudson.id}"
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "revenue-by-day_2026-01-05_2026-01-06.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        ["day", "currency", "payments", "paid_cents", "refunded_cents", "net_cents"],
        ["2026-01-05", "USD", "1", "450", "100", "350"],
        ["2026-01-06", "USD", "1", "600", "0", "600"],
    ]
    period = {"from": "2026-01-05", "to": "2026-01-07", "day": "2026-01-07"}
    for chart in analytics.CHARTS:
        body = client.get(f"/admin/analytics/{chart}.csv?from=2026-01-05&to=2026-01-07")
        assert body.status_code == 200
        parsed = list(csv.reader(io.StringIO(body.get_data(as_text=True))))
        assert parsed[0] == list(analytics.BUILDERS[chart](filters(**period)).columns)
        assert len(parsed) == 1 + len(analytics.BUILDERS[chart](filters(**period)).rows)
    assert client.get("/admin/analytics/nothing.csv").status_code == 404


def test_csv_defuses_formulas_in_lot_names(client, auth, admin, make_lot):
    auth.login(admin.email)
    lot = make_lot(name="=HYPERLINK(1)", timezone="UTC")
    stay = add_booking(lot, lot.spots[0], BookingStatus.COMPLETED, utc(5, 9), utc(5, 10))
    add_payment(stay, 200, utc(5, 10))
    db.session.commit()
    body = client.get("/admin/analytics/revenue-by-lot.csv?from=2026-01-05&to=2026-01-05")
    rows = list(csv.reader(io.StringIO(body.get_data(as_text=True))))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_pages_refuse_drivers(client, auth, driver):
    auth.login(driver.email)
    assert client.get("/admin/analytics").status_code == 403
    assert client.get("/admin/analytics/rates.csv").status_code == 403


def test_week_span_crosses_the_clock_change(app_ctx, make_lot):
    lot = make_lot(name="Clocks", timezone="Europe/London", spots={"standard": 1})
    result = analytics.occupancy_by_hour(filters(lot, day="2026-03-25", span="week"))
    assert len(result.rows) == 167  # the clocks go forward on Sunday 29 March
    assert result.rows[-1][0] == "2026-03-31 23:00"

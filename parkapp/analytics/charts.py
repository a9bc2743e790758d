"""The admin analytics charts: occupancy, revenue, peak hours, stays, rates and top lots.

Occupancy is one grouped query over the stays of the chosen hours, in the lot's zone (UTC
for all lots). Every other chart sums the daily rollups (`models/analytics.py`, kept by
`analytics_rollups`), so a year of all lots reads one row per lot and day: days and hours
are each lot's own local ones, for one lot and for all of them ("local").
Revenue is what payments took (paid amount minus refunds, on the day of payment), in each
lot's currency and never converted.
"""

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Float, and_, func, literal, or_, select

from parkapp.analytics import rollups as analytics_rollups
from parkapp.analytics.filters import Chart, Filters, csv_text, parse_filters
from parkapp.analytics.sql import epoch, greatest, least
from parkapp.core.timezones import zone as zone_named
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Lot, Spot, SpotStatus
from parkapp.models import utcnow as _utcnow
from parkapp.models.analytics import HOURS, arrivals_column, lot_day_revenue, lot_days

__all__ = ["CHARTS", "Chart", "Filters", "all_charts", "chart", "csv_text", "parse_filters"]

TOP = 10
LOCAL = "local"
SPANS = ("day", "week")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
OCCUPYING = (BookingStatus.RESERVED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)
CHARTS = (
    "occupancy",
    "revenue-by-day",
    "revenue-by-lot",
    "peak-hours",
    "average-stay",
    "rates",
    "top-lots",
)


def _lot_filter(filters):
    return [Booking.lot_id == filters.lot.id] if filters.lot else []


# -- occupancy -------------------------------------------------------------------------------


def occupancy_by_hour(filters, now=None):
    """Share of spots occupied in each local hour of the chosen day or week (7 days from it)."""
    now = now or _utcnow()
    zone = zone_named(filters.zone_name)
    day = filters.day or filters.last
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    days = 7 if filters.span == "week" else 1
    end = datetime.combine(day + timedelta(days=days), time.min, tzinfo=zone).astimezone(UTC)
    count = int((end - start).total_seconds() // 3600)  # 23 or 25 on a clock-change day
    seconds = _overlap_by_hour(filters, start, end, count, now)
    spots = db.session.scalar(
        select(func.count(Spot.id)).where(
            Spot.status != SpotStatus.REMOVED,
            *([Spot.lot_id == filters.lot.id] if filters.lot else []),
        )
    )
    rows = []
    for n in range(count):
        hour = (start + timedelta(hours=n)).astimezone(zone)
        spot_hours = seconds.get(n, 0) / 3600
        percent = round(100 * spot_hours / spots, 1) if spots else 0.0
        rows.append([hour.strftime("%Y-%m-%d %H:%M"), round(spot_hours, 2), percent])
    return Chart(
        "occupancy",
        "Occupancy by hour",
        filters.zone_name,
        ["hour", "spot_hours", "occupied_percent"],
        rows,
        {"spots": spots, "day": day.isoformat(), "span": filters.span},
        "Reserved, active and completed stays; open stays count until now.",
    )


def _overlap_by_hour(filters, start, end, count, now):
    """{hour index: seconds of stays overlapping that hour} in one grouped query."""
    hours = select(literal(0).label("n")).cte("hours", recursive=True)
    hours = hours.union_all(select(hours.c.n + 1).where(hours.c.n < count - 1))
    ends_at = func.coalesce(Booking.ends_at, now)
    begin = literal(start.timestamp(), Float) + hours.c.n * 3600
    stay_start, stay_end = epoch(Booking.starts_at), epoch(ends_at)
    overlap = greatest(0, least(stay_end, begin + 3600) - greatest(stay_start, begin))
    query = (
        select(hours.c.n, func.sum(overlap))
        .select_from(hours)
        .join(
            Booking,
            and_(
                *_lot_filter(filters),
                Booking.status.in_(OCCUPYING),
                Booking.starts_at < end,
                or_(Booking.ends_at.is_(None), Booking.ends_at > start),
                stay_start < begin + 3600,
                stay_end > begin,
            ),
        )
        .group_by(hours.c.n)
    )
    return {n: float(total or 0) for n, total in db.session.execute(query)}


# -- daily rollups ---------------------------------------------------------------------------


def _daily(table, columns, filters, by=("day",)):
    """Sums of the rollup `columns` over the range's local days, grouped by `by`."""
    analytics_rollups.refresh()
    where = [table.c.day.between(filters.first, filters.last)]
    if filters.lot:
        where.append(table.c.lot_id == filters.lot.id)
    keys = [table.c[name] for name in by]
    query = select(*keys, *(func.sum(table.c[name]) for name in columns))
    query = query.where(*where).group_by(*keys)
    return {
        tuple(row[: len(keys)]): [int(value or 0) for value in row[len(keys) :]]
        for row in db.session.execute(query)
    }


def _days_zone(filters):
    """The zone of the rollup charts' days: the lot's, or "local" (each lot's own)."""
    return filters.lot.timezone if filters.lot else LOCAL


REVENUE = ("payments", "paid_cents", "refunded_cents")


def revenue_by_day(filters):
    """Payments taken each local day, per currency: count, paid, refunded, net (cents)."""
    sums = _daily(lot_day_revenue, REVENUE, filters, by=("day", "currency"))
    currencies = sorted({currency for _day, currency in sums})
    rows = []
    for currency in currencies:
        for day in filters.days():
            count, paid, refunded = sums.get((day, currency), (0, 0, 0))
            rows.append([day.isoformat(), currency, count, paid, refunded, paid - refunded])
    totals = defaultdict(int)
    for row in rows:
        totals[row[1]] += row[5]
    return Chart(
        "revenue-by-day",
        "Revenue by day",
        _days_zone(filters),
        ["day", "currency", "payments", "paid_cents", "refunded_cents", "net_cents"],
        rows,
        {"net_cents": dict(totals)},
        "Payments by the day they were made, refunds subtracted from them.",
    )


def _lot_names(lot_ids):
    if not lot_ids:
        return {}
    return dict(db.session.execute(select(Lot.id, Lot.name).where(Lot.id.in_(lot_ids))).all())


def revenue_by_lot(filters):
    """Payments taken at each lot over the range, per currency."""
    sums = _daily(lot_day_revenue, REVENUE, filters, by=("lot_id", "currency"))
    names = _lot_names({lot_id for lot_id, _cur in sums})
    rows = sorted(
        [names[lot_id], lot_id, cur, n, paid, ref, paid - ref]
        for (lot_id, cur), (n, paid, ref) in sums.items()
    )
    return Chart(
        "revenue-by-lot",
        "Revenue by lot",
        _days_zone(filters),
        ["lot", "lot_id", "currency", "payments", "paid_cents", "refunded_cents", "net_cents"],
        rows,
    )


# -- arrivals, stays, rates ------------------------------------------------------------------


def peak_hours(filters):
    """Arrivals (check-in, else start) on the range's days, by local weekday and hour."""
    hours = [arrivals_column(hour) for hour in HOURS]
    grid = defaultdict(int)
    for (day,), counts in _daily(lot_days, hours, filters).items():
        for hour, count in enumerate(counts):
            grid[(day.weekday(), hour)] += count
    rows = [
        [WEEKDAYS[weekday], hour, grid[(weekday, hour)]]
        for weekday in range(7)
        for hour in range(24)
    ]
    return Chart(
        "peak-hours",
        "Peak hours (arrivals)",
        _days_zone(filters),
        ["weekday", "hour", "arrivals"],
        rows,
        {"busiest": max(rows, key=lambda row: row[2])[:2] if any(r[2] for r in rows) else None},
    )


def average_stay(filters):
    """Completed stays started each local day: how many, and their average length."""
    sums = _daily(lot_days, ("completed", "stay_seconds"), filters)
    rows, stays, seconds = [], 0, 0
    for day in filters.days():
        count, total = sums.get((day,), (0, 0))
        stays, seconds = stays + count, seconds + total
        rows.append([day.isoformat(), count, round(total / count / 60, 1) if count else None])
    average = round(seconds / stays / 60, 1) if stays else None
    return Chart(
        "average-stay",
        "Average stay",
        _days_zone(filters),
        ["day", "stays", "average_minutes"],
        rows,
        {"stays": stays, "average_minutes": average},
        "Completed stays, by the day they started.",
    )


def rates(filters):
    """No-show and cancellation rates of the bookings that started each local day."""
    sums = _daily(lot_days, ("bookings", "cancelled", "no_shows"), filters)
    rows, totals = [], [0, 0, 0]
    for day in filters.days():
        counts = sums.get((day,), (0, 0, 0))
        rows.append([day.isoformat(), *_rate_row(*counts)])
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    total, cancelled, no_show, cancel_pct, no_show_pct = _rate_row(*totals)
    return Chart(
        "rates",
        "No-show and cancellation rates",
        _days_zone(filters),
        ["day", "bookings", "cancelled", "no_show", "cancellation_percent", "no_show_percent"],
        rows,
        {
            "bookings": total,
            "cancelled": cancelled,
            "no_show": no_show,
            "cancellation_percent": cancel_pct,
            "no_show_percent": no_show_pct,
        },
        "Share of all bookings starting that day.",
    )


def _rate_row(total, cancelled, no_show):
    pct = (lambda n: round(100 * n / total, 1)) if total else (lambda n: 0.0)
    return [total, cancelled, no_show, pct(cancelled), pct(no_show)]


def top_lots(filters, limit=TOP):
    """The lots with the most completed stays and the most revenue over the range."""
    stays = {
        lot_id: sums
        for (lot_id,), sums in _daily(
            lot_days, ("completed", "stay_seconds"), filters, by=("lot_id",)
        ).items()
    }
    revenue = {}
    money = _daily(lot_day_revenue, REVENUE, filters, by=("lot_id", "currency"))
    for (lot_id, currency), (_n, paid, refunded) in money.items():
        best = revenue.get(lot_id)
        if best is None or paid - refunded > best[1]:
            revenue[lot_id] = (currency, paid - refunded)
    by_stays = sorted(stays, key=lambda lot_id: (-stays[lot_id][0], lot_id))[:limit]
    by_money = sorted(revenue, key=lambda lot_id: (-revenue[lot_id][1], lot_id))[:limit]
    chosen = list(dict.fromkeys(by_stays + by_money))
    names = _lot_names(set(chosen))
    rows = []
    for lot_id in chosen:
        count, seconds = stays.get(lot_id, (0, 0))
        currency, net = revenue.get(lot_id, (None, 0))
        rank_stays = by_stays.index(lot_id) + 1 if lot_id in by_stays else None
        rank_money = by_money.index(lot_id) + 1 if lot_id in by_money else None
        rows.append(
            [
                names[lot_id],
                lot_id,
                count,
                round(seconds / 3600, 1),
                currency,
                net,
                rank_stays,
                rank_money,
            ]
        )
    return Chart(
        "top-lots",
        "Top lots",
        _days_zone(filters),
        [
            "lot",
            "lot_id",
            "stays",
            "stay_hours",
            "currency",
            "net_cents",
            "rank_by_stays",
            "rank_by_revenue",
        ],
        rows,
        note=f"Top {limit} by completed stays and by net revenue (amounts not converted between currencies).",
    )


BUILDERS = {
    "occupancy": occupancy_by_hour,
    "revenue-by-day": revenue_by_day,
    "revenue-by-lot": revenue_by_lot,
    "peak-hours": peak_hours,
    "average-stay": average_stay,
    "rates": rates,
    "top-lots": top_lots,
}


def chart(name, filters):
    """One chart by its name (see CHARTS)."""
    return BUILDERS[name](filters)


def all_charts(filters):
    return {name: BUILDERS[name](filters) for name in CHARTS}

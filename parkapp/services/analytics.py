"""The admin analytics charts: occupancy, revenue, peak hours, stays, rates and top lots.

Each chart is one or two grouped SQL queries; Python only folds the aggregated rows. Days
and hours are the chosen lot's local ones; with no lot chosen they are UTC days and hours
(`revenue_by_lot` and `top_lots` compare lots, so they always use UTC days).
Revenue is what payments took (paid amount minus refunds, on the day of payment), in each
lot's currency and never converted.
"""

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, func, literal, or_, select

from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Lot, Payment, PaymentStatus, Spot, SpotStatus
from parkapp.models import utcnow as _utcnow
from parkapp.services.analytics_filters import Chart, Filters, csv_text, parse_filters
from parkapp.services.analytics_sql import epoch, greatest, grouped, least

__all__ = ["CHARTS", "Chart", "Filters", "all_charts", "chart", "csv_text", "parse_filters"]

TOP = 10
SPANS = ("day", "week")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ARRIVED = (BookingStatus.ACTIVE, BookingStatus.COMPLETED)
OCCUPYING = (BookingStatus.RESERVED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)
TAKEN = (PaymentStatus.PAID, PaymentStatus.REFUNDED)
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
    zone = ZoneInfo(filters.zone_name)
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


# -- revenue ---------------------------------------------------------------------------------


def _payment_where(filters, zone_name):
    start, end = filters.bounds(zone_name)
    return [Payment.status.in_(TAKEN), Payment.paid_at >= start, Payment.paid_at < end]


NET = (func.count(Payment.id), func.sum(Payment.amount_cents), func.sum(Payment.refunded_cents))


def revenue_by_day(filters):
    """Payments taken each local day, per currency: count, paid, refunded, net (cents)."""
    where = _payment_where(filters, None) + _lot_filter(filters)
    sums = grouped(
        NET,
        Payment.paid_at,
        filters.zone_name,
        "day",
        where,
        extra=(Payment.currency,),
        joins=((Booking, Booking.id == Payment.booking_id),) if filters.lot else (),
    )
    currencies = sorted({currency for _day, currency in sums})
    rows = []
    for currency in currencies:
        for day in filters.days():
            count, paid, refunded = sums.get((datetime.combine(day, time.min), currency), (0, 0, 0))
            rows.append([day.isoformat(), currency, count, paid, refunded, paid - refunded])
    totals = defaultdict(int)
    for row in rows:
        totals[row[1]] += row[5]
    return Chart(
        "revenue-by-day",
        "Revenue by day",
        filters.zone_name,
        ["day", "currency", "payments", "paid_cents", "refunded_cents", "net_cents"],
        rows,
        {"net_cents": dict(totals)},
        "Payments by the day they were made, refunds subtracted from them.",
    )


def _revenue_per_lot(filters):
    """{(lot_id, currency): [payments, paid, refunded]} over the range's UTC days."""
    query = (
        select(Booking.lot_id, Payment.currency, *NET)
        .join(Booking, Booking.id == Payment.booking_id)
        .where(*_payment_where(filters, "UTC"))
        .group_by(Booking.lot_id, Payment.currency)
    )
    return {
        (lot_id, cur): [n, paid or 0, ref or 0]
        for lot_id, cur, n, paid, ref in db.session.execute(query)
    }


def _lot_names(lot_ids):
    if not lot_ids:
        return {}
    return dict(db.session.execute(select(Lot.id, Lot.name).where(Lot.id.in_(lot_ids))).all())


def revenue_by_lot(filters):
    """Payments taken at each lot over the range (UTC days), per currency."""
    sums = _revenue_per_lot(filters)
    names = _lot_names({lot_id for lot_id, _cur in sums})
    rows = sorted(
        [names[lot_id], lot_id, cur, n, paid, ref, paid - ref]
        for (lot_id, cur), (n, paid, ref) in sums.items()
    )
    return Chart(
        "revenue-by-lot",
        "Revenue by lot",
        "UTC",
        ["lot", "lot_id", "currency", "payments", "paid_cents", "refunded_cents", "net_cents"],
        rows,
        note="All lots, UTC days.",
    )


# -- arrivals, stays, rates ------------------------------------------------------------------


def _started_where(filters, statuses=None):
    start, end = filters.bounds()
    where = [Booking.starts_at >= start, Booking.starts_at < end, *_lot_filter(filters)]
    if statuses:
        where.append(Booking.status.in_(statuses))
    return where


def peak_hours(filters):
    """Arrivals (check-in, else start) by local weekday and hour, for stays started in range."""
    arrival = func.coalesce(Booking.checked_in_at, Booking.starts_at)
    sums = grouped(
        (func.count(Booking.id),),
        arrival,
        filters.zone_name,
        "hour",
        _started_where(filters, ARRIVED),
    )
    grid = defaultdict(int)
    for (local,), (count,) in sums.items():
        grid[(local.weekday(), local.hour)] += count
    rows = [
        [WEEKDAYS[weekday], hour, grid[(weekday, hour)]]
        for weekday in range(7)
        for hour in range(24)
    ]
    return Chart(
        "peak-hours",
        "Peak hours (arrivals)",
        filters.zone_name,
        ["weekday", "hour", "arrivals"],
        rows,
        {"busiest": max(rows, key=lambda row: row[2])[:2] if any(r[2] for r in rows) else None},
    )


def average_stay(filters):
    """Completed stays started each local day: how many, and their average length."""
    length = epoch(Booking.ends_at) - epoch(Booking.starts_at)
    sums = grouped(
        (func.count(Booking.id), func.sum(length)),
        Booking.starts_at,
        filters.zone_name,
        "day",
        _started_where(filters, (BookingStatus.COMPLETED,)),
    )
    rows, stays, seconds = [], 0, 0.0
    for day in filters.days():
        count, total = sums.get((datetime.combine(day, time.min),), (0, 0))
        stays, seconds = stays + count, seconds + total
        rows.append([day.isoformat(), count, round(total / count / 60, 1) if count else None])
    average = round(seconds / stays / 60, 1) if stays else None
    return Chart(
        "average-stay",
        "Average stay",
        filters.zone_name,
        ["day", "stays", "average_minutes"],
        rows,
        {"stays": stays, "average_minutes": average},
        "Completed stays, by the day they started.",
    )


def rates(filters):
    """No-show and cancellation rates of the bookings that started each local day."""
    sums = grouped(
        (func.count(Booking.id),),
        Booking.starts_at,
        filters.zone_name,
        "day",
        _started_where(filters),
        extra=(Booking.status,),
    )
    by_day = defaultdict(lambda: defaultdict(int))
    for (local, status), (count,) in sums.items():
        by_day[local.date()][BookingStatus(status)] += count
    rows, totals = [], defaultdict(int)
    for day in filters.days():
        counts = by_day[day]
        row = _rate_row(counts)
        rows.append([day.isoformat(), *row])
        for status, count in counts.items():
            totals[status] += count
    total, cancelled, no_show, cancel_pct, no_show_pct = _rate_row(totals)
    return Chart(
        "rates",
        "No-show and cancellation rates",
        filters.zone_name,
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


def _rate_row(counts):
    total = sum(counts.values())
    cancelled, no_show = counts[BookingStatus.CANCELLED], counts[BookingStatus.NO_SHOW]
    pct = (lambda n: round(100 * n / total, 1)) if total else (lambda n: 0.0)
    return [total, cancelled, no_show, pct(cancelled), pct(no_show)]


def top_lots(filters, limit=TOP):
    """The lots with the most completed stays and the most revenue over the range (UTC days)."""
    start, end = filters.bounds("UTC")
    length = epoch(Booking.ends_at) - epoch(Booking.starts_at)
    stays = {
        lot_id: (count, seconds or 0)
        for lot_id, count, seconds in db.session.execute(
            select(Booking.lot_id, func.count(Booking.id), func.sum(length))
            .where(
                Booking.status == BookingStatus.COMPLETED,
                Booking.starts_at >= start,
                Booking.starts_at < end,
            )
            .group_by(Booking.lot_id)
        )
    }
    revenue = {}
    for (lot_id, currency), (_n, paid, refunded) in _revenue_per_lot(filters).items():
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
        "UTC",
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
        note=f"Top {limit} by completed stays and by net revenue (amounts not converted between currencies); UTC days.",
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

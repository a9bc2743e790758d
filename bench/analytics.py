"""Analytics dashboard queries on PostgreSQL: 1,000,000 bookings across 50 lots.

Seeds a year of history with SQL (generate_series: lots, spots, bookings, payments), rolls
it up (timed: the daily rollups the charts read), then times every chart of the admin
analytics page the way the page computes it, in-process in the app context: warm, the
median of several runs, for all lots and for one lot in its own time zone, over the default
range (the last 30 days) and over a whole year; and a refresh after one booking changed.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/parkapp .venv/bin/python bench/analytics.py

It always uses the database `parkapp_bench_analytics` on DATABASE_URL's server (created
when missing, migrated, emptied and seeded; `--reuse` keeps data of the same size).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from benchdb import bench_database_url, ensure_database
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "parkapp_bench_analytics"
TARGET_MS = 200
TIMEZONES = ("America/New_York", "UTC", "Europe/London", "Asia/Kolkata", "Australia/Sydney")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "AUD")

LOTS_SQL = """
INSERT INTO lots (name, address, city, timezone, currency, hourly_rate_cents, daily_max_cents,
                  grace_minutes, max_booking_days, is_active, created_at)
SELECT 'Bench Lot ' || lpad(g::text, 3, '0'), g || ' Bench Street', 'Benchville',
       (:zones)[1 + g % cardinality(:zones)], (:currencies)[1 + g % cardinality(:currencies)],
       250, 2000, 0, 30, true, now()
FROM generate_series(1, :lots) AS g
"""
SPOTS_SQL = """
INSERT INTO spots (lot_id, label, kind, status)
SELECT lots.id, 'S' || lpad(s::text, 3, '0'), 'standard', 'active'
FROM lots CROSS JOIN generate_series(1, :spots) AS s
"""
# Booking n takes spot n % S; a spot's stays start `every` minutes apart (staggered per spot)
# and last 30 to 449 minutes, so no two overlap. 5 % cancelled, 3 % no-shows, the rest done.
BOOKINGS_SQL = """
WITH spot AS (
  SELECT (row_number() OVER (ORDER BY id) - 1) AS k, id, lot_id FROM spots
), booking AS (
  SELECT n, spot.id AS spot_id, spot.lot_id,
         CAST(:first AS timestamptz) + ((n / :spot_count) * :every + (n % :spot_count) * 37 % :every)
           * interval '1 minute' AS starts_at,
         (30 + n * 7 % 420) * interval '1 minute' AS length,
         CASE WHEN n % 100 < 5 THEN 'cancelled' WHEN n % 100 < 8 THEN 'no_show'
              ELSE 'completed' END AS status
  FROM generate_series(0, :count - 1) AS n JOIN spot ON spot.k = n % :spot_count
)
INSERT INTO bookings (lot_id, spot_id, plate, source, status, starts_at, ends_at, booked_ends_at,
                      checked_in_at, released_at, cancelled_at, quoted_cents, price_cents,
                      currency, confirmation_code, created_at)
SELECT booking.lot_id, spot_id, 'PL' || (n % 9973), 'web', status, starts_at, starts_at + length,
       starts_at + length,
       CASE WHEN status = 'completed' THEN starts_at + (n % 11) * interval '1 minute' END,
       CASE WHEN status = 'completed' THEN starts_at + length END,
       CASE WHEN status = 'cancelled' THEN starts_at - interval '2 hours' END,
       100 + (n % 37) * 25, CASE WHEN status = 'completed' THEN 100 + (n % 37) * 25 END,
       lots.currency, 'A' || lpad(n::text, 10, '0'), starts_at - interval '1 day'
FROM booking JOIN lots ON lots.id = booking.lot_id ORDER BY n
"""
# Every completed stay paid on the way out; every 40th refunded by half.
PAYMENTS_SQL = """
INSERT INTO payments (booking_id, method, status, amount_cents, refunded_cents, discount_cents,
                      currency, idempotency_key, receipt_number, created_at, paid_at)
SELECT id, 'card', 'paid', price_cents, CASE WHEN id % 40 = 0 THEN price_cents / 2 ELSE 0 END,
       0, currency, 'bench-' || id, 'R' || id, ends_at, ends_at
FROM bookings WHERE status = 'completed' AND price_cents > 0
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="bookings (default 1,000,000)")
    parser.add_argument("--lots", type=int, default=50, help="lots (default 50)")
    parser.add_argument("--spots", type=int, default=20, help="spots per lot (default 20)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query (default 5)")
    parser.add_argument("--reuse", action="store_true", help="keep seeded data of this size")
    args = parser.parse_args(argv)
    if not (1 <= args.rows <= 5_000_000 and 1 <= args.lots <= 500 and 1 <= args.spots <= 200):
        parser.error("--rows 1..5,000,000, --lots 1..500, --spots 1..200")
    if not 1 <= args.runs <= 20:
        parser.error("--runs must be 1..20")
    return args


def make_app(url):
    os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    from parkapp import create_app

    return create_app("development")


def seed(args):
    """Empty the bench database and fill it with SQL; a year of history ending now."""
    from parkapp.analytics import rollups as analytics_rollups
    from parkapp.extensions import db

    began = time.monotonic()
    spot_count = args.lots * args.spots
    per_spot = -(-args.rows // spot_count)
    every = max(450, 365 * 24 * 60 // per_spot)  # minutes between a spot's stays
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = '15min'"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(
            text(LOTS_SQL),
            {"zones": list(TIMEZONES), "currencies": list(CURRENCIES), "lots": args.lots},
        )
        conn.execute(text(SPOTS_SQL), {"spots": args.spots})
        first = conn.scalar(
            text("SELECT date_trunc('hour', now()) - :span * interval '1 minute'"),
            {"span": per_spot * every},
        )
        conn.execute(
            text(BOOKINGS_SQL),
            {"first": first, "every": every, "spot_count": spot_count, "count": args.rows},
        )
        conn.execute(text(PAYMENTS_SQL))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"seed: {args.rows:,} bookings from {first:%Y-%m-%d} in {time.monotonic() - began:.0f} s")
    began = time.monotonic()
    lots = analytics_rollups.rebuild()  # plain SQL marked nothing: roll everything up
    print(f"rollup: {lots} lots' whole history in {time.monotonic() - began:.1f} s")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE analytics_lot_days, analytics_lot_day_revenue"))


def seeded_as_asked(args):
    from parkapp.extensions import db

    with db.engine.connect() as conn:
        lots = conn.scalar(text("SELECT count(*) FROM lots"))
        rows = conn.scalar(text("SELECT count(*) FROM bookings"))
    return lots == args.lots and rows == args.rows


def cases(now):
    """(label, chart, args) to time: the page's default range and a whole year."""
    from parkapp.extensions import db
    from parkapp.models import Lot

    lot = db.session.scalar(db.select(Lot).where(Lot.timezone == "Asia/Kolkata").limit(1))
    today = now.date()
    year = {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}
    one = {"lot_id": str(lot.id)}
    from parkapp.analytics.charts import CHARTS

    found = []
    for chart in CHARTS:
        if chart == "occupancy":  # reads the day (today) and span, not the range
            found.append(("day, all lots", chart, {}))
            found.append(("day, one lot", chart, one))
            found.append(("week, all lots", chart, {"span": "week"}))
            found.append(("week, one lot", chart, {**one, "span": "week"}))
            continue
        found.append(("30 days, all lots", chart, {}))
        if chart not in ("revenue-by-lot", "top-lots"):
            found.append(("30 days, one lot", chart, one))
        found.append(("365 days, all lots", chart, year))
        if chart not in ("revenue-by-lot", "top-lots"):
            found.append(("365 days, one lot", chart, {**year, **one}))
    return found


def time_refresh(args):
    """A booking's status changing, then the refresh that rolls its lot's day up again."""
    from parkapp.analytics import rollups as analytics_rollups
    from parkapp.extensions import db
    from parkapp.models import Booking, BookingStatus

    times = []
    for n in range(args.runs):
        booking = db.session.scalar(
            db.select(Booking).where(Booking.status == BookingStatus.COMPLETED).offset(n).limit(1)
        )
        booking.status = BookingStatus.NO_SHOW
        db.session.commit()
        began = time.perf_counter()
        analytics_rollups.refresh()
        times.append((time.perf_counter() - began) * 1000)
        booking.status = BookingStatus.COMPLETED  # put it back (refreshed by the next read)
        db.session.commit()
    analytics_rollups.refresh()
    return ("refresh", "after one booking changed", statistics.median(times), max(times))


def measure(args):
    from parkapp.analytics import charts as analytics
    from parkapp.extensions import db
    from parkapp.models import utcnow

    rows = []
    for label, chart, query in cases(utcnow()):
        filters = analytics.parse_filters(query)
        analytics.chart(chart, filters)  # warm the caches and the plan
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            analytics.chart(chart, filters)
            times.append((time.perf_counter() - began) * 1000)
            db.session.rollback()
        rows.append((chart, label, statistics.median(times), max(times)))
        print(f"{chart:<16} {label:<20} {rows[-1][2]:8.1f} ms", flush=True)
    return rows


def main(argv=None):
    args = parse_args(argv)
    url = bench_database_url(BENCH_DB, "bench/analytics.py")
    ensure_database(url)
    app = make_app(url)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if args.reuse and seeded_as_asked(args):
            print("seed: reusing the data already there (--reuse)")
        else:
            seed(args)
        rows = [*measure(args), time_refresh(args)]
    print(f"\nload average {os.getloadavg()[0]:.1f}; median and slowest of {args.runs} warm runs\n")
    print("| chart | filters | median ms | slowest ms | under 200 ms |")
    print("|---|---|---|---|---|")
    for chart, label, median, slowest in rows:
        ok = "yes" if median < TARGET_MS else "no"
        print(f"| {chart} | {label} | {median:.1f} | {slowest:.1f} | {ok} |")
    return 0 if all(median < TARGET_MS for *_x, median, _s in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Generate parkapp data at scale in PostgreSQL: many lots, one big lot, a million bookings.

At scale 1 (`--fraction 1`): 500 lots; the big lot "Scale Lot" has 10,000 spots on 5 levels
of 4 zones (1% of them on no level) and 1,000,000 bookings: 970,000 in the past (completed,
cancelled, no-show), 30,000 future reservations and 2,700 stays inside now (a tenth of them
open-ended). Each of the other lots has 20 spots and 5 stays. `--fraction 0.1` (0.01,
0.001) scales every count down, for growth figures. Rows are made by `generate_series` in
SQL, so the full size loads in a few minutes.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python bench/scale_data.py \
        --database parkapp_bench_scale_1 --fraction 1

The database must be named parkapp_bench_scale*; it is created, migrated and emptied.
"""

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchdb import bench_database_url, ensure_database, migrate_and_empty
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREFIX = "parkapp_bench_scale"
BIG_LOT = "Scale Lot"
FULL = {"lots": 500, "spots": 10_000, "history": 970_000, "reserved": 30_000, "stays": 2_700}
SMALL_LOT_SPOTS, SMALL_LOT_STAYS = 20, 5
LEVELS, ZONES = 5, 4


def sizes(fraction):
    """The counts at a fraction of the full size (at least one of each)."""
    return {name: max(1, round(count * fraction)) for name, count in FULL.items()}


LOTS_SQL = """
INSERT INTO lots (name, address, city, latitude, longitude, timezone, currency,
  hourly_rate_cents, daily_max_cents, grace_minutes, max_booking_days, refund_hours_before,
  exit_minutes_after_payment, is_active, demand_enabled, created_at)
SELECT CASE WHEN n = 1 THEN :big ELSE 'Lot ' || lpad(n::text, 4, '0') END,
  n || ' Scale Street', 'City ' || (n % 20), 48 + (n % 100) / 100.0, 2 + (n / 100) / 10.0,
  'UTC', 'EUR', 250, 2000, 0, 30, 24, 15, true, false, :now
FROM generate_series(1, :lots) AS n
"""

LEVELS_SQL = """
INSERT INTO levels (lot_id, name, ordinal)
SELECT 1, 'Level ' || l, l - 1 FROM generate_series(1, :levels) AS l
"""

ZONES_SQL = """
INSERT INTO zones (level_id, name)
SELECT lv.id, chr(64 + z) FROM levels lv, generate_series(1, :zones) AS z
"""

# The big lot's spots: 1% on no level; kinds and maintenance spread by the spot number.
BIG_SPOTS_SQL = """
INSERT INTO spots (lot_id, level_id, zone_id, label, kind, status)
SELECT 1, lv.id, zn.id, 'S' || lpad(s::text, 5, '0'),
  CASE WHEN s % 20 = 1 THEN 'ev' WHEN s % 33 = 2 THEN 'accessible'
       WHEN s % 20 = 3 THEN 'compact' WHEN s % 50 = 4 THEN 'motorcycle' ELSE 'standard' END,
  CASE WHEN s % 200 = 7 THEN 'maintenance' ELSE 'active' END
FROM generate_series(0, :spots - 1) AS s
LEFT JOIN levels lv ON lv.lot_id = 1 AND s % 100 <> 99
  AND lv.ordinal = (s * :levels / :spots)
LEFT JOIN zones zn ON zn.level_id = lv.id AND zn.name = chr(65 + s % :zones)
ORDER BY s
"""

SMALL_SPOTS_SQL = """
INSERT INTO spots (lot_id, label, kind, status)
SELECT l.id, 'P' || s, CASE WHEN s = 1 THEN 'ev' ELSE 'standard' END, 'active'
FROM lots l, generate_series(1, :per_lot) AS s WHERE l.id > 1
"""

# spot_no: the big lot's spots are ids 1..spots in label order (inserted first, in order).
BOOKING_COLUMNS = """
INSERT INTO bookings (lot_id, spot_id, plate, source, status, starts_at, ends_at,
  booked_ends_at, checked_in_at, released_at, confirmation_code, currency, created_at)
"""

# History: every spot has its share of past stays, one after another, 3 days apart.
HISTORY_SQL = (
    BOOKING_COLUMNS
    + """
SELECT 1, 1 + j % :spots, 'H' || j, 'web',
  CASE WHEN j % 25 = 0 THEN 'cancelled' WHEN j % 40 = 1 THEN 'no_show' ELSE 'completed' END,
  t.starts, t.starts + t.length, t.starts + t.length, t.starts, t.starts + t.length,
  'H' || lpad(j::text, 9, '0'), 'EUR', t.starts - interval '1 day'
FROM generate_series(0, :history - 1) AS j,
LATERAL (SELECT CAST(:now AS timestamptz) - (j / :spots + 1) * interval '3 days'
                  - (j % 24) * interval '1 hour' AS starts,
                interval '1 hour' * (1 + j % 30) AS length) AS t
"""
)

# Reservations: on spots whose number is not a multiple of 10, from 12 hours ahead, 5 days
# apart per spot, each 1 to 72 hours long: they never overlap one another.
RESERVED_SQL = (
    BOOKING_COLUMNS
    + """
SELECT 1, t.spot, 'R' || j, 'api', 'reserved', t.starts, t.starts + t.length,
  t.starts + t.length, NULL, NULL, 'R' || lpad(j::text, 9, '0'), 'EUR', :now
FROM generate_series(0, :reserved - 1) AS j,
LATERAL (SELECT 1 + (j % :free_spots) + (j % :free_spots) / 9 + 1 AS spot_no) AS s,
LATERAL (SELECT s.spot_no AS spot,
                CAST(:now AS timestamptz) + interval '12 hours'
                  + (j / :free_spots) * interval '5 days' + (j % 24) * interval '1 hour' AS starts,
                interval '1 hour' * (1 + j % 72) AS length) AS t
"""
)

# Stays inside now: on every third spot; open-ended (ends_at NULL) only on spots that never
# get a reservation (number a multiple of 10), else ending before the reservations begin.
STAYS_SQL = (
    BOOKING_COLUMNS
    + """
SELECT 1, 1 + j * 3, 'A' || j, 'gate', 'active', t.starts,
  CASE WHEN (j * 3) % 10 = 0 THEN NULL ELSE CAST(:now AS timestamptz) + (1 + j % 11) * interval '1 hour' END,
  NULL, t.starts, NULL, 'A' || lpad(j::text, 9, '0'), 'EUR', t.starts
FROM generate_series(0, :stays - 1) AS j,
LATERAL (SELECT CAST(:now AS timestamptz) - (1 + j % 48) * interval '1 hour' AS starts) AS t
"""
)

SMALL_STAYS_SQL = (
    BOOKING_COLUMNS
    + """
SELECT sp.lot_id, sp.id, 'L' || sp.id, 'gate', 'active', CAST(:now AS timestamptz) - interval '2 hours',
  NULL, NULL, CAST(:now AS timestamptz) - interval '2 hours', NULL, 'L' || lpad(sp.id::text, 9, '0'),
  'EUR', :now
FROM spots sp WHERE sp.lot_id > 1 AND sp.label IN ({labels})
"""
)


def load(url, counts, now):
    """Insert the rows; return {step: seconds}."""
    engine = create_engine(url)
    spots = counts["spots"]
    params = {
        "now": now,
        "big": BIG_LOT,
        "lots": counts["lots"],
        "levels": min(LEVELS, spots),
        "zones": ZONES,
        "spots": spots,
        "per_lot": SMALL_LOT_SPOTS,
        "history": counts["history"],
        "reserved": counts["reserved"],
        "stays": min(counts["stays"], (spots + 2) // 3),
        # spots numbered 1..spots; those not a multiple of 10 (0-based) take reservations
        "free_spots": max(1, spots - (spots + 9) // 10),
    }
    labels = ", ".join(f"'P{n}'" for n in range(1, SMALL_LOT_STAYS + 1))
    steps = [
        ("lots", LOTS_SQL),
        ("levels", LEVELS_SQL),
        ("zones", ZONES_SQL),
        ("big lot spots", BIG_SPOTS_SQL),
        ("small lot spots", SMALL_SPOTS_SQL),
        ("history", HISTORY_SQL),
        ("reservations", RESERVED_SQL),
        ("stays", STAYS_SQL),
        ("small lot stays", SMALL_STAYS_SQL.format(labels=labels)),
        ("analyze", "ANALYZE"),
    ]
    timings = {}
    for name, sql in steps:
        began = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
        timings[name] = time.perf_counter() - began
    with engine.connect() as conn:
        timings["rows"] = dict(
            conn.execute(text("SELECT status, count(*) FROM bookings GROUP BY status")).all()
        )
    engine.dispose()
    return timings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=f"{PREFIX}_1", help=f"name starting {PREFIX}")
    parser.add_argument("--fraction", type=float, default=1.0, help="of the full size (0..1]")
    args = parser.parse_args(argv)
    if not args.database.startswith(PREFIX):
        parser.error(f"--database must start with {PREFIX}")
    if not 0 < args.fraction <= 1:
        parser.error("--fraction must be in (0, 1]")
    url = bench_database_url(args.database, "bench/scale_data.py")
    ensure_database(url)
    began = time.perf_counter()
    migrate_and_empty(url)
    counts = sizes(args.fraction)
    timings = load(url, counts, datetime.now(UTC).replace(microsecond=0))
    print(f"{args.database}: {counts}")
    for name, seconds in timings.items():
        print(f"  {name}: {seconds if isinstance(seconds, dict) else f'{seconds:.1f} s'}")
    print(f"total {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()

"""Availability, the lot list and the lot page at scale, in process, on bench/scale_data.py data.

For each database (made by bench/scale_data.py) it times, with the Flask app in this
process on PostgreSQL (and Redis when REDIS_URL is set):
  - availability.available_by_lot / counts_by_kind for random intervals of 1 hour to 7 days
    within the next 30 days (uncached SQL);
  - live.lot_counts for the same intervals, repeated (cached under the lot's version);
  - GET /api/v1/lots and the search page listing every lot, free now;
  - GET /lots/<big lot> (the lot page) and its first page of spots.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/12 \
        .venv/bin/python bench/scale.py parkapp_bench_scale_1 parkapp_bench_scale_01

--code DIR runs another checkout's parkapp (e.g. the code before a change) on the same data.
"""

import argparse
import logging
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from benchdb import bench_database_url

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "parkapp_bench_scale"


def percentiles(samples):
    """(p50, p99) in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def timed(call, count):
    """Seconds per call of `call(i)` for i in range(count)."""
    samples = []
    for i in range(count):
        began = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - began)
    return samples


def intervals(now, count, seed=7):
    """Random [start, end) within the next 30 days, 1 hour to 7 days long."""
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        start = now + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        result.append((start, start + timedelta(minutes=rng.randrange(60, 7 * 24 * 60 + 1))))
    return result


def run(name, count):
    """Time everything on one database; print a line per figure."""
    from parkapp import create_app
    from parkapp.extensions import db
    from parkapp.lots import availability
    from parkapp.models import Booking, Lot, Spot, utcnow

    app = create_app("testing")
    logging.getLogger("parkapp").setLevel(logging.CRITICAL)  # no line per request
    with app.app_context():
        lot_id = db.session.scalar(db.select(Lot.id).where(Lot.name == "Scale Lot"))
        sizes = (
            db.session.scalar(db.select(db.func.count(Lot.id))),
            db.session.scalar(db.select(db.func.count(Spot.id)).where(Spot.lot_id == lot_id)),
            db.session.scalar(db.select(db.func.count(Booking.id))),
        )
        print(f"{name}: {sizes[0]} lots, big lot {sizes[1]} spots, {sizes[2]} bookings")
        windows = intervals(utcnow(), count)
        figures = {
            "available_by_lot (SQL)": timed(
                lambda i: availability.available_by_lot([lot_id], *windows[i]), count
            ),
            "counts_by_kind (SQL)": timed(
                lambda i: availability.counts_by_kind(lot_id, *windows[i]), count
            ),
        }
        db.session.rollback()
    cached = _cached_counts(app, lot_id, windows, count)
    if cached:
        figures["lot_counts (cache hit)"] = cached
    client = app.test_client()
    pages = {
        "GET /api/v1/lots (all lots, now)": "/api/v1/lots?per_page=100",
        "GET /?q=lot (search page)": "/?q=lot",
        f"GET /lots/{lot_id} (lot page)": f"/lots/{lot_id}",
    }
    for label, samples in figures.items():
        _print(label, samples)
    for label, url in pages.items():
        response = client.get(url)
        if response.status_code != 200:
            print(f"  {label:38s} answers {response.status_code}: not timed")
            continue
        size = len(response.data) // 1024
        _print(
            f"{label} {size} KiB", timed(lambda i, url=url: client.get(url), max(20, count // 5))
        )


def _print(label, samples):
    p50, p99 = percentiles(samples)
    print(f"  {label:42s} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  (n={len(samples)})", flush=True)


def _cached_counts(app, lot_id, windows, count):
    """Cache-hit times of live.lot_counts (None without Redis: nothing is cached)."""
    if not app.config.get("REDIS_URL"):
        return None
    try:
        from parkapp.lots import live
    except ImportError:
        return None
    if not hasattr(live, "lot_counts"):
        return None  # an older checkout
    repeated = windows[:20]
    with app.app_context():
        for window in repeated:
            live.lot_counts(lot_id, *window)  # fill
        samples = timed(lambda i: live.lot_counts(lot_id, *repeated[i % 20]), count)
        from parkapp.extensions import db

        db.session.rollback()
    return samples


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("databases", nargs="+", help=f"names starting {PREFIX}")
    parser.add_argument("--count", type=int, default=200, help="calls per figure (default 200)")
    parser.add_argument("--code", default=str(ROOT), help="the parkapp checkout to time")
    args = parser.parse_args(argv)
    if not all(name.startswith(PREFIX) for name in args.databases):
        parser.error(f"databases must start with {PREFIX}")
    if not 20 <= args.count <= 2000:
        parser.error("--count must be 20..2000")
    if len(args.databases) > 1:  # a process per database: the app registers metrics once
        for name in args.databases:
            subprocess.run(
                [sys.executable, __file__, name, "--count", str(args.count), "--code", args.code],
                check=False,
                timeout=900,
            )
        return
    sys.path.insert(0, str(Path(args.code).resolve()))
    url = bench_database_url(args.databases[0], "bench/scale.py")
    os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    run(args.databases[0], args.count)


if __name__ == "__main__":
    main()

"""Export speed and memory: the booking-history CSV and the monthly activity PDF, on PostgreSQL.

It measures what the Celery task runs, `exports.generate(job)`, in-process inside the app
context: a booking-history CSV of one driver with 1,000,000 bookings (rows per second, peak
memory), and the monthly activity PDF of drivers with 1,000 and 10,000 bookings in the month.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/parkapp .venv/bin/python bench/exports.py

It always uses the database `parkapp_bench_exports` on DATABASE_URL's server (created when
missing, migrated, emptied and seeded with SQL). Every measurement runs in a fresh Python
process, so the peak resident set size it reports (VmHWM) is that export's own.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchdb import bench_database_url, ensure_database
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "parkapp_bench_exports"
PASSWORD = "bench-password-not-secret"
CSV_EMAIL = "csv@example.com"
PDF_MONTHS = ("2025-05", "2025-06")  # one month per PDF driver: their stays never overlap
TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
)
CURRENCIES = ("EUR", "GBP", "USD", "JPY", "AUD")
CHILD_TIMEOUT = 900  # seconds for one measurement process
TARGETS = {"csv_rows_per_s": 300_000, "csv_peak_mb": 200, 1000: 0.5, 10000: 2.0}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="bookings in the CSV (default 1,000,000)"
    )
    parser.add_argument(
        "--pdf",
        default="1000,10000",
        help="bookings in the month of each PDF driver, comma-separated (default 1000,10000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each export (default 3)")
    parser.add_argument("--lots", type=int, default=50, help="lots (default 50)")
    parser.add_argument("--spots", type=int, default=20, help="spots per lot (default 20)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the seeded data when it already has these sizes (default: empty and re-seed)",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # measure one job
    args = parser.parse_args(argv)
    args.pdf = [int(n) for n in args.pdf.split(",") if n.strip()]
    if not 1 <= args.rows <= 5_000_000:
        parser.error("--rows must be 1..5,000,000")
    if len(args.pdf) > len(PDF_MONTHS) or not all(1 <= n <= 50_000 for n in args.pdf):
        parser.error(f"--pdf takes at most {len(PDF_MONTHS)} sizes of 1..50,000")
    if not 1 <= args.runs <= 10:
        parser.error("--runs must be 1..10")
    if not (1 <= args.lots <= 500 and 1 <= args.spots <= 200):
        parser.error("--lots must be 1..500 and --spots 1..200")
    return args


def use_database(url):
    """Point the app at the bench database; before anything imports `config`."""
    os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    os.environ.pop("EXPORT_ROW_DELAY_MS", None)


def make_app(url):
    """The app on the bench database; a worker's configuration (not TESTING: no row delay)."""
    use_database(url)
    from parkapp import create_app

    return create_app("development")


# -- seeding -----------------------------------------------------------------------------------

LOTS_SQL = """
INSERT INTO lots (name, address, city, timezone, currency, hourly_rate_cents, daily_max_cents,
                  grace_minutes, max_booking_days, is_active, created_at)
SELECT CASE WHEN g % 10 = 0 THEN '=Bench Lot ' ELSE 'Bench Lot ' END || lpad(g::text, 3, '0'),
       g || ' Bench Street', 'Benchville',
       (:zones)[1 + g % cardinality(:zones)], (:currencies)[1 + g % cardinality(:currencies)],
       250, 2000, 0, 30, true, now()
FROM generate_series(1, :lots) AS g
"""
SPOTS_SQL = """
INSERT INTO spots (lot_id, label, kind, status)
SELECT lots.id, 'S' || lpad(s::text, 3, '0'), 'standard', 'active'
FROM lots CROSS JOIN generate_series(1, :spots) AS s
"""
# Booking n takes spot n % S; the stays of one spot are `every` apart and at most 150
# minutes long, so no two overlap. With :cancelled = 49 every 50th booking is cancelled (no
# price); -1 cancels none.
BOOKINGS_SQL = """
WITH spot AS (
  SELECT (row_number() OVER (ORDER BY spots.id) - 1) AS k, spots.id, spots.lot_id,
         lots.currency
  FROM spots JOIN lots ON lots.id = spots.lot_id
), booking AS (
  SELECT n, spot.id AS spot_id, spot.lot_id, spot.currency,
         CAST(:first AS timestamptz) + (n / :spot_count) * CAST(:every AS interval)
           + (n % :spot_count) * CAST(:stagger AS interval) AS starts_at,
         (30 + n % 121) * interval '1 minute' AS length
  FROM generate_series(0, :count - 1) AS n JOIN spot ON spot.k = n % :spot_count
)
INSERT INTO bookings (lot_id, spot_id, user_id, plate, source, status, starts_at, ends_at,
                      booked_ends_at, quoted_cents, price_cents, currency, confirmation_code,
                      created_at)
SELECT lot_id, spot_id, :user_id, :plate || (n % 3), 'web',
       CASE WHEN n % 50 = :cancelled THEN 'cancelled' ELSE 'completed' END,
       starts_at, starts_at + length, starts_at + length,
       100 + (n % 37) * 25, CASE WHEN n % 50 = :cancelled THEN NULL ELSE 100 + (n % 37) * 25 END,
       currency, :prefix || lpad(n::text, 10, '0'), starts_at - interval '1 day'
FROM booking ORDER BY n
"""


def prepare(url, args):
    """Migrate and empty the bench database, then seed lots, spots, drivers and bookings."""
    from flask_migrate import upgrade

    from parkapp.extensions import db

    app = make_app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if args.reuse and _seeded_as_asked(args):
            print("seed: reusing the data already there (--reuse)")
            return _user_ids()
        began = time.monotonic()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            conn.execute(
                text(LOTS_SQL),
                {
                    "zones": list(TIMEZONES),
                    "currencies": list(CURRENCIES),
                    "lots": args.lots,
                },
            )
            conn.execute(text(SPOTS_SQL), {"spots": args.spots})
        users = _create_drivers(args)
        spot_count = args.lots * args.spots
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL statement_timeout = '15min'"))
            _insert_bookings(conn, users[CSV_EMAIL], args.rows, "2018-01-01", spot_count, "CSV")
            for i, (count, month) in enumerate(zip(args.pdf, PDF_MONTHS, strict=False)):
                _insert_month(conn, users[_pdf_email(count)], count, month, spot_count, i)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        print(f"seed: {args.rows + sum(args.pdf):,} bookings in {time.monotonic() - began:.0f} s")
        return users


def _pdf_email(count):
    return f"pdf{count}@example.com"


def _create_drivers(args):
    from flask_security import hash_password

    from parkapp.accounts.datastore import user_datastore
    from parkapp.accounts.users import ensure_roles
    from parkapp.extensions import db

    ensure_roles()
    hashed = hash_password(PASSWORD)
    names = {CSV_EMAIL: "Casey History"}
    names.update({_pdf_email(n): f"Pat Monthly {n}" for n in args.pdf})
    for email, name in names.items():
        user_datastore.create_user(email=email, password=hashed, full_name=name, roles=["user"])
    db.session.commit()
    return _user_ids()


def _user_ids():
    from parkapp.extensions import db

    with db.engine.connect() as conn:
        return dict(conn.execute(text("SELECT email, id FROM users")).all())


def _insert_bookings(conn, user_id, count, first, spot_count, prefix, **spacing):
    """`count` stays for one driver: spot after spot, then the next round."""
    every = spacing.get("every", "3 hours")
    stagger = spacing.get("stagger", "10 seconds")
    conn.execute(
        text(BOOKINGS_SQL),
        {
            "first": first,
            "every": every,
            "stagger": stagger,
            "spot_count": spot_count,
            "count": count,
            "user_id": user_id,
            "plate": f"BX{prefix}",
            "prefix": prefix,
            "cancelled": spacing.get("cancelled", 49),
        },
    )


def _insert_month(conn, user_id, count, month, spot_count, index):
    """`count` stays spread over the first 29 days of a month, none cancelled (all in the PDF)."""
    rounds = -(-count // spot_count)
    minutes = 29 * 24 * 60 // rounds  # a round of every spot, then the next
    stagger = max(1, (minutes - 150) * 60 // spot_count)
    _insert_bookings(
        conn,
        user_id,
        count,
        f"{month}-01T00:00:00Z",
        spot_count,
        f"PDF{index}",
        every=f"{minutes} minutes",
        stagger=f"{stagger} seconds",
        cancelled=-1,
    )


def _seeded_as_asked(args):
    from parkapp.extensions import db

    with db.engine.connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT users.email, count(bookings.id) FROM users "
                    "LEFT JOIN bookings ON bookings.user_id = users.id GROUP BY users.email"
                )
            ).all()
        )
        lots = conn.scalar(text("SELECT count(*) FROM lots"))
        spots = conn.scalar(text("SELECT count(*) FROM spots"))
    wanted = {CSV_EMAIL: args.rows, **{_pdf_email(n): n for n in args.pdf}}
    return (
        lots == args.lots
        and spots == args.lots * args.spots
        and all(counts.get(k) == v for k, v in wanted.items())
    )


def new_job(url, user_id, kind, params):
    """A pending export job row, as a request would have written it."""
    engine = create_engine(url)
    with engine.begin() as conn:
        job_id = conn.scalar(
            text(
                "INSERT INTO export_jobs (user_id, kind, params, status, progress, attempts, "
                "created_at) VALUES (:user, :kind, :params, 'pending', 0, 0, now()) RETURNING id"
            ),
            {"user": user_id, "kind": kind, "params": json.dumps(params)},
        )
    engine.dispose()
    return job_id


# -- one measurement, in its own process --------------------------------------------------------


def measure_child(url, job_id):
    """Run generate(job) for one job in this fresh process; print what it took as JSON."""
    app = make_app(url)
    from parkapp.exports import jobs as exports
    from parkapp.extensions import db
    from parkapp.models import ExportJob

    with app.app_context():
        updates = []
        db.event.listen(db.engine, "before_cursor_execute", _count_progress(updates))
        job = db.session.get(ExportJob, job_id)
        exports.start(job)
        rss_before = _peak_rss_mb()
        began = time.perf_counter()
        path, name, rows = exports.generate(job)
        seconds = time.perf_counter() - began
        rss_peak = _peak_rss_mb()
        exports.finish(job, path, name, rows)
        result = {
            "kind": str(job.kind),
            "rows": rows,
            "seconds": seconds,
            "rss_before_mb": rss_before,
            "rss_peak_mb": rss_peak,
            "file_mb": os.path.getsize(path) / 2**20,
            "progress_updates": len(updates),
            "load": os.getloadavg()[0],
            **_check_file(path, rows),
        }
        os.remove(path)
    print(json.dumps(result))


def _count_progress(updates):
    def spy(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE export_jobs SET progress"):
            updates.append(parameters)

    return spy


def _peak_rss_mb():
    """This process's peak resident set size (VmHWM).

    Not getrusage's ru_maxrss: Linux carries the parent's peak across fork and exec, so a
    child of this (large) bench process would report the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def _check_file(path, rows):
    """Cheap sanity checks after the clock stopped: line count of a CSV, pages of a PDF."""
    if path.endswith(".csv"):
        from parkapp.exports.booking_csv import HEADER

        with open(path, "rb") as handle:
            header = handle.readline().decode().strip()
            lines = 1 + sum(1 for _ in handle)
        return {"lines_ok": header == ",".join(HEADER) and lines == rows + 1}
    from pypdf import PdfReader

    return {"pages": len(PdfReader(path).pages)}


def run_child(url, job_id):
    """Measure one job in a fresh interpreter; return its JSON result."""
    env = dict(os.environ, DATABASE_URL=url.render_as_string(hide_password=False))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(job_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"measurement of job {job_id} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- report ------------------------------------------------------------------------------------


def machine(url):
    """One paragraph about where this ran."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    engine = create_engine(url)
    with engine.connect() as conn:
        pg = conn.scalar(text("SHOW server_version"))
        work_mem = conn.scalar(text("SHOW work_mem"))
    engine.dispose()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} CPU {cpu}, {mem:.0f} GiB RAM, {platform.platform()}; "
        f"Python {platform.python_version()}, PostgreSQL {pg} (work_mem {work_mem}) on the "
        f"same host; load average {os.getloadavg()[0]:.2f}"
    )


def csv_lines(results):
    rates = [r["rows"] / r["seconds"] for r in results]
    peaks = [r["rss_peak_mb"] for r in results]
    first = results[0]
    yield (
        f"CSV {first['rows']:,} rows: "
        + ", ".join(f"{r['seconds']:.2f} s" for r in results)
        + f"; median {statistics.median(rates):,.0f} rows/s "
        f"(target >= {TARGETS['csv_rows_per_s']:,})"
    )
    yield (
        f"    peak RSS {max(peaks):.0f} MB (target < {TARGETS['csv_peak_mb']} MB), "
        f"{max(r['rss_peak_mb'] - r['rss_before_mb'] for r in results):.1f} MB of it added by the "
        f"export; file {first['file_mb']:.0f} MB; "
        f"{first['progress_updates']} progress updates; header and line count ok: "
        f"{all(r['lines_ok'] for r in results)}; load average {_loads(results)}"
    )


def pdf_lines(count, results):
    times = [r["seconds"] for r in results]
    target = TARGETS.get(count)
    yield (
        f"PDF {count:,} bookings: "
        + ", ".join(f"{t:.2f} s" for t in times)
        + f"; median {statistics.median(times):.2f} s"
        + (f" (target < {target} s)" if target else "")
    )
    yield (
        f"    {results[0]['pages']} pages, {results[0]['file_mb']:.1f} MB; peak RSS "
        f"{max(r['rss_peak_mb'] for r in results):.0f} MB; load average {_loads(results)}"
    )


def _loads(results):
    loads = [r["load"] for r in results]
    return f"{min(loads):.1f} to {max(loads):.1f}"


def main(argv=None):
    args = parse_args(argv)
    url = bench_database_url(BENCH_DB, "bench/exports.py")
    use_database(url)
    if args.child:
        measure_child(url, args.child)
        return 0
    ensure_database(url)
    users = prepare(url, args)
    print(machine(url))
    csv_runs = [
        run_child(url, new_job(url, users[CSV_EMAIL], "bookings_csv", {})) for _ in range(args.runs)
    ]
    for line in csv_lines(csv_runs):
        print(line)
    for count, month in zip(args.pdf, PDF_MONTHS, strict=False):
        runs = [
            run_child(url, new_job(url, users[_pdf_email(count)], "activity_pdf", {"month": month}))
            for _ in range(args.runs)
        ]
        assert all(r["rows"] == count for r in runs), runs
        for line in pdf_lines(count, runs):
            print(line)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

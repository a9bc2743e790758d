"""Booking throughput, latency and the double-booking check, against gunicorn on PostgreSQL.

N clients loop "park now on any spot, then release" for a fixed time against one lot; the
script then counts overlapping bookings per spot with SQL (must be 0) and measures /healthz
on the same server, to compare booking throughput with what the framework alone serves.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/parkapp .venv/bin/python bench/booking.py

It uses the database `parkapp_bench` (or --db / $BENCH_DB) on DATABASE_URL's
server (created when missing, migrated, emptied, seeded). Without --url it starts its own
gunicorn on 127.0.0.1 (--worker-class sync, gthread or gevent; --servers 2 starts two, as
two hosts on the same PostgreSQL and Redis, and splits the clients between them, then
checks that a logout on one is refused on the other at once); with --url the server there
must use the bench database and have rate limiting off.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import requests
from benchdb import LOOPBACK, bench_database_url, ensure_database, migrate_and_empty, seed_lot
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = os.environ.get("BENCH_DB", "parkapp_bench")
PASSWORD = "bench-password-not-secret"
MAX_CLIENTS, MAX_SECONDS, MAX_CYCLES_PER_CLIENT = 256, 300, 100_000
HEALTH_SECONDS = 10
WORKER_CLASSES = ("sync", "gthread", "gevent")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument(
        "--seconds", type=float, default=20, help="booking phase length (default 20)"
    )
    parser.add_argument("--url", help="an already running server on 127.0.0.1 (default: start one)")
    parser.add_argument(
        "--spots",
        type=int,
        default=200,
        help="spots in the bench lot (default 200; fewer than --clients: 409s)",
    )
    parser.add_argument(
        "--db", default=BENCH_DB, help="bench database (default $BENCH_DB or parkapp_bench)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument(
        "--worker-class", default="gthread", choices=WORKER_CLASSES, help="(default gthread)"
    )
    parser.add_argument(
        "--servers", type=int, default=1, choices=(1, 2), help="gunicorn servers (default 1)"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time GET /api/v1/auth/me: what any authenticated API request costs",
    )
    args = parser.parse_args(argv)
    if args.url and args.servers > 1:
        parser.error("--servers 2 starts its own servers: leave out --url")
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be 1..{MAX_CLIENTS}")
    if not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be 1..{MAX_SECONDS}")
    if not 1 <= args.spots <= 500:
        parser.error("--spots must be 1..500 (fewer spots than clients: a contended lot)")
    if args.url and urlsplit(args.url).hostname not in LOOPBACK:
        parser.error("--url must point at 127.0.0.1 (this benchmark never leaves the machine)")
    return args


def prepare(url, clients, spot_count):
    """Migrate and empty the bench database, then seed one lot and the drivers."""
    app = migrate_and_empty(url)  # first: the app's config reads DATABASE_URL on import
    from flask_security import hash_password

    from parkapp.accounts.datastore import user_datastore
    from parkapp.accounts.users import ensure_roles
    from parkapp.extensions import db

    with app.app_context():
        lot = seed_lot("Bench Lot", spot_count, "B")
        ensure_roles()
        hashed = hash_password(PASSWORD)
        emails = [f"bench{i}@example.com" for i in range(clients)]
        for email in emails:
            user_datastore.create_user(
                email=email, password=hashed, full_name="Bench Driver", roles=["user"]
            )
        db.session.commit()
        lot_id = lot.id
    return lot_id, emails


def login_all(base, emails):
    """One access token per driver, through the real login endpoint."""
    headers = []
    for email in emails:
        response = requests.post(
            f"{base}/api/v1/auth/token", timeout=30, json={"email": email, "password": PASSWORD}
        )
        if response.status_code != 200:
            sys.exit(
                f"login failed for {email}: {response.status_code} {response.text[:200]}"
                " (is rate limiting off and the server on parkapp_bench?)"
            )
        headers.append({"Authorization": f"Bearer {response.json()['access_token']}"})
    return headers


class Tally:
    """What one client saw; merged after the run so clients never share a lock."""

    def __init__(self):
        self.book_latencies, self.release_latencies = [], []
        self.statuses = Counter()
        self.errors = Counter()


class Window:
    """Releases every client at once and tells them when to stop."""

    def __init__(self, parties, seconds):
        self.barrier = threading.Barrier(parties + 1)  # the clients and the main thread
        self.seconds = seconds
        self.deadline = None
        self.opened = None

    def open(self):
        """Main thread: set the deadline, then let the clients go."""
        self.opened = time.monotonic()
        self.deadline = self.opened + self.seconds
        self.barrier.wait()

    def wait(self):
        """Client: wait for the start; the deadline is set by then."""
        self.barrier.wait()
        return self.deadline


def booking_client(base, headers, lot_id, plate, window, tally):
    """Loop: park now on any spot, release it; until the deadline or the cycle bound."""
    with requests.Session() as http:
        deadline = window.wait()
        for _ in range(MAX_CYCLES_PER_CLIENT):
            if time.monotonic() >= deadline:
                break
            booked = _timed(
                http,
                f"{base}/api/v1/bookings",
                headers,
                tally,
                "book",
                {"lot_id": lot_id, "vehicle_plate": plate},
            )
            if booked is not None and booked.status_code == 201:
                _timed(
                    http,
                    f"{base}/api/v1/bookings/{booked.json()['id']}/release",
                    headers,
                    tally,
                    "release",
                )


def _timed(http, url, headers, tally, what, body=None):
    began = time.perf_counter()
    try:
        response = http.post(url, json=body, headers=headers, timeout=30)
    except requests.RequestException as exc:
        tally.errors[f"{what}: {type(exc).__name__}"] += 1
        return None
    elapsed = time.perf_counter() - began
    (tally.book_latencies if what == "book" else tally.release_latencies).append(elapsed)
    tally.statuses[f"{what} {response.status_code}"] += 1
    return response


def health_client(base, window, tally):
    """Loop GET /healthz until the deadline."""
    get_client(base, "/healthz", None, window, tally)


def get_client(base, path, headers, window, tally):
    """Loop GET `path` until the deadline."""
    with requests.Session() as http:
        deadline = window.wait()
        while time.monotonic() < deadline:
            began = time.perf_counter()
            response = http.get(f"{base}{path}", headers=headers, timeout=30)
            tally.book_latencies.append(time.perf_counter() - began)
            tally.statuses[f"{path} {response.status_code}"] += 1


def run_clients(target, args_for, count, seconds):
    """Start `count` threads together; return (merged tally, elapsed seconds)."""
    tallies = [Tally() for _ in range(count)]
    window = Window(count, seconds)
    threads = [
        threading.Thread(target=target, args=(*args_for(i), window, tallies[i]))
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    window.open()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    elapsed = time.monotonic() - window.opened
    merged = Tally()
    for tally in tallies:
        merged.book_latencies += tally.book_latencies
        merged.release_latencies += tally.release_latencies
        merged.statuses.update(tally.statuses)
        merged.errors.update(tally.errors)
    return merged, elapsed


def percentiles(values):
    """(p50, p99) in milliseconds."""
    if len(values) < 2:
        return (values[0] * 1000, values[0] * 1000) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


OVERLAP_SQL = """
SELECT count(*), coalesce(max(upper(r) - lower(r)), interval '0')
FROM (
  SELECT tstzrange(a.starts_at, a.ends_at, '[)') * tstzrange(b.starts_at, b.ends_at, '[)') AS r
  FROM bookings a JOIN bookings b ON a.spot_id = b.spot_id AND a.id < b.id
  WHERE a.status IN ({statuses}) AND b.status IN ({statuses})
    AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')
) pairs
"""


def audit(url, lot_id):
    """Double bookings found by SQL: holding pairs, and any pairs of real stays per spot."""
    engine = create_engine(url)
    with engine.connect() as conn:
        holding = conn.execute(text(OVERLAP_SQL.format(statuses="'reserved', 'active'"))).one()
        stays = conn.execute(
            text(OVERLAP_SQL.format(statuses="'reserved', 'active', 'completed'"))
        ).one()
        counts = dict(
            conn.execute(
                text("SELECT status, count(*) FROM bookings WHERE lot_id = :lot GROUP BY status"),
                {"lot": lot_id},
            ).all()
        )
        spots_used = conn.scalar(text("SELECT count(DISTINCT spot_id) FROM bookings"))
    engine.dispose()
    return {
        "holding_overlaps": holding[0],
        "stay_overlaps": stays[0],
        "longest_stay_overlap": stays[1],
        "by_status": counts,
        "spots_used": spots_used,
    }


def report(args, booked, book_seconds, health, health_seconds, found):
    ok = booked.statuses["book 201"]
    api_requests = len(booked.book_latencies) + len(booked.release_latencies)
    p50, p99 = percentiles(booked.book_latencies)
    r50, r99 = percentiles(booked.release_latencies)
    h50, h99 = percentiles(health.book_latencies)
    api_rate = api_requests / book_seconds
    health_rate = len(health.book_latencies) / health_seconds
    print(
        f"clients {args.clients}, booking phase {book_seconds:.1f} s, healthz phase "
        f"{health_seconds:.1f} s, lot of {args.spots} spots; {args.servers} server(s) of "
        f"{args.workers} {args.worker_class} workers"
        + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
    )
    print(
        f"responses: {dict(sorted(booked.statuses.items()))}; transport errors: "
        f"{dict(booked.errors) or 0}"
    )
    print(f"bookings/second:          {ok / book_seconds:8.1f}  (each followed by a release)")
    print(f"API requests/second:      {api_rate:8.1f}  (book + release)")
    print(f"booking latency p50/p99:  {p50:8.1f} / {p99:.1f} ms")
    print(f"release latency p50/p99:  {r50:8.1f} / {r99:.1f} ms")
    print(f"/healthz requests/second: {health_rate:8.1f}  p50/p99 {h50:.1f} / {h99:.1f} ms")
    print(f"API vs /healthz:          {api_rate / health_rate:8.2f}  (requests/second ratio)")
    print(f"bookings by status: {found['by_status']}; spots used: {found['spots_used']}")
    print(
        f"double bookings (overlapping reserved/active pairs per spot): {found['holding_overlaps']}"
    )
    print(
        f"overlapping stays (reserved/active/completed pairs per spot): "
        f"{found['stay_overlaps']} (longest overlap {found['longest_stay_overlap']})"
    )
    return found["holding_overlaps"] == 0 and found["stay_overlaps"] == 0


def main(argv=None):
    args = parse_args(argv)
    url = bench_database_url(args.db, "bench/booking.py")
    ensure_database(url)
    lot_id, emails = prepare(url, args.clients, args.spots)
    servers = []
    if args.url:
        bases = [args.url.rstrip("/")]
    else:
        from tests.live_server import LiveServer

        for _ in range(args.servers):
            servers.append(
                LiveServer(
                    url.render_as_string(hide_password=False),
                    workers=args.workers,
                    threads=args.threads,
                    worker_class=args.worker_class,
                ).start()
            )
        bases = [server.url for server in servers]
    try:
        # client i talks to server i mod n, as behind a load balancer
        headers = [login_all(bases[i % len(bases)], [email])[0] for i, email in enumerate(emails)]
        booked, book_seconds = run_clients(
            booking_client,
            lambda i: (bases[i % len(bases)], headers[i], lot_id, f"BENCH{i}"),
            args.clients,
            args.seconds,
        )
        health, health_seconds = run_clients(
            health_client,
            lambda i: (bases[i % len(bases)],),
            args.clients,
            min(args.seconds, HEALTH_SECONDS),
        )
        floor = None
        if args.floor:  # the cheapest authenticated API request: token checks + user load
            floor, floor_seconds = run_clients(
                get_client,
                lambda i: (bases[i % len(bases)], "/api/v1/auth/me", headers[i]),
                args.clients,
                min(args.seconds, HEALTH_SECONDS),
            )
        logout = logout_check(bases, emails[0]) if len(bases) > 1 else None
        if servers and any(" 5" in key for key in booked.statuses):
            for server in servers:
                print(f"server errors; gunicorn's log ends with:\n{server.log(6000)}")
    finally:
        for server in servers:
            server.close()
    clean = report(args, booked, book_seconds, health, health_seconds, audit(url, lot_id))
    if floor is not None:
        rate = len(floor.book_latencies) / floor_seconds
        f50, f99 = percentiles(floor.book_latencies)
        print(
            f"GET /api/v1/auth/me req/s:  {rate:8.1f}  p50/p99 {f50:.1f} / {f99:.1f} ms; "
            f"vs /healthz {rate / (len(health.book_latencies) / health_seconds):.2f}; "
            f"responses {dict(floor.statuses)}"
        )
    if logout is not None:
        print(f"logout on server 1, same token on server 2: {logout}")
        clean = clean and logout == "before 200, after 401"
    return 0 if clean else 1


def logout_check(bases, email):
    """Log out on the first server; the token must be refused by the second at once."""
    token = login_all(bases[0], [email])[0]
    before = requests.get(f"{bases[1]}/api/v1/auth/me", headers=token, timeout=30).status_code
    out = requests.post(f"{bases[0]}/api/v1/auth/logout", headers=token, timeout=30)
    if out.status_code != 204:
        return f"logout answered {out.status_code}"
    after = requests.get(f"{bases[1]}/api/v1/auth/me", headers=token, timeout=30).status_code
    return f"before {before}, after {after}"


if __name__ == "__main__":
    sys.exit(main())

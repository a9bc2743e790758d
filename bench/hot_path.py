"""The work of one park-now + release cycle in process: SQL statements and CPU time.

Drives the real app through Flask's test client (no HTTP server, no network between the
client and the app) on PostgreSQL, and Redis when REDIS_URL is set:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/parkapp REDIS_URL=redis://127.0.0.1:6379/13 \
      .venv/bin/python bench/hot_path.py            # --cycles 300 --rounds 3 [--profile]

It uses the database `parkapp_bench_hot` (or --db) on DATABASE_URL's server, created when
missing, migrated and emptied, with one lot of 50 spots and one driver. After 20 warm-up
cycles it lists the statements of one cycle, then reports the CPU time (`process_time`)
of --cycles cycles per round, and of GET /healthz and GET /api/v1/auth/me (what any request,
and any authenticated API request, costs before its own work); --profile prints a pyinstrument profile of one more round.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from benchdb import bench_database_url, ensure_database, migrate_and_empty, seed_lot
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-not-secret"
EMAIL = "hot@example.com"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="parkapp_bench_hot", help="(default parkapp_bench_hot)")
    parser.add_argument("--cycles", type=int, default=300, help="cycles per round (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--profile", action="store_true", help="pyinstrument one more round")
    args = parser.parse_args(argv)
    if not 1 <= args.cycles <= 5000 or not 1 <= args.rounds <= 20:
        parser.error("--cycles 1..5000, --rounds 1..20")
    return args


def prepare(url):
    """Migrate and empty the database, seed a lot and a driver; return (app, lot id)."""
    app = migrate_and_empty(url)  # first: the app's config reads DATABASE_URL on import
    from flask_security import hash_password

    from parkapp.accounts.datastore import user_datastore
    from parkapp.accounts.users import ensure_roles
    from parkapp.extensions import db

    with app.app_context():
        lot = seed_lot("Hot Lot", 50, "H")
        ensure_roles()
        user_datastore.create_user(
            email=EMAIL, password=hash_password(PASSWORD), full_name="Hot Driver", roles=["user"]
        )
        db.session.commit()
        return app, lot.id


def cycle(client, headers, lot_id):
    """Park now, then release; fail loudly on anything but 201 and 200."""
    booked = client.post(
        "/api/v1/bookings", json={"lot_id": lot_id, "vehicle_plate": "HOT1"}, headers=headers
    )
    assert booked.status_code == 201, booked.get_json()
    released = client.post(f"/api/v1/bookings/{booked.get_json()['id']}/release", headers=headers)
    assert released.status_code == 200, released.get_json()


def main(argv=None):
    args = parse_args(argv)
    url = bench_database_url(args.db, "bench/hot_path.py")
    ensure_database(url)
    app, lot_id = prepare(url)
    from parkapp.extensions import db

    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    for _ in range(20):
        cycle(client, headers, lot_id)

    statements = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split())[:150])

    event.listen(engine, "before_cursor_execute", record)
    cycle(client, headers, lot_id)
    event.remove(engine, "before_cursor_execute", record)
    print(f"redis: {'on' if app.config['REDIS_URL'] else 'off'}")
    print(f"statements in one cycle: {len(statements)}")
    for number, statement in enumerate(statements, 1):
        print(f"  {number:2}. {statement}")

    per_cycle = []
    for _ in range(args.rounds):
        began, wall = time.process_time(), time.perf_counter()
        for _ in range(args.cycles):
            cycle(client, headers, lot_id)
        cpu = (time.process_time() - began) / args.cycles * 1000
        per_cycle.append(cpu)
        print(
            f"round: CPU {cpu:.2f} ms per cycle, wall "
            f"{(time.perf_counter() - wall) / args.cycles * 1000:.2f} ms"
        )
    print(f"CPU per cycle, median of {args.rounds} rounds: {statistics.median(per_cycle):.2f} ms")
    # What any request costs before its own work: the framework, and the token checks with
    # the user load of an authenticated API request.
    for path, extra in (("/healthz", None), ("/api/v1/auth/me", headers)):
        began = time.process_time()
        for _ in range(args.cycles):
            assert client.get(path, headers=extra).status_code == 200
        cpu = (time.process_time() - began) / args.cycles * 1000
        print(f"GET {path}: CPU {cpu:.2f} ms per request")

    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.cycles):
            cycle(client, headers, lot_id)
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

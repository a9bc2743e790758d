"""Faults on real services: Redis stopped and started again, PostgreSQL connections killed in
the middle of a burst of bookings. Real gunicorn (tests/live_server.py), a real Celery worker
(tests/worker_process.py), a private redis-server on its own port (the shared one is never
touched), and pg_terminate_backend on this test database's app connections only.

A SIGKILLed worker is in test_worker.py (its whole process tree killed mid-export).
"""

import os
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask_jwt_extended import create_access_token
from sqlalchemy import select, text

from parkapp.extensions import db
from parkapp.models import Booking, ExportJob, JobStatus
from tests.conftest import PASSWORD, hours_from_now, iso
from tests.live_server import LiveServer, free_port
from tests.test_exports import add_bookings, utc
from tests.worker_process import CeleryWorker

DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith("postgres")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="fault tests drive gunicorn on PostgreSQL (set DATABASE_URL)"
)
APP_NAME = "parkapp-fault-test"  # application_name of the live server's connections
TIMEOUT = 15  # seconds: no request may take longer, whatever breaks


def bearer(user):
    return {"Authorization": f"Bearer {create_access_token(identity=user.fs_uniquifier)}"}


def with_app_name(url):
    return f"{url}{'&' if '?' in url else '?'}application_name={APP_NAME}"


# -- Redis ----------------------------------------------------------------------------------


class PrivateRedis:
    """redis-server on a port of its own, no persistence; stopped and started at will."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self, timeout=10):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis().start()
    yield server
    server.stop()


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        if check():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} within {timeout} s")


def test_redis_down_pages_bookings_and_logins_keep_working_and_exports_run_when_it_returns(
    private_redis, smtp_server, mailbox, driver, make_lot
):
    lot = make_lot(spots={"standard": 5})
    add_bookings(driver, lot, utc(2025, 5, 1, 9), count=3)
    env = {
        "REDIS_URL": private_redis.url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
        "EXPORT_LEASE_SECONDS": "2",
        "EXPORT_RECLAIM_SECONDS": "1",
        "RATELIMIT_ENABLED": "true",  # logins go through the limiter, as in production
    }
    worker = CeleryWorker("redis-fault", env, beat=True)
    with LiveServer(DATABASE_URL, workers=1, threads=4, env=env) as server:
        try:
            worker.start()
            private_redis.stop()  # Redis goes away: broker, cache, rate limits
            http = requests.Session()

            assert http.get(f"{server.url}/", timeout=TIMEOUT).status_code == 200
            token = http.post(
                f"{server.url}/api/v1/auth/token",
                json={"email": driver.email, "password": PASSWORD},
                timeout=TIMEOUT,
            )
            # Logins with Redis down rely on the limiter's in-memory fallback (another change).
            logins_ok = token.status_code == 200
            headers = bearer(driver)
            booked = http.post(
                f"{server.url}/api/v1/bookings",
                json={
                    "lot_id": lot.id,
                    "vehicle_plate": "RD15DWN",
                    "starts_at": iso(hours_from_now(2)),
                    "ends_at": iso(hours_from_now(4)),
                },
                headers=headers,
                timeout=TIMEOUT,
            )
            assert booked.status_code == 201, booked.text
            jobs = []
            for _ in range(2):
                accepted = http.post(
                    f"{server.url}/api/v1/exports",
                    json={"kind": "bookings_csv"},
                    headers=headers,
                    timeout=TIMEOUT,
                )
                assert accepted.status_code == 202, accepted.text
                assert accepted.json()["status"] == "pending"
                jobs.append(accepted.json()["id"])

            private_redis.start()  # back on the same port: the worker reconnects
            wait_until(
                lambda: all(
                    db.session.get(ExportJob, job_id).status == JobStatus.DONE for job_id in jobs
                ),
                40,
                "exports not done after Redis came back",
            )
            wait_until(lambda: len(mailbox.to(driver.email)) >= 2, 10, "two mails")
            time.sleep(1)  # a duplicate would come right behind
            assert len(mailbox.to(driver.email)) == 2
            subjects = sorted(m["Subject"] for m in mailbox.to(driver.email))
            assert subjects[0] == subjects[1]  # one per job: the same kind of export twice
        finally:
            worker.close()
    # Logins fall back to in-memory rate limits while Redis is down (parkapp/ratelimits.py).
    assert logins_ok, f"login with Redis down: {token.status_code} {token.text[:200]}"


# -- PostgreSQL ------------------------------------------------------------------------------


def kill_app_connections(engine, database):
    """pg_terminate_backend on the live server's connections to this test database only."""
    with engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND application_name = :app AND pid <> pg_backend_pid()"
            ),
            {"db": database, "app": APP_NAME},
        ).scalar()
        conn.commit()
    return killed


def test_postgres_connections_killed_mid_burst_lose_nothing_committed_and_recover(
    make_user, make_lot
):
    lot_id = make_lot(spots={"standard": 200}).id  # plain values: threads have no app context
    headers = bearer(make_user())
    engine, database = db.engine, db.engine.url.database  # the thread has no app context
    stop = threading.Event()
    kills = []

    def killer():
        while not stop.is_set():
            kills.append(kill_app_connections(engine, database))
            time.sleep(1.0)

    def book(i):
        body = {
            "lot_id": lot_id,
            "vehicle_plate": f"PG{i:05d}",
            "starts_at": iso(hours_from_now(2 + i % 7)),
            "ends_at": iso(hours_from_now(3 + i % 7)),
        }
        started = time.monotonic()
        try:
            response = requests.post(
                f"{server.url}/api/v1/bookings", json=body, headers=headers, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            return ("no answer", repr(exc), time.monotonic() - started)
        return (response.status_code, _json(response), time.monotonic() - started)

    with LiveServer(with_app_name(DATABASE_URL), workers=2, threads=4) as server:
        kill_thread = threading.Thread(target=killer)
        kill_thread.start()
        try:
            with ThreadPoolExecutor(8) as pool:
                results = list(pool.map(book, range(120)))
        finally:
            stop.set()
            kill_thread.join()
        # Recovery on its own: once the kills stop, bookings succeed again.
        after = [book(1000 + i) for i in range(12)]
        log = server.log(3000)

    assert sum(kills) > 0, "the killer found no connection of the app to terminate"
    statuses = [status for status, _, _ in results]
    assert "no answer" not in statuses, [r for r in results if r[0] == "no answer"][:3]
    assert max(seconds for _, _, seconds in results) < TIMEOUT
    for status, body, _ in results:
        assert status == 201 or (status >= 500 and isinstance(body, dict) and body.get("code")), (
            status,
            body,
            log,
        )
    assert statuses.count(201) > 0, Counter(statuses)
    assert [status for status, _, _ in after[-6:]] == [201] * 6, (after, log)
    db.session.rollback()
    stored = set(db.session.scalars(select(Booking.id).where(Booking.lot_id == lot_id)))
    answered = {body["id"] for status, body, _ in results + after if status == 201}
    assert answered <= stored  # every booking answered 201 is in the database
    failures = {status for status in statuses if status != 201}
    assert failures <= {503}, f"failures should be 503 database_unavailable: {failures}"


def _json(response):
    try:
        return response.json()
    except ValueError:
        return response.text[:300]

"""Exports through a real Celery worker on the real Redis broker, mailing the test SMTP server.

Only with REDIS_URL (the worker and the tests must share a broker). The export is slowed
with the EXPORT_ROW_DELAY_MS test knob so the tests can watch it and kill it mid-run.
"""

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest

from parkapp.extensions import db
from parkapp.models import ExportJob
from tests.test_exports import add_bookings, attachments, fetch, run_task, set_eager, utc
from tests.worker_process import CeleryWorker

LEASE_SECONDS = 3
pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs REDIS_URL: a real worker needs the Redis broker"
)


@pytest.fixture
def start_worker(app, smtp_server):
    """Factory: start a worker sending mail to the test SMTP server; all stop at the end."""
    set_eager(app, False)
    app.extensions["celery"].control.purge()  # nothing left queued by other tests
    started = []

    def start(name, row_delay_ms, beat=False):
        worker = CeleryWorker(
            name,
            {
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(smtp_server.port),
                "EXPORT_ROW_DELAY_MS": str(row_delay_ms),
                # A short lease and a reclaim every second: a dead worker's job is taken
                # up again in seconds rather than the production minutes.
                "EXPORT_LEASE_SECONDS": str(LEASE_SECONDS),
                "EXPORT_RECLAIM_SECONDS": "1",
            },
            beat=beat,
        )
        started.append(worker)
        return worker.start()

    exports_dir = Path(app.instance_path) / "exports"
    before = set(exports_dir.glob("*"))
    yield start
    for worker in started:
        worker.close()
    for leftover in set(exports_dir.glob("*")) - before:  # a killed run leaves its partial file
        leftover.unlink()


def request_csv(client, headers):
    response = client.post("/api/v1/exports", json={"kind": "bookings_csv"}, headers=headers)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def poll(client, url, headers, until, timeout=40):
    """GET the status every 0.1 s until `until(status)`; return every status seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()  # the tests share one session; a real request starts afresh
        seen.append(client.get(url, headers=headers).get_json())
        if until(seen[-1]):
            return seen
        time.sleep(0.1)
    raise TimeoutError(f"export still {seen[-1]} after {timeout} s")


def wait_for_mail(mailbox, address, count=1, timeout=15):
    deadline = time.monotonic() + timeout
    while len(mailbox.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return mailbox.to(address)


def finished(status):
    return status["status"] in ("done", "failed")


def test_worker_builds_the_export_with_moving_progress_and_mails_it(
    start_worker, client, auth, driver, lot, mailbox
):
    add_bookings(driver, lot, utc(2024, 1, 1), count=1500, every=timedelta(hours=3))
    headers = auth.headers()
    start_worker("exports", row_delay_ms=2)

    accepted = request_csv(client, headers)
    seen = poll(client, accepted["status_url"], headers, finished)

    final = seen[-1]
    assert final["status"] == "done" and final["progress"] == 100, final
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress)
    assert any(0 < p < 100 for p in progress) and any(s["status"] == "running" for s in seen)
    (message,) = wait_for_mail(mailbox, "driver@example.com")
    ((_, _, attached),) = attachments(message)
    assert attached == fetch(client, final["download_url"], headers=headers)[2]
    assert attached.decode().count("\n") == 1501


def test_worker_killed_mid_export_loses_nothing_and_mails_once(
    start_worker, client, auth, driver, lot, mailbox
):
    add_bookings(driver, lot, utc(2024, 1, 1), count=1500, every=timedelta(hours=3))
    headers = auth.headers()
    first = start_worker("doomed", row_delay_ms=3)

    accepted = request_csv(client, headers)
    poll(
        client,
        accepted["status_url"],
        headers,
        lambda s: s["status"] == "running" and s["progress"] >= 10,
    )
    # Stop taking work, then kill the process running the export: the lost task goes
    # back to the queue (acks_late + reject_on_worker_lost) rather than being acked.
    first.process.send_signal(signal.SIGTERM)
    first.kill_child()
    first.process.wait(20)
    assert "WorkerLostError" in first.output()
    db.session.rollback()
    assert db.session.get(ExportJob, accepted["id"]).status.value == "running"

    # The requeued message finds the dead run's lease still live and leaves the job to the
    # upkeep task (beat), which dispatches it again once the lease has expired.
    rescuer = start_worker("rescuer", row_delay_ms=0, beat=True)
    final = poll(client, accepted["status_url"], headers, finished)[-1]

    assert final["status"] == "done", final
    assert db.session.get(ExportJob, accepted["id"]).attempts == 2
    assert len(wait_for_mail(mailbox, "driver@example.com")) == 1
    rescuer.wait_for_log("succeeded", timeout=10)  # the new worker finished it
    time.sleep(1)  # a duplicate would arrive right behind the first mail
    assert len(mailbox.to("driver@example.com")) == 1


def test_worker_sigkilled_whole_is_replaced_within_the_lease_and_mails_once(
    app, start_worker, client, auth, driver, lot, mailbox
):
    """SIGKILL of the whole worker leaves its message unacked in Redis for the 2 h visibility
    timeout; the job's expired lease gets it dispatched again by beat within seconds."""
    add_bookings(driver, lot, utc(2024, 1, 1), count=1500, every=timedelta(hours=3))
    headers = auth.headers()
    doomed = start_worker("doomed", row_delay_ms=3)

    accepted = request_csv(client, headers)
    poll(
        client,
        accepted["status_url"],
        headers,
        lambda s: s["status"] == "running" and s["progress"] >= 10,
    )
    doomed.kill()
    killed_at = time.monotonic()
    db.session.rollback()
    assert db.session.get(ExportJob, accepted["id"]).status.value == "running"

    start_worker("rescuer", row_delay_ms=0, beat=True)
    final = poll(client, accepted["status_url"], headers, finished, timeout=30)[-1]

    assert final["status"] == "done", final
    assert time.monotonic() - killed_at < LEASE_SECONDS + 25
    (message,) = wait_for_mail(mailbox, "driver@example.com")
    ((_, _, attached),) = attachments(message)
    assert attached.decode().count("\n") == 1501
    time.sleep(0.5)  # the lease is given back right after the mail
    db.session.rollback()
    job = db.session.get(ExportJob, accepted["id"])
    assert job.attempts == 2 and job.lease_token is None
    # The original message, redelivered by Redis hours later, finds the job over.
    set_eager(app)
    assert run_task(app, "parkapp.tasks.exports.run_export", accepted["id"]).result == "done"
    time.sleep(1)  # a duplicate would arrive right behind the first mail
    assert len(mailbox.to("driver@example.com")) == 1

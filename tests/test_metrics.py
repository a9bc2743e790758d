"""Prometheus metrics at /metrics: counters that move with the domain, the token, gunicorn."""

import os
import runpy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from parkapp.models import JobKind
from tests.conftest import api_book, reservation
from tests.test_exports import new_job, set_eager
from tests.test_payments import post_payment

ROOT = Path(__file__).resolve().parent.parent


def parse(text):
    """{(sample name, sorted labels): value} of a Prometheus text answer."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, **headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_booking_and_a_payment_through_the_api_move_their_counters(client, driver_headers, lot):
    before = scrape(client)
    booking = reservation(client, driver_headers, lot)
    paid = post_payment(client, driver_headers, booking, 400, key="metrics-pay-1")
    assert paid.status_code == 201, paid.get_json()
    post_payment(client, driver_headers, booking, 400, key="metrics-pay-1")  # a replay: no money
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("parkapp_bookings_total", source="api") == 1
    assert moved("parkapp_payments_total", currency="GBP", method="online") == 1
    assert moved("parkapp_payments_amount_cents_total", currency="GBP", method="online") == 400
    assert moved("parkapp_payments_total", currency="GBP", method="cash") == 0


def test_a_refused_booking_is_not_counted(client, driver_headers, other_headers, make_lot):
    lot = make_lot(spots={"standard": 1})
    before = value(scrape(client), "parkapp_bookings_total", source="api")
    assert api_book(client, driver_headers, lot).status_code == 201
    second = api_book(client, other_headers, lot, vehicle_plate="ZZ99ZZZ")
    assert second.status_code == 409
    assert value(scrape(client), "parkapp_bookings_total", source="api") == before + 1


def test_request_latency_is_a_histogram_by_endpoint_method_and_status(client):
    name = "parkapp_http_request_duration_seconds_count"
    healthz = {"endpoint": "check.healthz", "method": "GET", "status": "200"}
    missing = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    before = scrape(client)
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page")
    after = scrape(client)
    assert value(after, name, **healthz) - value(before, name, **healthz) == 3
    assert value(after, name, **missing) - value(before, name, **missing) == 1
    bucket = value(after, "parkapp_http_request_duration_seconds_bucket", le="+Inf", **healthz)
    assert bucket == value(after, name, **healthz)


def test_tasks_run_and_failed_are_counted_by_task_name(app, client, driver_headers):
    set_eager(app)
    celery = app.extensions["celery"]
    before = scrape(client)
    response = client.post("/api/v1/exports", json={"kind": "bookings_csv"}, headers=driver_headers)
    assert response.status_code == 202

    @celery.task(name="tests.metrics.boom")
    def boom():
        raise RuntimeError("boom")

    boom.apply()
    after = scrape(client)
    export = "parkapp.tasks.exports.run_export"
    run = "parkapp_tasks_run_total"
    assert (
        value(after, run, task=export, state="SUCCESS")
        - value(before, run, task=export, state="SUCCESS")
        == 1
    )
    assert value(after, run, task="tests.metrics.boom", state="FAILURE") == 1 + value(
        before, run, task="tests.metrics.boom", state="FAILURE"
    )
    failed = "parkapp_tasks_failed_total"
    assert value(after, failed, task="tests.metrics.boom") == 1 + value(
        before, failed, task="tests.metrics.boom"
    )
    assert value(after, failed, task=export) == value(before, failed, task=export)


def test_queue_depth_counts_pending_exports_and_the_redis_queue(app, client, driver):
    for _ in range(3):
        new_job(driver, JobKind.BOOKINGS_CSV)
    samples = scrape(client)
    assert value(samples, "parkapp_exports_pending") == 3
    if os.environ.get("REDIS_URL"):
        set_eager(app, False)
        celery = app.extensions["celery"]
        celery.control.purge()
        try:
            celery.send_task("parkapp.tasks.exports.run_export", args=[0])
            celery.send_task("parkapp.tasks.exports.run_export", args=[0])
            samples = scrape(client)
        finally:
            celery.control.purge()
            set_eager(app)
        assert value(samples, "parkapp_celery_queue_length", queue="celery") == 2
    else:  # no Redis broker: the gauge is left out rather than made up
        assert not any(name == "parkapp_celery_queue_length" for name, _ in samples)


@pytest.fixture
def metrics_token(app):
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    yield "s3cret-scrape-token"
    app.config["METRICS_TOKEN"] = ""


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "s3cret-scrape-token", "Bearer "])
def test_with_a_token_metrics_refuses_other_callers_with_a_json_401(
    client, metrics_token, authorization
):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    body = response.get_json()
    assert body["code"] == "unauthenticated" and body["errors"] == {} and body["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_with_a_token_metrics_answers_its_holder(client, metrics_token):
    samples = scrape(client, Authorization=f"Bearer {metrics_token}")
    assert any(name.startswith("parkapp_") for name, _ in samples)


# -- gunicorn with several workers ----------------------------------------------------------


def get(url):
    return requests.get(url, timeout=10, headers={"Connection": "close"}).status_code


def sync_gunicorn(database_url, env):
    """LiveServer with sync workers: a busy worker accepts nothing, so requests spread out."""
    from tests.live_server import LiveServer

    class SyncServer(LiveServer):
        def command(self):
            argv = super().command()
            del argv[argv.index("--threads") : argv.index("--threads") + 2]
            argv[argv.index("gthread")] = "sync"
            return argv

    return SyncServer(database_url, workers=3, env=env)


def test_under_gunicorn_every_scrape_adds_up_all_workers(app, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by a previous run")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "REDIS_URL": ""}
    healthz = {"endpoint": "check.healthz", "method": "GET", "status": "200"}
    with sync_gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], env) as live:
        before = parse(requests.get(f"{live.url}/metrics", timeout=10).text)
        sent = 0
        # Concurrent fresh connections until at least two workers have served some.
        while len(list(folder.glob("histogram_*.db"))) < 2 and sent < 300:
            with ThreadPoolExecutor(10) as pool:
                answers = list(pool.map(lambda _: get(f"{live.url}/healthz"), range(30)))
            assert answers == [200] * 30
            sent += 30
        scrapes = [parse(requests.get(f"{live.url}/metrics", timeout=10).text) for _ in range(6)]
        histogram_files = list(folder.glob("histogram_*.db"))
    counted = [
        value(s, "parkapp_http_request_duration_seconds_count", **healthz)
        - value(before, "parkapp_http_request_duration_seconds_count", **healthz)
        for s in scrapes
    ]
    assert len(histogram_files) >= 2, sent  # more than one worker served requests
    assert counted == [sent] * 6  # whichever worker answers a scrape, the totals agree
    assert not (folder / "counter_1.db").exists()  # the stale file was cleared at start


def test_gunicorn_conf_makes_a_metrics_folder_when_none_is_given(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    try:
        assert folder.is_dir()
        settings["on_starting"](None)
        (folder / "counter_5.db").write_bytes(b"")
    finally:
        settings["on_exit"](None)
    assert not folder.exists()

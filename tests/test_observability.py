"""Request ids on every answer and log line, carried into Celery tasks; log formats; ProxyFix."""

import json
import logging
import os
import re

import pytest

from config import ConfigError
from parkapp import create_app
from parkapp.observability import logs
from tests.test_exports import set_eager

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def records_with(caplog, rid):
    return [r for r in caplog.records if getattr(r, "request_id", None) == rid]


# -- the header ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, status",
    [("/healthz", 200), ("/", 200), ("/no-such-page", 404), ("/api/v1/no-such", 404)],
)
def test_a_safe_client_id_is_echoed_on_pages_api_and_errors(client, path, status):
    response = client.get(path, headers={"X-Request-ID": "lb-7f3a.2:x_9"})
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "lb-7f3a.2:x_9"


def test_api_errors_and_refusals_carry_the_id(client, driver_headers):
    unauthenticated = client.get("/api/v1/bookings", headers={"X-Request-ID": "no-token"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["X-Request-ID"] == "no-token"
    wrong_method = client.delete("/healthz", headers={"X-Request-ID": "bad-verb"})
    assert wrong_method.status_code == 405 and wrong_method.headers["X-Request-ID"] == "bad-verb"
    invalid = client.post("/api/v1/bookings", json={}, headers={**driver_headers})
    assert invalid.status_code in (400, 422) and HEX_ID.match(invalid.headers["X-Request-ID"])


@pytest.mark.parametrize(
    "sent",
    [None, "", "has space", 'quote"d', "x" * 65, "<script>", "tab\there", "ünïcode"],
)
def test_a_missing_or_unsafe_id_is_replaced_by_a_new_one(client, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    second = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert HEX_ID.match(first) and HEX_ID.match(second) and first != second


# -- log lines -------------------------------------------------------------------------------


def test_log_records_written_during_a_request_carry_its_id(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/no-such-page", headers={"X-Request-ID": "trace-me-1"})
    client.get("/healthz", headers={"X-Request-ID": "trace-me-2"})

    (line,) = records_with(caplog, "trace-me-1")
    assert line.name == "parkapp.request" and line.status == 404
    assert line.getMessage().startswith("GET /no-such-page 404")
    assert [r.path for r in records_with(caplog, "trace-me-2")] == ["/healthz"]
    logging.getLogger("parkapp.test").info("after the requests")
    assert caplog.records[-1].request_id == "-"  # the id ends with its request


def test_json_lines_have_time_level_logger_message_and_request_id(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/healthz", headers={"X-Request-ID": "json-1"})
    (record,) = records_with(caplog, "json-1")

    line = json.loads(logs.formatter("json").format(record))

    assert line["request_id"] == "json-1" and line["level"] == "INFO"
    assert line["name"] == "parkapp.request" and line["message"].startswith("GET /healthz 200")
    assert line["status"] == 200 and line["path"] == "/healthz" and "time" in line
    assert "[json-1]" in logs.formatter("text").format(record)


def test_an_unknown_log_format_or_level_refuses_to_start(app):
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        create_app("testing", {"LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        create_app("testing", {"LOG_LEVEL": "chatty"})
    app.extensions["celery"].set_default()


def test_production_logs_json_unless_told_otherwise():
    from config import DevelopmentConfig, ProductionConfig

    assert os.environ.get("LOG_FORMAT", "json") == ProductionConfig.LOG_FORMAT
    assert os.environ.get("LOG_FORMAT", "text") == DevelopmentConfig.LOG_FORMAT


# -- tasks -----------------------------------------------------------------------------------


def test_a_task_started_by_a_request_logs_the_requests_id(app, client, driver_headers, caplog):
    set_eager(app)
    caplog.set_level(logging.INFO)
    response = client.post(
        "/api/v1/exports",
        json={"kind": "bookings_csv"},
        headers={**driver_headers, "X-Request-ID": "export-req-1"},
    )
    assert response.status_code == 202, response.get_json()

    task_lines = [r for r in records_with(caplog, "export-req-1") if "run_export" in r.getMessage()]
    assert task_lines, [r.getMessage() for r in caplog.records]
    assert "succeeded" in task_lines[-1].getMessage()


def test_publishing_in_a_request_puts_the_id_in_the_message_headers(app, client, driver_headers):
    from celery import signals

    set_eager(app, False)  # published to the test broker for real, then purged
    sent = []

    def keep(headers=None, **_):
        sent.append(dict(headers))

    signals.before_task_publish.connect(keep, weak=False)
    try:
        response = client.post(
            "/api/v1/exports",
            json={"kind": "bookings_csv"},
            headers={**driver_headers, "X-Request-ID": "publish-1"},
        )
    finally:
        signals.before_task_publish.disconnect(keep)
        app.extensions["celery"].control.purge()
        set_eager(app)
    assert response.status_code == 202
    assert [h.get("request_id") for h in sent] == ["publish-1"]


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="a real worker needs the Redis broker")
def test_a_real_worker_logs_the_id_of_the_request_that_enqueued_its_task(
    app, client, driver_headers, smtp_server
):
    from tests.worker_process import CeleryWorker

    set_eager(app, False)
    app.extensions["celery"].control.purge()
    env = {"LOG_FORMAT": "json", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_server.port)}
    worker = CeleryWorker("obs", env)
    try:
        worker.start()
        response = client.post(
            "/api/v1/exports",
            json={"kind": "bookings_csv"},
            headers={**driver_headers, "X-Request-ID": "worker-req-1"},
        )
        assert response.status_code == 202
        worker.wait_for_log("succeeded", timeout=30)
        lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    finally:
        worker.close()
        set_eager(app)
    done = [
        line for line in lines if "run_export" in line["message"] and "succeeded" in line["message"]
    ]
    assert done and done[0]["request_id"] == "worker-req-1", lines


# -- behind a proxy --------------------------------------------------------------------------


def remote_addr_seen(client, caplog, rid, **headers):
    client.get("/healthz", headers={"X-Request-ID": rid, **headers})
    (line,) = records_with(caplog, rid)
    return line.remote_addr


def test_forwarded_addresses_count_only_when_proxies_are_configured(app, client, caplog):
    caplog.set_level(logging.INFO)
    forwarded = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
    assert app.config["PROXY_FIX_X_FOR"] == 0
    assert remote_addr_seen(client, caplog, "direct-1", **forwarded) == "127.0.0.1"

    behind_one = create_app("testing", {"PROXY_FIX_X_FOR": 1})
    set_eager(app)  # building an app made its Celery app the default; take ours back
    with behind_one.test_client() as proxied:
        # one trusted proxy: its view of the client, not what the client claimed before it
        assert remote_addr_seen(proxied, caplog, "proxied-1", **forwarded) == "203.0.113.7"
        assert remote_addr_seen(proxied, caplog, "proxied-2") == "127.0.0.1"

"""Prometheus metrics: what they are, how requests are timed, and the /metrics answer.

Metrics are module-level prometheus_client objects, as that library intends. Under
gunicorn (or a prefork Celery pool) each process writes its values to files in
`PROMETHEUS_MULTIPROC_DIR` and a scrape adds them up (gunicorn.conf.py sets the folder up);
without that variable the process's own registry is read (tests, `flask run`).
"""

import hmac
import time

from flask import Response, current_app, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

from parkapp.errors import error_body
from parkapp.observability.request_id import STARTED

REQUEST_SECONDS = Histogram(
    "parkapp_http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint, method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BOOKINGS = Counter("parkapp_bookings", "Bookings committed, by source.", ["source"])
PAYMENTS = Counter(
    "parkapp_payments",
    "Payments committed as paid, by currency and method.",
    ["currency", "method"],
)
PAYMENT_CENTS = Counter(
    "parkapp_payments_amount_cents",
    "Money taken in paid payments (cents), by currency and method.",
    ["currency", "method"],
)
TASKS_RUN = Counter(
    "parkapp_tasks_run", "Celery task runs, by task and final state.", ["task", "state"]
)
TASKS_FAILED = Counter("parkapp_tasks_failed", "Celery task runs that raised, by task.", ["task"])


def init_app(app):
    """Time every request and serve GET /metrics."""
    app.after_request(_observe)
    app.add_url_rule("/metrics", "metrics", scrape)


def _observe(response):
    started = request.environ.get(STARTED)
    if started is not None:
        REQUEST_SECONDS.labels(
            request.endpoint or "unmatched", request.method, str(response.status_code)
        ).observe(time.perf_counter() - started)
    return response


def scrape():
    """Prometheus text for this process or, in multiprocess mode, all of them."""
    token = current_app.config.get("METRICS_TOKEN")
    if token and not _bearer_matches(token):
        body = error_body(401, "Send the metrics token as a Bearer token.", "unauthenticated")
        return jsonify(body), 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}
    from parkapp.observability import queues

    own = registry(current_app.config.get("PROMETHEUS_MULTIPROC_DIR"))
    payload = generate_latest(own) + generate_latest(queues.registry(current_app))
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)


def _bearer_matches(token):
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: the time taken does not tell how much of the token was right
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def registry(multiproc_dir):
    """The registry to read: every process's files in multiprocess mode, else our own."""
    if not multiproc_dir:
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


def serve_worker_metrics(port, multiproc_dir):
    """Serve a Celery worker's metrics (its whole pool's in multiprocess mode) on `port`."""
    start_http_server(port, registry=registry(multiproc_dir))

"""A request id on every answer and every log line written while answering.

The id is the client's `X-Request-ID` when it is short and plain, else a new uuid4 hex. It
lives in a context variable, so logging (and Celery publishing, see `tasks.py`) can read it
anywhere without a request context.
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar

from flask import request

HEADER = "X-Request-ID"
SAFE = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # no spaces, quotes or newlines reach the logs
STARTED = "parkapp.started"  # environ key: when the request came in (perf_counter)

_current = ContextVar("request_id", default=None)
access_log = logging.getLogger("parkapp.request")


def current():
    """The request id in force here (a request's, or a task's), or None."""
    return _current.get()


def accept(value):
    """The client's id when it is safe to log and echo, else a new one."""
    if value and SAFE.fullmatch(value):
        return value
    return uuid.uuid4().hex


def bind(value):
    """Make `value` the current request id; returns the token to `unbind` with."""
    return _current.set(value)


def unbind(token):
    """Restore the request id in force before `bind`."""
    _current.reset(token)


class RequestIdMiddleware:
    """WSGI middleware: binds the id around the whole request and sends it back.

    As middleware rather than Flask hooks it also covers answers that no view or hook
    produced: a 404, a 405, another hook's early 429, an error page.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        rid = accept(environ.get("HTTP_X_REQUEST_ID"))
        environ[STARTED] = time.perf_counter()

        def start(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != HEADER.lower()]
            headers.append((HEADER, rid))
            return start_response(status, headers, exc_info)

        token = bind(rid)
        try:
            return self.wsgi_app(environ, start)
        finally:
            unbind(token)


def init_app(app):
    """Wrap the app in the middleware and write one access line per request."""
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)
    app.after_request(_log_request)


def _log_request(response):
    started = request.environ.get(STARTED, time.perf_counter())
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    access_log.info(
        "%s %s %s %sms",
        request.method,
        request.path,
        response.status_code,
        elapsed_ms,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": elapsed_ms,
            "remote_addr": request.remote_addr,
        },
    )
    return response

"""Observability: JSON logs with a request id, Prometheus metrics, proxy headers.

`register_observability(app)` is the factory's one step for all of it; docs/deploy.md says
how the pieces are run in production.
"""

from werkzeug.middleware.proxy_fix import ProxyFix

PROXY_HEADERS = ("for", "proto", "host", "port", "prefix")


def register_observability(app):
    """Logging, request ids, metrics and ProxyFix, from the app's config."""
    from parkapp.observability import domain, logs, metrics, request_id, tasks

    logs.configure(app)
    request_id.init_app(app)
    metrics.init_app(app)
    domain.listen()  # bookings and payments counted as they commit
    tasks.connect(app)
    _proxy_fix(app)


def _proxy_fix(app):
    """Trust X-Forwarded-* only from as many proxies as configured (0, the default: none)."""
    counts = {name: app.config.get(f"PROXY_FIX_X_{name.upper()}", 0) for name in PROXY_HEADERS}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **{f"x_{k}": v for k, v in counts.items()})

"""The gate, for operators, and the health endpoints."""

from flask import Blueprint, jsonify

bp = Blueprint("check", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database and (when configured) Redis answer; 503 names what failed."""
    from parkapp.services.health import readiness

    checks = readiness()
    ok = all(state == "ok" for state in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503

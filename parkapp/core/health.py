"""Readiness checks of the services the app depends on."""

import redis
from flask import current_app
from sqlalchemy import text

from parkapp.extensions import db


def readiness():
    """{"database": "ok" or an error, "redis": the same when Redis is configured}."""
    checks = {"database": _check_database()}
    url = current_app.config.get("REDIS_URL")
    if url:
        checks["redis"] = _check_redis(url)
    return checks


def _check_database():
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any driver error means "not ready"
        db.session.rollback()
        return f"error: {type(exc).__name__}"


def _check_redis(url):
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return "ok"
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"

"""Revoked API tokens: kept in the database, mirrored in Redis so the check costs no query.

Every revocation is a database row (the record) and, after its commit, a Redis key that
expires with the token it refuses. A check asks Redis alone when Redis holds every live
revocation: the READY key, set by `sync()` after copying the table, says so. Redis restarted
(empty, no READY) or unreachable: the check asks the database, so a revoked token is
refused at once on every worker either way. A revocation whose Redis write failed while
Redis was up is copied by the next `sync()` (the beat runs it every minute).
"""

import time
from datetime import UTC, datetime

import redis
from sqlalchemy import select

from parkapp.core import redis_link
from parkapp.extensions import db
from parkapp.models import RevokedToken

KEY = "parkapp:revoked:"
READY = "parkapp:revoked:ready"
RESYNC_SECONDS = 30  # a process without READY copies the table at most this often
_last_sync = {"at": 0.0}


def is_revoked(keys):
    """Whether any of the keys (a token's jti, its family key) is revoked."""
    link = redis_link.link()
    client = link.redis()
    if client is not None:
        try:
            values = client.mget([READY, *(KEY + key for key in keys)])
        except redis.RedisError as exc:
            link.failed("reading revocations", exc)
        else:
            if values[0] is not None:
                return any(value is not None for value in values[1:])
            _maybe_sync()
    query = select(RevokedToken.id).where(RevokedToken.jti.in_(keys)).limit(1)
    return db.session.scalar(query) is not None


def published(rows):
    """Mirror committed revocations [(key, expires_at)] in Redis; the database has them."""
    link = redis_link.link()
    client = link.redis()
    if client is None or not rows:
        return
    try:
        _write(client, rows)
    except redis.RedisError as exc:
        link.failed("writing revocations", exc)


def sync():
    """Copy every live revocation into Redis, then mark Redis as holding them all."""
    client = redis_link.link().redis()
    if client is None:
        return 0
    now = datetime.now(UTC)
    rows = db.session.execute(
        select(RevokedToken.jti, RevokedToken.expires_at).where(RevokedToken.expires_at > now)
    ).all()
    db.session.rollback()
    _write(client, rows)
    client.set(READY, now.isoformat())
    _last_sync["at"] = time.monotonic()
    return len(rows)


def _maybe_sync():
    if time.monotonic() - _last_sync["at"] < RESYNC_SECONDS:
        return
    _last_sync["at"] = time.monotonic()
    try:
        sync()
    except redis.RedisError as exc:
        redis_link.link().failed("copying revocations", exc)


def _write(client, rows):
    now = datetime.now(UTC)
    pipe = client.pipeline(transaction=False)
    for key, expires_at in rows:
        seconds = int((expires_at - now).total_seconds()) + 1
        if seconds > 0:
            pipe.set(KEY + key, 1, ex=seconds)
    pipe.execute()

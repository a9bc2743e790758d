"""Token revocations: Redis answers the check without a query; the database when Redis can't."""

import os
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import event

from parkapp.accounts import revocations
from parkapp.core import redis_link
from parkapp.extensions import db
from parkapp.models import RevokedToken
from tests.live_server import free_port

API = "/api/v1"
pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def revocation_queries():
    """The SQL statements that read revoked_tokens while the block runs."""
    seen = []

    def record(_conn, _cursor, statement, *_args):
        if "revoked_tokens" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def client_redis(app):
    return redis.Redis.from_url(app.config["REDIS_URL"])


def test_with_redis_ready_the_check_asks_no_query_and_refuses_at_once(
    client, auth, driver, client_redis
):
    revocations.sync()
    tokens = auth.tokens(driver.email)
    with revocation_queries() as seen:
        assert (
            client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"])).status_code == 200
        )
    assert seen == []

    client.post(f"{API}/auth/logout", headers=bearer(tokens["access_token"]))

    with revocation_queries() as seen:
        refused = client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))
    assert refused.status_code == 401 and refused.get_json()["code"] == "token_revoked"
    assert seen == []
    assert 0 < client_redis.ttl(revocations.KEY + tokens_jti(tokens["access_token"])) <= 15 * 60 + 1


def tokens_jti(token):
    from flask_jwt_extended import decode_token

    return decode_token(token)["jti"]


def test_a_restarted_redis_falls_back_to_the_database(
    client, auth, driver, client_redis, monkeypatch
):
    monkeypatch.setitem(revocations._last_sync, "at", 0.0)  # no copy made lately in this process
    tokens = auth.tokens(driver.email)
    client.post(f"{API}/auth/logout", headers=bearer(tokens["access_token"]))
    client_redis.flushdb()  # as after a restart: no revocations, no READY

    refused = client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))

    assert refused.status_code == 401
    assert client_redis.get(revocations.READY) is not None  # copied again on the way
    assert client_redis.get(revocations.KEY + tokens_jti(tokens["access_token"])) is not None


def test_an_unreachable_redis_falls_back_to_the_database(app, client, auth, driver, monkeypatch):
    tokens = auth.tokens(driver.email)
    client.post(f"{API}/auth/logout", headers=bearer(tokens["access_token"]))
    monkeypatch.setitem(
        app.extensions, "redis_link", redis_link.RedisLink(f"redis://127.0.0.1:{free_port()}/0")
    )

    with revocation_queries() as seen:
        refused = client.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))

    assert refused.status_code == 401 and seen


def test_sync_copies_a_revocation_whose_redis_write_was_missed(auth, driver, client_redis):
    revocations.sync()
    tokens = auth.tokens(driver.email)
    jti = tokens_jti(tokens["access_token"])
    db.session.add(RevokedToken(jti=jti, expires_at=datetime.now(UTC) + timedelta(minutes=5)))
    db.session.commit()  # as if Redis had refused the write

    assert revocations.sync() >= 1
    assert revocations.is_revoked([jti])

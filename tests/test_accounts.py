"""Accounts: Flask-Security-Too's CLI, password reset by email, argon2 hashes."""

import re

import requests

from parkapp.extensions import db
from parkapp.models import User
from tests.conftest import PASSWORD
from tests.live_server import free_port


def test_cli_creates_an_admin_with_flask_security_commands(runner):
    runner.invoke(args=["ensure-roles"])
    result = runner.invoke(
        args=[
            "users",
            "create",
            "boss@example.com",
            "full_name:Bo Boss",
            "--password",
            "a-long-secret-pass-1",
            "--active",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["roles", "add", "boss@example.com", "admin"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).filter_by(email="boss@example.com"))
    assert user.has_role("admin")


def test_passwords_are_hashed_with_argon2(make_user):
    user = make_user()
    assert user.password.startswith("$argon2")


def test_password_reset_mail_arrives_and_its_link_sets_a_new_password(client, driver, mailbox):
    response = client.post("/reset", data={"email": driver.email}, follow_redirects=True)
    assert response.status_code == 200
    [message] = mailbox.to(driver.email)
    body = "".join(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    link = re.search(r"http://localhost(/reset/\S+)", body).group(1)
    new_password = "a-brand-new-passphrase-9"
    response = client.post(
        link,
        data={"password": new_password, "password_confirm": new_password},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert (
        client.post(
            "/api/v1/auth/token", json={"email": driver.email, "password": PASSWORD}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/v1/auth/token", json={"email": driver.email, "password": new_password}
        ).status_code
        == 200
    )


def test_deactivated_user_cannot_log_in(client, make_user):
    user = make_user(email="gone@example.com", active=False)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD}, follow_redirects=True
    )
    assert b"Wrong email or password." in response.data  # as for any failed login
    assert client.get("/account/").status_code == 302


def limited_server(app, **env):
    """A one-worker gunicorn with rate limits on (in-memory counters unless env says)."""
    from tests.live_server import LiveServer

    env = {"RATELIMIT_ENABLED": "true", "AUTH_RATE_LIMIT": "3 per minute", "REDIS_URL": "", **env}
    return LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], workers=1, threads=2, env=env)


def test_page_and_api_logins_share_one_limit_with_retry_after(app, driver):
    with limited_server(app) as server:
        logins = [
            requests.post(
                f"{server.url}/login", timeout=10, data={"email": driver.email, "password": "wrong"}
            )
            for _ in range(2)
        ]
        tokens = [
            requests.post(
                f"{server.url}/api/v1/auth/token",
                timeout=10,
                json={"email": driver.email, "password": "wrong"},
            )
            for _ in range(2)
        ]
        another_login = requests.post(
            f"{server.url}/login", timeout=10, data={"email": driver.email, "password": "wrong"}
        )
    assert [r.status_code for r in logins] == [200, 200]
    assert [t.status_code for t in tokens] == [401, 429]  # the third guess of this client
    assert tokens[1].json()["code"] == "rate_limited"
    assert int(tokens[1].headers["Retry-After"]) > 0
    assert another_login.status_code == 429


def test_reset_mails_are_limited_per_address_as_well_as_per_client(app, driver):
    env = {"AUTH_RATE_LIMIT": "20 per minute", "RESET_EMAIL_RATE_LIMIT": "2 per hour"}
    with limited_server(app, **env) as server:
        to_victim = [
            requests.post(f"{server.url}/reset", timeout=10, data={"email": email})
            for email in (driver.email, driver.email.upper(), f" {driver.email}")
        ]
        to_someone_else = requests.post(
            f"{server.url}/reset", timeout=10, data={"email": "someone@example.com"}
        )
    assert [r.status_code for r in to_victim] == [200, 200, 429]
    assert to_someone_else.status_code == 200


def test_logins_work_on_in_memory_limits_while_redis_is_unreachable(app, driver):
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with limited_server(app, REDIS_URL=closed) as server:
        login = requests.post(
            f"{server.url}/login", timeout=10, data={"email": driver.email, "password": PASSWORD}
        )
        token = requests.post(
            f"{server.url}/api/v1/auth/token",
            timeout=10,
            json={"email": driver.email, "password": PASSWORD},
        )
        guesses = [
            requests.post(
                f"{server.url}/api/v1/auth/token",
                timeout=10,
                json={"email": driver.email, "password": "wrong"},
            )
            for _ in range(2)
        ]
        ready = requests.get(f"{server.url}/readyz", timeout=10)
        log = server.log(40000)
    assert login.status_code == 200 and login.url.endswith("/"), login.text[:300]
    assert token.status_code == 200
    assert [g.status_code for g in guesses] == [401, 429]  # still limited, in memory
    assert ready.status_code == 503
    body = ready.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")
    assert body["rate_limits"] == "memory (redis unreachable)"
    assert log.count("falling back to in-memory storage") == 1


def test_readyz_says_where_rate_limits_are_counted(client, app):
    assert client.get("/readyz").get_json()["rate_limits"] == "off"  # the suite turns them off
    redis_url = app.config.get("REDIS_URL")
    with limited_server(app, REDIS_URL=redis_url or "") as server:
        ready = requests.get(f"{server.url}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["rate_limits"] == ("redis" if redis_url else "memory")

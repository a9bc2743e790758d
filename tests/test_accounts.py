"""Accounts: Flask-Security-Too's CLI, password reset by email, argon2 hashes."""

import re

from parkapp.extensions import db
from parkapp.models import User
from tests.conftest import PASSWORD


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


def test_login_and_token_attempts_are_rate_limited_with_retry_after(app, driver):
    import requests

    from tests.live_server import LiveServer

    env = {
        "RATELIMIT_ENABLED": "true",
        "AUTH_RATE_LIMIT": "3 per minute",
        "REDIS_URL": "",
    }  # one worker with in-memory counters
    with LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], workers=1, threads=2, env=env) as server:
        logins = [
            requests.post(
                f"{server.url}/login", timeout=10, data={"email": driver.email, "password": "wrong"}
            )
            for _ in range(4)
        ]
        assert [r.status_code for r in logins] == [200, 200, 200, 429]
        tokens = [
            requests.post(
                f"{server.url}/api/v1/auth/token",
                timeout=10,
                json={"email": driver.email, "password": "wrong"},
            )
            for _ in range(4)
        ]
    assert [t.status_code for t in tokens] == [401, 401, 401, 429]
    assert tokens[3].json()["code"] == "rate_limited"
    assert int(tokens[3].headers["Retry-After"]) > 0

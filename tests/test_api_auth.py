"""API accounts and tokens: register, token, refresh rotation, logout, deactivation."""

import pytest

from parkapp.extensions import db
from parkapp.models import User
from tests.conftest import PASSWORD

API = "/api/v1"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def register(client, **fields):
    body = {"email": "new@example.com", "password": PASSWORD, "full_name": "Nora New", **fields}
    return client.post(f"{API}/auth/register", json=body)


def test_register_creates_a_driver(client):
    response = register(client, email="  New@Example.com ")
    assert response.status_code == 201
    body = response.get_json()
    assert (body["email"], body["full_name"], body["roles"], body["active"]) == (
        "new@example.com",
        "Nora New",
        ["user"],
        True,
    )
    assert "password" not in body
    assert db.session.scalar(db.select(User).filter_by(email="new@example.com")) is not None


def test_register_refuses_a_taken_email_with_409(client, driver):
    response = register(client, email=driver.email.upper())
    assert response.status_code == 409
    assert response.get_json()["code"] == "email_taken"


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"password": "short"}, "password"),
        ({"password": 1234567890123}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"full_name": ""}, "full_name"),
        ({"email": None}, "email"),
    ],
)
def test_register_rejects_weak_passwords_and_bad_fields_with_422(client, fields, field):
    response = register(client, **fields)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_a_registered_driver_gets_tokens_and_sees_themselves(client):
    register(client)
    response = client.post(
        f"{API}/auth/token", json={"email": "new@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    pair = response.get_json()
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 15 * 60
    me = client.get(f"{API}/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.get_json()["email"] == "new@example.com"


@pytest.mark.parametrize(
    "email, password",
    [
        ("driver@example.com", "wrong-password-123"),
        ("nobody@example.com", PASSWORD),
    ],
)
def test_bad_credentials_are_401(client, driver, email, password):
    response = client.post(f"{API}/auth/token", json={"email": email, "password": password})
    assert response.status_code == 401
    assert response.get_json()["code"] == "bad_credentials"


def test_refresh_rotates_the_pair_and_the_old_refresh_token_stops_working(client, auth, driver):
    old = auth.tokens()
    response = client.post(f"{API}/auth/refresh", headers=bearer(old["refresh_token"]))
    assert response.status_code == 200
    new = response.get_json()
    assert new["refresh_token"] != old["refresh_token"]
    assert client.get(f"{API}/auth/me", headers=bearer(new["access_token"])).status_code == 200
    reused = client.post(f"{API}/auth/refresh", headers=bearer(old["refresh_token"]))
    assert reused.status_code == 401
    assert reused.get_json()["code"] == "token_revoked"
    # The reuse ended that login: the new pair is refused as well (see the family test).
    assert (
        client.post(f"{API}/auth/refresh", headers=bearer(new["refresh_token"])).status_code == 401
    )


def test_an_access_token_cannot_refresh(client, auth, driver):
    pair = auth.tokens()
    response = client.post(f"{API}/auth/refresh", headers=bearer(pair["access_token"]))
    assert response.status_code == 401
    assert client.get(f"{API}/auth/me", headers=bearer(pair["refresh_token"])).status_code == 401


def test_logout_revokes_the_access_and_the_refresh_token(client, auth, driver):
    pair = auth.tokens()
    assert (
        client.post(f"{API}/auth/logout", headers=bearer(pair["access_token"])).status_code == 204
    )
    for response in (
        client.get(f"{API}/auth/me", headers=bearer(pair["access_token"])),
        client.get(f"{API}/vehicles", headers=bearer(pair["access_token"])),
        client.post(f"{API}/auth/refresh", headers=bearer(pair["refresh_token"])),
    ):
        assert response.status_code == 401
        assert response.get_json()["code"] == "token_revoked"


def test_a_deactivated_users_tokens_stop_working(client, auth, driver):
    pair = auth.tokens()
    driver.active = False
    db.session.commit()
    response = client.get(f"{API}/vehicles", headers=bearer(pair["access_token"]))
    assert response.status_code == 401
    assert response.get_json()["code"] == "inactive_user"
    assert (
        client.post(f"{API}/auth/refresh", headers=bearer(pair["refresh_token"])).status_code == 401
    )
    denied = client.post(f"{API}/auth/token", json={"email": driver.email, "password": PASSWORD})
    assert denied.status_code == 401


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer junk"}, {"Authorization": "Basic abc"}]
)
def test_missing_or_invalid_tokens_are_401_with_the_error_body(client, headers):
    response = client.get(f"{API}/auth/me", headers=headers)
    assert response.status_code == 401
    assert set(response.get_json()) == {"message", "code", "errors"}


def test_a_token_signed_with_another_key_is_401(client, driver):
    import jwt as pyjwt

    forged = pyjwt.encode(
        {"sub": driver.fs_uniquifier, "type": "access", "jti": "x", "fresh": False},
        "not-the-secret-key-but-long-enough-32b",
        algorithm="HS256",
    )
    assert client.get(f"{API}/auth/me", headers=bearer(forged)).status_code == 401


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("driver", 403), ("admin", 422)],
    ids=["anonymous", "driver", "admin"],
)
def test_a_body_is_checked_only_after_the_token_and_the_role(
    client, auth, driver, admin, who, status
):
    headers = auth.headers({"driver": driver, "admin": admin}[who].email) if who else {}
    response = client.post(f"{API}/lots", json={"name": 5}, headers=headers)
    assert response.status_code == status, response.get_json()


def test_reusing_a_rotated_refresh_token_revokes_every_token_of_that_login(client, auth, driver):
    first = auth.tokens()
    other_login = auth.tokens()
    second = client.post(f"{API}/auth/refresh", headers=bearer(first["refresh_token"])).get_json()
    third = client.post(f"{API}/auth/refresh", headers=bearer(second["refresh_token"])).get_json()
    assert client.get(f"{API}/auth/me", headers=bearer(third["access_token"])).status_code == 200

    stolen = client.post(f"{API}/auth/refresh", headers=bearer(first["refresh_token"]))
    assert stolen.status_code == 401 and stolen.get_json()["code"] == "token_revoked"

    for response in (
        client.get(f"{API}/auth/me", headers=bearer(third["access_token"])),
        client.post(f"{API}/auth/refresh", headers=bearer(third["refresh_token"])),
        client.get(f"{API}/auth/me", headers=bearer(second["access_token"])),
    ):
        assert response.status_code == 401
        assert response.get_json()["code"] == "token_revoked"
    assert (
        client.get(f"{API}/auth/me", headers=bearer(other_login["access_token"])).status_code == 200
    )
    assert (
        client.post(f"{API}/auth/refresh", headers=bearer(other_login["refresh_token"])).status_code
        == 200
    )


def test_logout_also_revokes_access_tokens_from_earlier_rotations(client, auth, driver):
    first = auth.tokens()
    second = client.post(f"{API}/auth/refresh", headers=bearer(first["refresh_token"])).get_json()
    assert client.get(f"{API}/auth/me", headers=bearer(first["access_token"])).status_code == 200
    client.post(f"{API}/auth/logout", headers=bearer(second["access_token"]))
    assert client.get(f"{API}/auth/me", headers=bearer(first["access_token"])).status_code == 401

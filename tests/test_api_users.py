"""/users: admins search accounts, read one with vehicles and bookings, change roles and access."""

import pytest

from parkapp.accounts import users
from parkapp.core.exceptions import Conflict
from parkapp.extensions import db
from parkapp.models import User
from tests.conftest import api_book

API = "/api/v1"


def test_admins_find_accounts_by_email_name_or_plate(
    client, make_user, admin_headers, driver, driver_headers, lot
):
    make_user(email="zed@example.com", full_name="Zed Zebra")
    assert api_book(client, driver_headers, lot, vehicle_plate="QR55 XYZ").status_code == 201
    everyone = client.get(f"{API}/users", headers=admin_headers).get_json()
    assert everyone["total"] == 3 and {"items", "page", "per_page"} <= set(everyone)
    for q, email in (("ZED@", "zed@example.com"), ("dana", driver.email), ("qr55-x", driver.email)):
        found = client.get(f"{API}/users", query_string={"q": q}, headers=admin_headers).get_json()
        assert [u["email"] for u in found["items"]] == [email], q
    assert client.get(f"{API}/users?q=" + "x" * 101, headers=admin_headers).status_code == 422


def test_one_account_with_roles_vehicles_and_recent_bookings(
    client, admin_headers, driver, driver_headers, lot
):
    booked = api_book(client, driver_headers, lot).get_json()
    body = client.get(f"{API}/users/{driver.id}", headers=admin_headers).get_json()
    assert body["email"] == driver.email and body["roles"] == ["user"] and body["active"] is True
    assert [v["plate"] for v in body["vehicles"]] == ["AB12CDE"]
    assert [b["id"] for b in body["recent_bookings"]] == [booked["id"]]
    assert body["created_at"].endswith("+00:00")
    assert client.get(f"{API}/users/999999", headers=admin_headers).status_code == 404


def test_the_users_api_is_for_admins_only(
    client, driver, driver_headers, operator_headers, other_headers
):
    for headers in (driver_headers, operator_headers, other_headers):
        assert client.get(f"{API}/users", headers=headers).status_code == 403
        assert client.get(f"{API}/users/{driver.id}", headers=headers).status_code == 403
        answer = client.patch(f"{API}/users/{driver.id}", json={"active": False}, headers=headers)
        assert answer.status_code == 403 and answer.get_json()["code"] == "forbidden"
    assert client.get(f"{API}/users").status_code == 401


def test_admins_change_roles_and_access(client, auth, admin_headers, driver):
    changed = client.patch(
        f"{API}/users/{driver.id}",
        json={"roles": ["user", "operator"], "active": False},
        headers=admin_headers,
    )
    assert changed.status_code == 200
    assert changed.get_json()["roles"] == ["operator", "user"]
    assert changed.get_json()["active"] is False
    refused = client.post(
        f"{API}/auth/token", json={"email": driver.email, "password": "correct-horse-battery-42"}
    )
    assert refused.status_code in (401, 403)
    back = client.patch(f"{API}/users/{driver.id}", json={"active": True}, headers=admin_headers)
    assert back.get_json()["active"] is True
    for junk in ({"roles": ["wizard"]}, {}, {"active": "yes"}, {"email": "x@y.z"}):
        answer = client.patch(f"{API}/users/{driver.id}", json=junk, headers=admin_headers)
        assert answer.status_code in (400, 422), junk
        assert set(answer.get_json()) == {"message", "code", "errors"}


def test_an_admin_keeps_their_own_role_and_the_last_admin_stays(
    client, admin, admin_headers, make_user, auth
):
    me = f"{API}/users/{admin.id}"
    for change, code in (
        ({"roles": ["user"]}, "self_demotion"),
        ({"active": False}, "self_deactivation"),
        ({"roles": ["admin", "user"], "active": False}, "self_deactivation"),
    ):
        answer = client.patch(me, json=change, headers=admin_headers)
        assert answer.status_code == 409 and answer.get_json()["code"] == code, change
    db.session.expire_all()
    assert db.session.get(User, admin.id).role_names == ["admin"]
    assert db.session.get(User, admin.id).active

    second = make_user(email="second@example.com", roles=("admin",))
    second_headers = auth.headers(second.email)
    # the other admin may demote the first; then the second is the last admin
    demoted = client.patch(me, json={"roles": ["user"]}, headers=second_headers)
    assert demoted.status_code == 200
    db.session.expire_all()
    last = db.session.get(User, second.id)
    # the guard holds for any caller (e.g. a CLI acting as someone else): no active admin left
    with pytest.raises(Conflict) as refused:
        users.update_user(last, db.session.get(User, admin.id), roles=["user"])
    assert refused.value.code == "last_admin"
    with pytest.raises(Conflict):
        users.update_user(last, db.session.get(User, admin.id), active=False)
    db.session.expire_all()
    assert db.session.get(User, second.id).role_names == ["admin"]
    assert db.session.get(User, second.id).active

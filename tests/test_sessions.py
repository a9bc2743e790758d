"""Page sessions: logout, password change and deactivation end every session; no enumeration."""

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from parkapp.models import utcnow
from tests.conftest import PASSWORD

NEW_PASSWORD = "another-long-passphrase-7"


def log_in(client, email="driver@example.com", password=PASSWORD, remember=True):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.data[:300]
    return response


def cookie(client, name):
    found = client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return found.value


def opens_bookings(app, **cookies):
    """Whether a fresh browser holding only these cookies sees the bookings page."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other.get("/bookings").status_code == 200


@pytest.fixture
def signed_in(app, client, driver):
    """A driver logged in with "remember me": the cookies a thief could copy."""
    log_in(client)
    stolen = {
        "session": cookie(client, "session"),
        "remember_token": cookie(client, "remember_token"),
    }
    assert opens_bookings(app, session=stolen["session"])
    assert opens_bookings(app, remember_token=stolen["remember_token"])
    return stolen


def test_logout_ends_the_session_and_the_remember_token_everywhere(app, client, signed_in):
    assert client.post("/logout").status_code == 302
    assert not opens_bookings(app, session=signed_in["session"])
    assert not opens_bookings(app, remember_token=signed_in["remember_token"])


def test_logout_also_ends_the_users_api_tokens(app, client, auth, signed_in):
    pair = auth.tokens()
    client.post("/logout")
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 401


def test_a_password_change_ends_other_sessions(app, client, signed_in):
    response = client.post(
        "/change",
        data={
            "password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert not opens_bookings(app, session=signed_in["session"])
    assert not opens_bookings(app, remember_token=signed_in["remember_token"])
    assert client.get("/bookings").status_code == 200  # the browser that changed it stays in


def test_deactivation_ends_sessions_for_good_even_after_reactivation(app, signed_in, driver, admin):
    staff = app.test_client()
    log_in(staff, admin.email, remember=False)
    driver_id = driver.id
    assert staff.post(f"/admin/users/{driver_id}/deactivate").status_code == 302
    assert not opens_bookings(app, session=signed_in["session"])
    assert staff.post(f"/admin/users/{driver_id}/reactivate").status_code == 302
    assert not opens_bookings(app, session=signed_in["session"])
    assert not opens_bookings(app, remember_token=signed_in["remember_token"])


def test_remember_cookie_lasts_weeks_and_cookies_are_samesite_lax(app, client, driver):
    response = log_in(client)
    set_cookies = response.headers.getlist("Set-Cookie")
    [remember] = [c for c in set_cookies if c.startswith("remember_token=")]
    [session] = [c for c in set_cookies if c.startswith("session=")]
    assert "SameSite=Lax" in remember and "SameSite=Lax" in session
    assert "HttpOnly" in remember and "HttpOnly" in session
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", remember).group(1))
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)
    assert abs(expires - utcnow() - timedelta(days=14)) < timedelta(minutes=1)


def test_logout_requires_the_csrf_token(app, client, driver, monkeypatch):
    log_in(client, remember=False)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    forged = client.post("/logout")
    assert client.get("/bookings").status_code == 200, "a cross-site POST logged the user out"
    assert forged.status_code == 400
    page = client.get("/bookings").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/bookings").status_code == 302


def _message_area(html):
    """The page without its per-request tokens and the typed email."""
    html = re.sub(r'name="csrf_token"[^>]*>', "", html)
    return re.sub(r'value="[^"]*@example\.com"', "", html)


def test_login_says_the_same_for_an_unknown_email_and_a_wrong_password(client, driver):
    unknown = client.post("/login", data={"email": "nobody@example.com", "password": PASSWORD})
    wrong = client.post("/login", data={"email": driver.email, "password": "wrong-password-1"})
    assert unknown.status_code == wrong.status_code
    unknown_html, wrong_html = unknown.get_data(as_text=True), wrong.get_data(as_text=True)
    assert "does not exist" not in unknown_html and "Invalid password" not in wrong_html
    assert _message_area(unknown_html) == _message_area(wrong_html)


def test_reset_says_the_same_for_an_unknown_email(client, driver, mailbox):
    known = client.post("/reset", data={"email": driver.email}, follow_redirects=True)
    unknown = client.post("/reset", data={"email": "nobody@example.com"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert "does not exist" not in unknown.get_data(as_text=True)
    assert _message_area(known.get_data(as_text=True).replace(driver.email, "X")) == _message_area(
        unknown.get_data(as_text=True).replace("nobody@example.com", "X")
    )
    assert len(mailbox.to(driver.email)) == 1 and not mailbox.to("nobody@example.com")


def test_the_register_page_still_says_an_email_is_taken(client, driver):
    response = client.post(
        "/register",
        data={
            "email": driver.email,
            "full_name": "Someone Else",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "already associated" in response.get_data(as_text=True)


def test_login_page_cache_control_is_well_formed(client):
    header = client.get("/login").headers["Cache-Control"]
    assert {part.strip() for part in header.split(",")} == {"private", "no-store"}

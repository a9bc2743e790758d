"""Account pages: Flask-Security-Too's views with our templates, and the profile page."""

import re

from flask_security.recoverable import generate_reset_password_token
from sqlalchemy import select

from parkapp import create_app
from parkapp.extensions import db
from parkapp.models import User
from tests.conftest import PASSWORD
from tests.test_pages_user import field_errors, text

NEW_PASSWORD = "a-brand-new-passphrase-9"


def register(client, **fields):
    data = {
        "full_name": "Robin Newcomer",
        "email": "robin@example.com",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    data.update(fields)
    return client.post("/register", data=data)


def test_register_page_asks_for_name_email_and_password_in_our_layout(client):
    response = client.get("/register")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field_id in ("full_name", "email", "password", "password_confirm"):
        assert f'id="{field_id}"' in page
    assert "Find parking" in text(response)  # the site's navigation from base.html


def test_registration_creates_a_driver_with_their_name_and_logs_them_in(client):
    response = register(client)
    assert response.status_code == 302
    user = db.session.scalar(select(User).filter_by(email="robin@example.com"))
    assert user.full_name == "Robin Newcomer"
    assert user.role_names == ["user"]
    page = text(client.get("/account/"))
    assert "Robin Newcomer" in page and "robin@example.com" in page


def test_registration_without_a_name_shows_the_error_next_to_the_name(client):
    response = register(client, full_name="")
    assert field_errors(response, "full_name") == ["Give your name."]
    assert db.session.scalar(select(User).filter_by(email="robin@example.com")) is None


def test_registration_with_a_short_password_explains_the_rule(client):
    response = register(client, password="short", password_confirm="short")
    assert field_errors(response, "password") == ["Password must be at least 10 characters"]
    assert db.session.scalar(select(User).filter_by(email="robin@example.com")) is None


def test_login_and_logout_through_the_pages(client, auth, driver):
    assert client.get("/bookings").status_code == 302
    page = text(auth.login())
    assert "Dana Driver" in page and "Log out" in page
    assert client.get("/bookings").status_code == 200
    page = text(auth.logout())
    assert "Log in" in page and "Dana Driver" not in page
    assert client.get("/bookings").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, driver):
    response = client.post("/login", data={"email": driver.email, "password": "not-the-password"})
    assert response.status_code == 200
    assert field_errors(response, "password") == []  # no hint which of the two was wrong
    assert "Wrong email or password." in text(response)
    assert client.get("/bookings").status_code == 302


def test_login_page_keeps_where_the_driver_was_going(client, driver):
    response = client.get("/bookings")
    login_page = client.get(response.location).get_data(as_text=True)
    assert 'action="/login?next=/bookings"' in login_page
    response = client.post(response.location, data={"email": driver.email, "password": PASSWORD})
    assert response.location.endswith("/bookings")


def test_change_password_page_renders_and_changes_the_password(client, auth, driver):
    auth.login()
    response = client.get("/change")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert (
        'id="password"' in page
        and 'id="new_password"' in page
        and 'id="new_password_confirm"' in page
    )
    client.post(
        "/change",
        data={
            "password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert (
        client.post(
            "/api/v1/auth/token", json={"email": driver.email, "password": NEW_PASSWORD}
        ).status_code
        == 200
    )


def test_change_password_with_a_wrong_current_password_shows_the_error(client, auth, driver):
    auth.login()
    response = client.post(
        "/change",
        data={
            "password": "wrong-password-1",
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert field_errors(response, "password") == ["Invalid password"]
    assert (
        client.post(
            "/api/v1/auth/token", json={"email": driver.email, "password": PASSWORD}
        ).status_code
        == 200
    )


def test_forgot_and_reset_password_pages_render(client, driver):
    response = client.get("/reset")
    assert response.status_code == 200 and 'id="email"' in response.get_data(as_text=True)
    token = generate_reset_password_token(driver)
    response = client.get(f"/reset/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'action="/reset/{token}"' in page and 'id="password_confirm"' in page


def test_profile_page_shows_the_account_and_links(client, auth, driver):
    auth.login()
    page = client.get("/account/").get_data(as_text=True)
    assert "Dana Driver" in page and "driver@example.com" in page
    for path in ("/bookings", "/vehicles", "/change"):
        assert f'href="{path}"' in page


def test_account_forms_carry_a_csrf_token_and_refuse_posts_without_it(driver):
    strict = create_app("testing", {"WTF_CSRF_ENABLED": True}).test_client()
    page = strict.get("/login").get_data(as_text=True)
    token = re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page
    ).group(1)
    response = strict.post("/login", data={"email": driver.email, "password": PASSWORD})
    assert response.status_code != 302  # refused: no token
    assert strict.get("/bookings").status_code == 302
    response = strict.post(
        "/login", data={"email": driver.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert strict.get("/bookings").status_code == 200
    assert 'name="csrf_token"' in strict.get("/change").get_data(as_text=True)

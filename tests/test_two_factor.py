"""Two-factor authentication with an authenticator app: setup from the account page, the code
step at page login, staff required to use it (STAFF_REQUIRE_2FA), and the API token's code.

Codes are real TOTP codes computed from the stored secret with Flask-Security's TOTP helper.
"""

import pytest

from parkapp.extensions import db
from parkapp.models import User
from tests.conftest import PASSWORD


def totp():
    """Flask-Security's TOTP factory (passlib underneath)."""
    from flask import current_app

    return current_app.extensions["security"].totp_factory


def code_for(secret):
    return totp().generate_totp_password(secret)


def wrong_code(secret):
    """A well-formed code that is not the current one."""
    return f"{(int(code_for(secret)) + 1) % 1_000_000:06d}"


def fresh_user(email):
    db.session.commit()  # a new transaction: SQLite reads a snapshot
    return db.session.scalar(db.select(User).filter_by(email=email))


def turn_on(user):
    """Give an account two-factor directly, as a completed setup leaves it."""
    user.tf_totp_secret = totp().generate_totp_secret()
    user.tf_primary_method = "authenticator"
    db.session.commit()
    return user.tf_totp_secret


@pytest.fixture
def staff_must_use_2fa(app, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_REQUIRE_2FA", True)


def login(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def signed_in(client):
    """Whether the client's session is signed in (the account page answers 200)."""
    return client.get("/account/").status_code == 200


def setup_secret(client):
    """The not yet confirmed TOTP secret the setup step keeps in the session."""
    with client.session_transaction() as session:
        return session["tf_totp_secret"]


# -- setup from the account page ---------------------------------------------------------------


def test_a_driver_turns_on_two_factor_from_the_account_page(client, auth, driver):
    auth.login(driver.email)
    account = client.get("/account/").get_data(as_text=True)
    assert "Turn on two-factor" in account and 'id="two-factor">Off' in account

    page = client.post("/tf-setup", data={"setup": "authenticator"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="qrcode" src="data:image/' in html  # the QR code, drawn by qrcode
    assert 'id="tf-key"' in html
    secret = setup_secret(client)

    refused = client.post("/tf-validate", data={"code": wrong_code(secret)})
    assert refused.status_code == 200
    assert "field-error" in refused.get_data(as_text=True)
    assert not fresh_user(driver.email).has_two_factor

    confirmed = client.post("/tf-validate", data={"code": code_for(secret)})
    assert confirmed.status_code == 302 and confirmed.location.endswith("/account/")
    user = fresh_user(driver.email)
    assert user.tf_primary_method == "authenticator" and user.has_two_factor
    assert 'id="two-factor">On' in client.get("/account/").get_data(as_text=True)


def test_login_with_two_factor_asks_for_the_code_before_signing_in(client, driver):
    secret = turn_on(driver)
    first = login(client, driver.email)
    assert first.status_code == 302 and "/tf-validate" in first.location
    assert not signed_in(client)

    form = client.get("/tf-validate").get_data(as_text=True)
    assert 'name="code"' in form and 'autocomplete="one-time-code"' in form
    wrong = client.post("/tf-validate", data={"code": wrong_code(secret)})
    assert wrong.status_code == 200 and "field-error" in wrong.get_data(as_text=True)
    assert not signed_in(client)

    right = client.post("/tf-validate", data={"code": code_for(secret)})
    assert right.status_code == 302
    assert signed_in(client)


def test_a_driver_can_turn_two_factor_off_again(client, auth, driver):
    turn_on(driver)
    client.post("/login", data={"email": driver.email, "password": PASSWORD})
    client.post("/tf-validate", data={"code": code_for(driver.tf_totp_secret)})
    page = client.get("/tf-setup").get_data(as_text=True)
    assert 'value="disable"' in page
    client.post("/tf-setup", data={"setup": "disable"})
    assert not fresh_user(driver.email).has_two_factor


# -- staff required to use it -----------------------------------------------------------------


def test_staff_are_taken_through_setup_at_login_when_required(
    client, admin, driver, staff_must_use_2fa
):
    first = login(client, admin.email)
    assert first.status_code == 302 and "/tf-setup" in first.location
    assert not signed_in(client)
    setup = client.get(first.location).get_data(as_text=True)
    assert 'value="disable"' not in setup  # required: no way to skip it

    client.post("/tf-setup", data={"setup": "authenticator"})
    done = client.post("/tf-validate", data={"code": code_for(setup_secret(client))})
    assert done.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert fresh_user(admin.email).has_two_factor

    # the flag asks nothing more of drivers
    client.post("/logout")
    assert login(client, driver.email).status_code == 302
    assert signed_in(client)


def test_staff_with_two_factor_give_the_code_at_login(client, operator, staff_must_use_2fa):
    secret = turn_on(operator)
    assert "/tf-validate" in login(client, operator.email).location
    assert not signed_in(client)
    client.post("/tf-validate", data={"code": code_for(secret)})
    assert signed_in(client)
    assert client.get("/gate/dashboard").status_code == 200


def test_without_the_setting_staff_sign_in_with_the_password_alone(client, admin):
    assert login(client, admin.email).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_an_admin_resets_a_lost_device(client, auth, admin, driver):
    turn_on(driver)
    auth.login(admin.email)
    page = client.get(f"/admin/users/{driver.id}").get_data(as_text=True)
    assert "Reset two-factor" in page
    client.post(f"/admin/users/{driver.id}/two-factor/reset")
    assert not fresh_user(driver.email).has_two_factor


# -- API tokens --------------------------------------------------------------------------------


def token(client, email, **extra):
    return client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD, **extra})


def test_token_for_a_two_factor_account_needs_the_current_code(client, driver):
    secret = turn_on(driver)
    missing = token(client, driver.email)
    assert missing.status_code == 401
    assert missing.get_json()["code"] == "two_factor_required"
    assert set(missing.get_json()) == {"message", "code", "errors"}
    assert missing.get_json()["errors"]["code"]

    wrong = token(client, driver.email, code=wrong_code(secret))
    assert wrong.status_code == 401 and wrong.get_json()["code"] == "bad_code"
    assert token(client, driver.email, code="not a code").get_json()["code"] == "bad_code"

    right = token(client, driver.email, code=code_for(secret))
    assert right.status_code == 200, right.get_json()
    headers = {"Authorization": f"Bearer {right.get_json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).get_json()["email"] == driver.email


def test_wrong_password_is_still_bad_credentials_before_any_code(client, driver):
    turn_on(driver)
    response = client.post(
        "/api/v1/auth/token", json={"email": driver.email, "password": "nope-nope-nope"}
    )
    assert response.status_code == 401 and response.get_json()["code"] == "bad_credentials"


def test_accounts_without_two_factor_get_tokens_as_before(client, driver, admin):
    assert token(client, driver.email).status_code == 200
    assert token(client, admin.email).status_code == 200
    # a code sent by an account without two-factor is ignored
    assert token(client, driver.email, code="123456").status_code == 200


def test_required_staff_without_two_factor_get_no_token(
    client, admin, driver, operator, staff_must_use_2fa
):
    refused = token(client, admin.email)
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "two_factor_setup_required"
    assert token(client, operator.email).status_code == 403
    assert token(client, driver.email).status_code == 200
    secret = turn_on(admin)
    assert token(client, admin.email).get_json()["code"] == "two_factor_required"
    assert token(client, admin.email, code=code_for(secret)).status_code == 200

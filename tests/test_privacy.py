"""A driver's privacy rights: download everything held, erase the account, plate retention."""

import io
import json
import zipfile
from datetime import timedelta

from parkapp.accounts import privacy
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Payment, User, Vehicle, utcnow
from tests.conftest import PASSWORD, reservation
from tests.test_payments import post_payment

API = "/api/v1"


def paid_reservation(client, headers, lot, plate="PR1VACY"):
    booking = reservation(client, headers, lot, plate=plate)
    paid = post_payment(client, headers, booking, booking.quoted_cents, key=f"key-{plate}")
    assert paid.status_code == 201, paid.get_json()
    return booking


def finish(booking, days_ago=1):
    """Turn a reservation into a stay that ended `days_ago` days ago."""
    booking.starts_at = booking.checked_in_at = utcnow() - timedelta(days=days_ago, hours=2)
    booking.ends_at = booking.released_at = utcnow() - timedelta(days=days_ago)
    booking.status = BookingStatus.COMPLETED
    db.session.commit()


def test_the_api_export_holds_the_drivers_data_and_nobody_elses(
    client, driver, driver_headers, other_headers, lot
):
    client.post(
        f"{API}/vehicles", json={"plate": "pr1 vacy", "make": "Volvo"}, headers=driver_headers
    )
    mine = paid_reservation(client, driver_headers, lot)
    reservation(client, other_headers, lot, plate="OTHER1", start_h=40, end_h=42)

    response = client.get(f"{API}/auth/me/export", headers=driver_headers)

    assert response.status_code == 200
    data = response.get_json()
    assert data["account"]["email"] == driver.email
    assert [v["plate"] for v in data["vehicles"]] == ["PR1VACY"]
    assert [b["confirmation_code"] for b in data["bookings"]] == [mine.confirmation_code]
    assert [p["booking_id"] for p in data["payments"]] == [mine.id]
    assert "OTHER1" not in json.dumps(data)
    assert client.get(f"{API}/auth/me/export").status_code == 401


def test_the_account_page_downloads_a_zip_of_json_and_csv(
    client, auth, driver, driver_headers, lot
):
    booking = paid_reservation(client, driver_headers, lot)
    auth.login(driver.email)

    response = client.get("/account/export.zip")

    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert {"data.json", "bookings.csv", "payments.csv", "vehicles.csv"} <= set(archive.namelist())
    assert json.loads(archive.read("data.json"))["account"]["email"] == driver.email
    assert booking.confirmation_code in archive.read("bookings.csv").decode()


def test_erasing_pseudonymises_keeps_money_and_ends_every_session(
    client, auth, driver, driver_headers, lot
):
    booking = paid_reservation(client, driver_headers, lot)
    finish(booking)
    tokens = auth.tokens(driver.email)
    driver_id, email = driver.id, driver.email

    response = client.delete(f"{API}/auth/me", json={"password": PASSWORD}, headers=driver_headers)

    assert response.status_code == 204, response.get_json()
    db.session.expire_all()
    user = db.session.get(User, driver_id)
    assert user.email.endswith("@erased.invalid") and user.full_name.startswith("erased-")
    assert not user.active and user.password is None
    kept = db.session.get(Booking, booking.id)
    assert kept.plate != "PR1VACY" and kept.user_id == driver_id
    payment = db.session.query(Payment).filter_by(booking_id=booking.id).one()
    assert payment.amount_cents == booking.quoted_cents  # the money record stays
    refused = client.post(f"{API}/auth/token", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 401
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get(f"{API}/auth/me", headers=bearer).status_code == 401
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert client.post(f"{API}/auth/refresh", headers=refresh).status_code == 401


def test_a_wrong_password_or_an_open_booking_erases_nothing(client, driver, driver_headers, lot):
    reservation(client, driver_headers, lot, plate="OPEN1")

    wrong = client.delete(f"{API}/auth/me", json={"password": "not-it"}, headers=driver_headers)
    open_booking = client.delete(
        f"{API}/auth/me", json={"password": PASSWORD}, headers=driver_headers
    )

    assert wrong.status_code == 401 and wrong.get_json()["code"] == "bad_credentials"
    assert open_booking.status_code == 409 and open_booking.get_json()["code"] == "bookings_open"
    db.session.expire_all()
    assert db.session.get(User, driver.id).email == "driver@example.com"


def test_erasing_from_the_account_page_signs_out(client, auth, driver, driver_headers, lot):
    client.post(f"{API}/vehicles", json={"plate": "PAGE1"}, headers=driver_headers)
    auth.login(driver.email)

    wrong = client.post("/account/erase", data={"password": "nope"})
    assert wrong.status_code == 422 and b"Your password is not right." in wrong.data
    done = client.post("/account/erase", data={"password": PASSWORD})

    assert done.status_code == 302
    assert client.get("/bookings").status_code in (302, 401)
    db.session.expire_all()
    assert db.session.query(Vehicle).filter_by(user_id=driver.id).one().plate != "PAGE1"
    assert auth.login(driver.email).request.path == "/login"


def test_old_bookings_lose_their_plate_after_the_retention(client, app, driver_headers, lot):
    old = reservation(client, driver_headers, lot, plate="OLD1", start_h=30, end_h=32)
    recent = reservation(client, driver_headers, lot, plate="NEW1", start_h=40, end_h=42)
    upcoming = reservation(client, driver_headers, lot, plate="SOON1", start_h=50, end_h=52)
    retention = app.config["PLATE_RETENTION_DAYS"]
    finish(old, days_ago=retention + 1)
    finish(recent, days_ago=retention - 1)

    assert privacy.forget_old_plates() == 1

    db.session.expire_all()
    plates = [db.session.get(Booking, b.id).plate for b in (old, recent, upcoming)]
    assert plates == ["", "NEW1", "SOON1"]

"""Self-serve charging: a driver starts and stops their own stay; chargers report with a key."""

from sqlalchemy import select

from parkapp.extensions import db
from parkapp.models import ChargingSession, EvStation
from tests import test_api_ev
from tests.conftest import api_book
from tests.test_api_ev import ev_spots

# The EV fixtures of the API tests: a lot with two ev spots, a charger, a stay on its spot.
ev_lot, station_id, ev_booking = test_api_ev.ev_lot, test_api_ev.station_id, test_api_ev.ev_booking

API = "/api/v1"


def start(client, headers, booking_id, **fields):
    return client.post(
        f"{API}/ev-charging", json={"booking_id": booking_id, **fields}, headers=headers
    )


def key_for(client, admin_headers, station):
    response = client.post(f"{API}/ev-stations/{station}/api-key", headers=admin_headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["api_key"]


def reading(client, session_id, wh, token):
    return client.post(
        f"{API}/ev-charging/{session_id}/readings",
        json={"wh": wh},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_driver_starts_and_stops_charging_their_own_stay(
    client, driver_headers, admin_headers, ev_booking, station_id
):
    started = start(client, driver_headers, ev_booking)
    assert started.status_code == 201, started.get_json()
    charge = started.get_json()
    assert (charge["station_id"], charge["start_wh"], charge["status"]) == (
        station_id,
        0,
        "charging",
    )
    key = key_for(client, admin_headers, station_id)
    assert reading(client, charge["id"], 7_000, key).status_code == 200
    stopped = client.post(f"{API}/ev-charging/{charge['id']}/stop", json={}, headers=driver_headers)
    assert stopped.status_code == 200, stopped.get_json()
    assert (stopped.get_json()["stop_wh"], stopped.get_json()["energy_wh"]) == (7_000, 7_000)


def test_a_driver_gives_no_meter_values_and_touches_no_one_elses_stay(
    client, driver_headers, other_headers, operator_headers, ev_booking, station_id
):
    assert start(client, driver_headers, ev_booking, start_wh=5).status_code == 403
    assert start(client, other_headers, ev_booking).status_code == 404
    charge = start(client, operator_headers, ev_booking, start_wh=1_000).get_json()
    stop = f"{API}/ev-charging/{charge['id']}/stop"
    assert client.post(stop, json={}, headers=other_headers).status_code == 404
    assert client.post(stop, json={"stop_wh": 1}, headers=driver_headers).status_code == 403
    assert db.session.scalar(select(ChargingSession.status)).value == "charging"


def test_no_charger_on_the_stay_spot_is_409(client, driver_headers, ev_lot, station_id):
    standard = next(spot for spot in ev_lot.spots if spot.kind.value == "standard")
    booking = api_book(
        client, driver_headers, ev_lot, spot_id=standard.id, starts_at=None, ends_at=None
    ).get_json()
    refused = start(client, driver_headers, booking["id"])
    assert refused.status_code == 409 and refused.get_json()["code"] == "no_charger"


def test_a_charger_reports_readings_with_its_own_key_only(
    client, admin_headers, operator_headers, driver_headers, ev_lot, ev_booking, station_id
):
    charge = start(client, driver_headers, ev_booking).get_json()
    key = key_for(client, admin_headers, station_id)
    assert key.startswith("evk_")
    stored = db.session.get(EvStation, station_id).api_key_hash
    assert stored and key not in stored and len(stored) == 64
    assert reading(client, charge["id"], 1_500, key).status_code == 200
    assert reading(client, charge["id"], 1_000, key).status_code == 422  # backwards
    assert reading(client, charge["id"], 2_000, "evk_not-a-key").status_code == 401
    driver_token = driver_headers["Authorization"].split(" ", 1)[1]
    assert reading(client, charge["id"], 2_000, driver_token).status_code == 403
    other = client.post(
        f"{API}/ev-stations",
        json={
            "spot_id": ev_spots(ev_lot)[1].id,
            "charger_type": "level2",
            "power_w": 7_400,
            "connector": "type2",
            "price_per_kwh_cents": 30,
        },
        headers=admin_headers,
    ).get_json()["id"]
    assert (
        reading(client, charge["id"], 2_000, key_for(client, admin_headers, other)).status_code
        == 404
    )
    renewed = key_for(client, admin_headers, station_id)
    assert reading(client, charge["id"], 2_000, key).status_code == 401  # the old key is gone
    assert reading(client, charge["id"], 2_000, renewed).status_code == 200
    for headers in (operator_headers, driver_headers):
        refused = client.post(f"{API}/ev-stations/{station_id}/api-key", headers=headers)
        assert refused.status_code == 403


def test_the_booking_page_starts_and_stops_charging(
    client, auth, driver, ev_booking, station_id, mailbox
):
    auth.login()
    page = client.get(f"/bookings/{ev_booking}")
    assert page.status_code == 200 and b"Start charging" in page.data
    started = client.post(f"/bookings/{ev_booking}/charging/start", follow_redirects=True)
    assert b"Charging started." in started.data and b"Stop charging" in started.data
    stopped = client.post(f"/bookings/{ev_booking}/charging/stop", follow_redirects=True)
    assert b"Charging stopped at 0 kWh." in stopped.data
    assert db.session.scalar(select(ChargingSession.status)).value == "finished"


def test_an_admin_page_makes_a_charger_key_shown_once(client, auth, admin, ev_lot, station_id):
    auth.login(admin.email)
    page = client.post(f"/admin/ev-stations/{station_id}/api-key")
    assert page.status_code == 200
    key = page.data.decode().split('id="station-key"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    assert key.startswith("evk_")
    db.session.rollback()
    assert key not in (db.session.get(EvStation, station_id).api_key_hash or "")
    listing = client.get(f"/admin/lots/{ev_lot.id}/ev")
    assert b"New API key" in listing.data and key.encode() not in listing.data

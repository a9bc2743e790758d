"""/ev-stations and /ev-charging: who may do what, error bodies, and the bill through the API."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from parkapp.extensions import db
from parkapp.models import Booking, ChargingSession, EvStation, MeterReading
from tests.conftest import api_book, hours_from_now, iso

API = "/api/v1"


def ev_spots(lot):
    return [spot for spot in lot.spots if spot.kind.value == "ev"]


def station_body(spot, **fields):
    return {
        "spot_id": spot.id,
        "charger_type": "dc_fast",
        "power_w": 50_000,
        "connector": "ccs2",
        "price_per_kwh_cents": 45,
        "idle_fee_per_minute_cents": 20,
        "idle_grace_minutes": 10,
        **fields,
    }


@pytest.fixture
def ev_lot(make_lot):
    return make_lot(spots={"ev": 2, "standard": 1})


@pytest.fixture
def station_id(client, ev_lot, admin_headers):
    response = client.post(
        f"{API}/ev-stations", json=station_body(ev_spots(ev_lot)[0]), headers=admin_headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def ev_booking(client, ev_lot, driver_headers):
    """The driver's park-now stay on the lot's first ev spot."""
    response = api_book(
        client,
        driver_headers,
        ev_lot,
        spot_id=ev_spots(ev_lot)[0].id,
        starts_at=None,
        ends_at=None,
        vehicle_plate="EV12API",
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def start(client, headers, booking_id, station_id, start_wh=1000):
    return client.post(
        f"{API}/ev-charging",
        json={"booking_id": booking_id, "station_id": station_id, "start_wh": start_wh},
        headers=headers,
    )


def test_admins_manage_stations_and_anyone_lists_them(client, ev_lot, admin_headers, station_id):
    listed = client.get(f"{API}/ev-stations?lot_id={ev_lot.id}")
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["id"] == station_id and item["spot_label"] == ev_spots(ev_lot)[0].label
    assert item["description"] == "DC fast · 50 kW · CCS2"
    assert (item["price_per_kwh_cents"], item["idle_fee_per_minute_cents"]) == (45, 20)
    assert client.get(f"{API}/ev-stations?lot_id=999").get_json()["total"] == 0

    changed = client.patch(
        f"{API}/ev-stations/{station_id}",
        json={"status": "out_of_service", "price_per_kwh_cents": 50},
        headers=admin_headers,
    )
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["status"], changed.get_json()["price_per_kwh_cents"]) == (
        "out_of_service",
        50,
    )
    assert client.get(f"{API}/ev-stations/{station_id}").get_json()["price_per_kwh_cents"] == 50
    gone = client.delete(f"{API}/ev-stations/{station_id}", headers=admin_headers)
    assert gone.status_code == 204
    assert client.get(f"{API}/ev-stations/{station_id}").status_code == 404


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"charger_type": "level9"}, 422, "charger_type"),
        ({"power_w": 0}, 422, "power_w"),
        ({"price_per_kwh_cents": -1}, 422, "price_per_kwh_cents"),
        ({"connector": None}, 422, "connector"),
        ({"colour": "red"}, 422, None),
        ({"spot_id": 99999}, 422, "spot_id"),
    ],
)
def test_bad_station_fields_are_422(client, ev_lot, admin_headers, changes, status, field):
    body = station_body(ev_spots(ev_lot)[0], **changes)
    response = client.post(f"{API}/ev-stations", json=body, headers=admin_headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["code"] == "invalid"
    if field:
        assert field in response.get_json()["errors"]
    assert db.session.scalar(select(func.count(EvStation.id))) == 0


def test_a_station_on_a_standard_spot_is_422_and_a_second_on_a_spot_409(
    client, ev_lot, admin_headers, station_id
):
    standard = next(s for s in ev_lot.spots if s.kind.value == "standard")
    wrong = client.post(f"{API}/ev-stations", json=station_body(standard), headers=admin_headers)
    assert wrong.status_code == 422 and "spot_id" in wrong.get_json()["errors"]
    twice = client.post(
        f"{API}/ev-stations", json=station_body(ev_spots(ev_lot)[0]), headers=admin_headers
    )
    assert twice.status_code == 409 and twice.get_json()["code"] == "station_exists"


def test_station_writes_are_for_admins(
    client, ev_lot, driver_headers, operator_headers, station_id
):
    body = station_body(ev_spots(ev_lot)[1])
    assert client.post(f"{API}/ev-stations", json=body).status_code == 401
    for headers in (driver_headers, operator_headers):
        assert client.post(f"{API}/ev-stations", json=body, headers=headers).status_code == 403
        patch = client.patch(
            f"{API}/ev-stations/{station_id}", json={"power_w": 200}, headers=headers
        )
        assert patch.status_code == 403
        assert client.delete(f"{API}/ev-stations/{station_id}", headers=headers).status_code == 403


def test_a_charge_through_the_api_ends_on_the_bill(
    client, operator_headers, driver_headers, other_headers, ev_booking, station_id
):
    started = start(client, operator_headers, ev_booking, station_id, 1000)
    assert started.status_code == 201, started.get_json()
    charge = started.get_json()
    assert (charge["status"], charge["start_wh"], charge["energy_wh"]) == ("charging", 1000, 0)
    assert charge["price_per_kwh"] == {"amount_cents": 45, "currency": "GBP"}
    item = f"{API}/ev-charging/{charge['id']}"

    read = client.post(f"{item}/readings", json={"wh": 11_000}, headers=operator_headers)
    assert read.status_code == 200 and read.get_json()["energy_wh"] == 10_000
    back = client.post(f"{item}/readings", json={"wh": 10_999}, headers=operator_headers)
    assert back.status_code == 422
    assert back.get_json()["errors"] == {"wh": ["The reading goes backwards (last 11 000 Wh)."]}
    stopped = client.post(f"{item}/stop", json={"stop_wh": 21_000}, headers=operator_headers)
    assert stopped.status_code == 200, stopped.get_json()
    assert stopped.get_json()["energy"] == {"amount_cents": 900, "currency": "GBP"}
    twice = client.post(f"{item}/stop", json={"stop_wh": 22_000}, headers=operator_headers)
    assert twice.status_code == 409 and twice.get_json()["code"] == "already_stopped"
    rows = db.session.scalars(select(MeterReading.wh).order_by(MeterReading.id)).all()
    assert rows == [1000, 11_000, 21_000]

    # the driver sees the session and the charging line on the booking's bill
    mine = client.get(f"{API}/ev-charging", headers=driver_headers).get_json()
    assert [s["id"] for s in mine["items"]] == [charge["id"]]
    assert client.get(item, headers=driver_headers).get_json()["stop_wh"] == 21_000
    assert client.get(item, headers=other_headers).status_code == 404
    assert client.get(f"{API}/ev-charging", headers=other_headers).get_json()["total"] == 0
    booking = db.session.get(Booking, ev_booking)
    booking.starts_at -= timedelta(minutes=30)
    db.session.commit()
    released = client.post(f"{API}/bookings/{ev_booking}/release", headers=driver_headers)
    assert released.status_code == 200, released.get_json()
    labels = [line["label"] for line in released.get_json()["quote"]["lines"]]
    assert "Charging 20 kWh at 0.45 GBP/kWh" in labels
    assert released.get_json()["price"]["amount_cents"] == 200 + 900


def test_starting_needs_the_right_spot_a_free_charger_and_no_meter_value_from_a_driver(
    client, ev_lot, admin_headers, operator_headers, driver_headers, ev_booking, station_id
):
    assert start(client, driver_headers, ev_booking, station_id).status_code == 403
    spare = client.post(
        f"{API}/ev-stations", json=station_body(ev_spots(ev_lot)[1]), headers=admin_headers
    ).get_json()["id"]
    wrong = start(client, operator_headers, ev_booking, spare)
    assert wrong.status_code == 409 and wrong.get_json()["code"] == "wrong_spot"
    assert start(client, operator_headers, ev_booking, 99999).status_code == 404
    assert start(client, operator_headers, 99999, station_id).status_code == 404
    assert start(client, operator_headers, ev_booking, station_id, -5).status_code == 422
    assert start(client, operator_headers, ev_booking, station_id).status_code == 201
    again = start(client, operator_headers, ev_booking, station_id)
    assert again.status_code == 409 and again.get_json()["code"] == "already_charging"
    assert db.session.scalar(select(func.count(ChargingSession.id))) == 1


def test_a_reservation_not_checked_in_cannot_charge(
    client, ev_lot, driver_headers, operator_headers, station_id
):
    reserved = api_book(
        client,
        driver_headers,
        ev_lot,
        spot_id=ev_spots(ev_lot)[0].id,
        starts_at=iso(hours_from_now(2)),
        ends_at=iso(hours_from_now(4)),
    ).get_json()
    refused = start(client, operator_headers, reserved["id"], station_id)
    assert refused.status_code == 409 and refused.get_json()["code"] == "booking_not_active"


def test_meter_reports_are_for_staff(
    client, operator_headers, driver_headers, ev_booking, station_id
):
    charge = start(client, operator_headers, ev_booking, station_id).get_json()
    item = f"{API}/ev-charging/{charge['id']}"
    assert (
        client.post(f"{item}/readings", json={"wh": 2000}, headers=driver_headers).status_code
        == 403
    )
    assert (
        client.post(f"{item}/stop", json={"stop_wh": 2000}, headers=driver_headers).status_code
        == 403
    )
    assert client.post(f"{item}/readings", json={"wh": 2000}).status_code == 401
    for body in ({}, {"wh": "2000"}, {"wh": 1.5}, {"wh": 2000, "at": "now"}):
        bad = client.post(f"{item}/readings", json=body, headers=operator_headers)
        assert bad.status_code == 422, body
    assert (
        client.post(
            f"{API}/ev-charging/99999/stop", json={"stop_wh": 1}, headers=operator_headers
        ).status_code
        == 404
    )

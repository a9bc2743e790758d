"""API: drivers keep their own vehicles; other people's are invisible (404)."""

import pytest

from parkapp.extensions import db
from parkapp.models import Vehicle

API = "/api/v1"
HUGE_ID = 99999999999999999999


def add(client, headers, **fields):
    return client.post(f"{API}/vehicles", json={"plate": "ab-12 cde", **fields}, headers=headers)


def test_adding_a_vehicle_normalises_the_plate(client, driver_headers):
    response = add(
        client, driver_headers, vehicle_type="van", make="Ford", colour="white", is_ev=True
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["plate"] == "AB12CDE"
    assert (body["vehicle_type"], body["make"], body["colour"], body["is_ev"]) == (
        "van",
        "Ford",
        "white",
        True,
    )
    assert body["created_at"].endswith("+00:00")


def test_vehicle_list_shows_only_your_own_by_plate(client, driver_headers, other_headers):
    add(client, driver_headers, plate="ZZ99ZZZ")
    add(client, driver_headers, plate="AA11AAA")
    add(client, other_headers, plate="OT12HER")
    response = client.get(f"{API}/vehicles", headers=driver_headers)
    assert response.status_code == 200
    body = response.get_json()
    assert [v["plate"] for v in body["items"]] == ["AA11AAA", "ZZ99ZZZ"]
    assert (body["page"], body["total"]) == (1, 2)


def test_the_same_plate_twice_is_409(client, driver_headers, other_headers):
    add(client, driver_headers)
    response = add(client, driver_headers, plate="AB12 CDE")
    assert response.status_code == 409
    assert response.get_json()["errors"] == {"plate": ["Already on your account."]}
    assert add(client, other_headers).status_code == 201  # another driver may share a plate


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"plate": "A"}, "plate"),
        ({"plate": "TOO-LONG-PLATE-123"}, "plate"),
        ({"plate": "AB!12"}, "plate"),
        ({"plate": 1234}, "plate"),
        ({"vehicle_type": "spaceship"}, "vehicle_type"),
        ({"make": "x" * 61}, "make"),
        ({"is_ev": "yes"}, "is_ev"),
        ({"owner_id": 3}, ""),
    ],
)
def test_invalid_vehicle_fields_are_422(client, driver_headers, fields, field):
    response = add(client, driver_headers, **fields)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_a_missing_plate_is_422_and_malformed_json_400(client, driver_headers):
    response = client.post(f"{API}/vehicles", json={"make": "Ford"}, headers=driver_headers)
    assert response.status_code == 422 and "plate" in response.get_json()["errors"]
    response = client.post(
        f"{API}/vehicles", data="{plate", content_type="application/json", headers=driver_headers
    )
    assert response.status_code == 400


def test_vehicles_need_a_token(client):
    assert client.get(f"{API}/vehicles").status_code == 401
    assert client.post(f"{API}/vehicles", json={"plate": "AB12CDE"}).status_code == 401
    assert client.get(f"{API}/vehicles/1").status_code == 401


def test_a_vehicle_is_read_changed_and_deleted_by_its_owner(client, driver_headers):
    vehicle_id = add(client, driver_headers).get_json()["id"]
    assert (
        client.get(f"{API}/vehicles/{vehicle_id}", headers=driver_headers).get_json()["plate"]
        == "AB12CDE"
    )
    response = client.patch(
        f"{API}/vehicles/{vehicle_id}",
        json={"model": "Focus", "vehicle_type": "car"},
        headers=driver_headers,
    )
    assert response.status_code == 200
    assert (response.get_json()["model"], response.get_json()["vehicle_type"]) == ("Focus", "car")
    assert client.delete(f"{API}/vehicles/{vehicle_id}", headers=driver_headers).status_code == 204
    assert db.session.get(Vehicle, vehicle_id) is None
    assert client.get(f"{API}/vehicles/{vehicle_id}", headers=driver_headers).status_code == 404


def test_the_plate_cannot_be_changed(client, driver_headers):
    vehicle_id = add(client, driver_headers).get_json()["id"]
    response = client.patch(
        f"{API}/vehicles/{vehicle_id}", json={"plate": "NEW1"}, headers=driver_headers
    )
    assert response.status_code == 422
    assert (
        client.get(f"{API}/vehicles/{vehicle_id}", headers=driver_headers).get_json()["plate"]
        == "AB12CDE"
    )


def test_another_users_vehicle_is_404_for_every_method(client, driver_headers, other_headers):
    vehicle_id = add(client, other_headers).get_json()["id"]
    url = f"{API}/vehicles/{vehicle_id}"
    assert client.get(url, headers=driver_headers).status_code == 404
    assert client.patch(url, json={"make": "Mine"}, headers=driver_headers).status_code == 404
    assert client.delete(url, headers=driver_headers).status_code == 404
    assert db.session.get(Vehicle, vehicle_id).make == ""


@pytest.mark.parametrize("vehicle_id", [424242, HUGE_ID])
def test_unknown_vehicle_is_404(client, driver_headers, vehicle_id):
    response = client.get(f"{API}/vehicles/{vehicle_id}", headers=driver_headers)
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_booking_with_a_new_plate_adds_the_vehicle(client, driver_headers, lot):
    response = client.post(
        f"{API}/bookings",
        json={"lot_id": lot.id, "vehicle_plate": "nw 12 plt"},
        headers=driver_headers,
    )
    assert response.status_code == 201
    plates = [
        v["plate"]
        for v in client.get(f"{API}/vehicles", headers=driver_headers).get_json()["items"]
    ]
    assert plates == ["NW12PLT"]

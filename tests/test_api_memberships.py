"""The membership API: admins manage plans; drivers subscribe, attach vehicles, see usage,
cancel and renew; the next quote and booking carry the membership's lines."""

import itertools

import pytest
from sqlalchemy import func, select

from parkapp.extensions import db
from parkapp.models import Membership, MembershipVehicle
from tests.conftest import api_book, hours_from_now, iso

API = "/api/v1"
PLAN = {
    "name": "Commuter",
    "price_cents": 4900,
    "currency": "gbp",
    "duration_months": 1,
    "vehicle_limit": 3,
    "included_hours": 2,
    "discount_percent": 20,
}


@pytest.fixture
def plan(client, admin_headers):
    response = client.post(f"{API}/membership-plans", json=PLAN, headers=admin_headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add_vehicles(client, headers, *plates):
    ids = []
    for plate in plates:
        response = client.post(
            f"{API}/vehicles", json={"plate": plate, "vehicle_type": "car"}, headers=headers
        )
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    return ids


PLATES = itertools.count()


def subscribe(client, headers, plan_id, vehicle_ids=None, **fields):
    """POST /memberships; without `vehicle_ids`, for a vehicle of the driver's added now."""
    if vehicle_ids is None:
        vehicle_ids = add_vehicles(client, headers, f"SUB{next(PLATES)}")
    return client.post(
        f"{API}/memberships",
        json={"plan_id": plan_id, "vehicle_ids": vehicle_ids, **fields},
        headers=headers,
    )


def test_driver_subscribes_and_sees_the_discount_on_the_next_quote(
    client, driver_headers, lot, plan
):
    [car] = add_vehicles(client, driver_headers, "AB12 CDE")
    stay = {
        "lot_id": lot.id,
        "starts_at": iso(hours_from_now(2)),
        "ends_at": iso(hours_from_now(7)),
    }
    before = client.post(f"{API}/quotes", json={**stay, "vehicle_plate": "AB12CDE"}).get_json()
    assert before["total_cents"] == 1000
    created = subscribe(client, driver_headers, plan["id"], [car])
    assert created.status_code == 201, created.get_json()
    membership = created.get_json()
    assert membership["price"] == {"amount_cents": 4900, "currency": "GBP"}
    assert membership["vehicles"] == [{"id": car, "plate": "AB12CDE"}]
    quote = client.post(
        f"{API}/quotes", json={**stay, "vehicle_plate": "ab12-cde"}, headers=driver_headers
    ).get_json()
    assert [(ln["label"], ln["amount_cents"]) for ln in quote["lines"]] == [
        ("5 h at 2.00 GBP/h", 1000),
        ("Membership Commuter: 2 h included", -400),
        ("Membership Commuter: 20% off", -120),
    ]
    assert quote["total_cents"] == 480
    anonymous = client.post(f"{API}/quotes", json={**stay, "vehicle_plate": "AB12CDE"})
    assert anonymous.get_json()["total_cents"] == 1000  # the membership is the driver's

    booked = api_book(
        client, driver_headers, lot, starts_at=stay["starts_at"], ends_at=stay["ends_at"]
    )
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["quote"]["total_cents"] == 480
    usage = client.get(f"{API}/memberships/{membership['id']}", headers=driver_headers).get_json()[
        "usage"
    ]
    assert usage["hours_used"] == 2 and usage["hours_left"] == 0 and usage["stays"] == 1
    assert usage["saved"] == {"amount_cents": 520, "currency": "GBP"}
    assert usage["days_remaining"] >= 28


def test_a_fourth_vehicle_gets_a_clear_409_and_nothing_changes(client, driver_headers, plan):
    cars = add_vehicles(client, driver_headers, "CAR1", "CAR2", "CAR3", "CAR4")
    refused = subscribe(client, driver_headers, plan["id"], cars)
    assert refused.status_code == 409
    assert refused.get_json()["message"] == "This plan covers at most 3 vehicles."
    assert db.session.scalar(select(func.count(Membership.id))) == 0
    membership = subscribe(client, driver_headers, plan["id"], cars[:3]).get_json()
    fourth = client.post(
        f"{API}/memberships/{membership['id']}/vehicles",
        json={"vehicle_id": cars[3]},
        headers=driver_headers,
    )
    assert fourth.status_code == 409 and fourth.get_json()["code"] == "vehicle_limit"
    assert db.session.scalar(select(func.count(MembershipVehicle.id))) == 3
    detached = client.delete(
        f"{API}/memberships/{membership['id']}/vehicles/{cars[0]}", headers=driver_headers
    )
    assert detached.status_code == 204
    attached = client.post(
        f"{API}/memberships/{membership['id']}/vehicles",
        json={"vehicle_id": cars[3]},
        headers=driver_headers,
    )
    assert attached.status_code == 200
    assert sorted(v["id"] for v in attached.get_json()["vehicles"]) == sorted(cars[1:])


def test_cancel_then_renew(client, driver_headers, plan):
    membership = subscribe(client, driver_headers, plan["id"]).get_json()
    url = f"{API}/memberships/{membership['id']}"
    cancelled = client.post(f"{url}/cancel", headers=driver_headers).get_json()
    assert cancelled["status"] == "cancelled" and cancelled["auto_renew"] is False
    again = client.post(f"{url}/cancel", headers=driver_headers)
    assert again.status_code == 409
    renewed = client.post(f"{url}/renew", headers=driver_headers).get_json()
    assert renewed["status"] == "active" and renewed["auto_renew"] is True
    assert renewed["total_paid"]["amount_cents"] == 9800
    assert renewed["ends_at"] > membership["ends_at"]


def test_another_drivers_membership_is_not_found(client, driver_headers, other_headers, plan):
    [car] = add_vehicles(client, other_headers, "OTHER1")
    membership = subscribe(client, driver_headers, plan["id"]).get_json()
    url = f"{API}/memberships/{membership['id']}"
    assert client.get(url, headers=other_headers).status_code == 404
    assert client.post(f"{url}/cancel", headers=other_headers).status_code == 404
    assert client.post(f"{url}/renew", headers=other_headers).status_code == 404
    stolen = client.post(f"{url}/vehicles", json={"vehicle_id": car}, headers=driver_headers)
    assert stolen.status_code == 422  # not the driver's vehicle
    assert client.get(f"{API}/memberships", headers=other_headers).get_json()["total"] == 0
    assert client.get(f"{API}/memberships", headers=driver_headers).get_json()["total"] == 1


def test_subscribing_twice_to_a_plan_is_a_conflict(client, driver_headers, plan):
    assert subscribe(client, driver_headers, plan["id"]).status_code == 201
    twice = subscribe(client, driver_headers, plan["id"])
    assert twice.status_code == 409 and twice.get_json()["code"] == "already_member"


def test_plans_are_managed_by_admins_and_read_by_anyone(
    client, admin_headers, driver_headers, plan, lot
):
    assert (
        client.post(f"{API}/membership-plans", json=PLAN, headers=driver_headers).status_code == 403
    )
    assert client.post(f"{API}/membership-plans", json=PLAN).status_code == 401
    taken = client.post(f"{API}/membership-plans", json=PLAN, headers=admin_headers)
    assert taken.status_code == 409
    listed = client.get(f"{API}/membership-plans").get_json()
    assert [p["name"] for p in listed["items"]] == ["Commuter"]
    assert listed["items"][0]["summary"] == "2 h a month included, then 20% off"
    url = f"{API}/membership-plans/{plan['id']}"
    changed = client.patch(
        url, json={"lot_ids": [lot.id], "discount_percent": 30}, headers=admin_headers
    )
    assert changed.status_code == 200, changed.get_json()
    assert (
        changed.get_json()["lot_ids"] == [lot.id] and changed.get_json()["discount_percent"] == 30
    )
    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(f"{API}/membership-plans").get_json()["total"] == 0
    gone = subscribe(client, driver_headers, plan["id"])
    assert gone.status_code == 404


@pytest.mark.parametrize(
    "changes",
    [
        {"vehicle_limit": 0},
        {"duration_months": 25},
        {"discount_percent": 101},
        {"included_hours": -1},
        {"currency": "EURO"},
        {"lot_ids": [999999]},
        {"price_cents": "ten"},
        {"surprise": 1},
    ],
)
def test_bad_plan_fields_are_422(client, admin_headers, changes):
    response = client.post(
        f"{API}/membership-plans", json={**PLAN, **changes}, headers=admin_headers
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"]


@pytest.mark.parametrize(
    "body", [{}, {"plan_id": "x"}, {"plan_id": 1, "vehicle_ids": "all"}, {"plan_id": 0}]
)
def test_bad_subscriptions_are_422(client, driver_headers, body):
    response = client.post(f"{API}/memberships", json=body, headers=driver_headers)
    assert response.status_code == 422

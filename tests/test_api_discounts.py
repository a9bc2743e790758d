"""The promo code API: admins manage codes; anyone checks one against a stay or a booking."""

import pytest

from parkapp.billing import discounts
from tests.conftest import api_book, hours_from_now, iso
from tests.test_discounts import API, discount_factory, fresh, quote, reserve, stay


@pytest.fixture(name="make_discount")
def _make_discount():
    return discount_factory()


# --- POST /discounts/validate ---------------------------------------------------------------


def test_validate_a_code_against_a_stay(client, lot, make_discount):
    made = make_discount(code="TENOFF", name="Ten off", kind="fixed", value=1000, max_uses=9)
    body = client.post(
        f"{API}/discounts/validate", json={"code": "tenoff", **stay(lot, 2, spot_kind="standard")}
    ).get_json()
    assert body["valid"] is True
    assert body["discount"]["code"] == "TENOFF" and body["discount"]["description"] == "10.00 off"
    assert "uses_count" not in body["discount"]  # admins only
    plain = quote(client, stay(lot, 2))["total_cents"]
    assert body["quote"]["total_cents"] == max(0, plain - 1000)
    assert body["quote"]["lines"][-1]["label"] == "Code TENOFF: 10.00 off"
    first_hour = client.post(
        f"{API}/discounts/validate", json={"code": "TENOFF", "lot_id": lot.id}
    ).get_json()
    assert first_hour["quote"]["open_ended"] is True
    assert fresh(made)[0].uses_count == 0  # nothing used up


def test_validate_a_code_against_a_booking(
    client, auth, driver, driver_headers, other_headers, lot, make_discount
):
    make_discount(code="FORYOU", kind="free_hours", value=1)
    booking = reserve(driver, lot)
    body = {"code": "FORYOU", "booking_id": booking.id}
    response = client.post(f"{API}/discounts/validate", json=body, headers=driver_headers)
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["quote"]["total_cents"] < booking.quoted_cents
    assert client.post(f"{API}/discounts/validate", json=body).status_code == 401
    stranger = client.post(f"{API}/discounts/validate", json=body, headers=other_headers)
    assert stranger.status_code == 404
    discounts.apply_to_booking(booking, "FORYOU", driver)
    again = client.post(f"{API}/discounts/validate", json=body, headers=driver_headers)
    assert again.status_code == 409 and again.get_json()["code"] == "discount_already_applied"


@pytest.mark.parametrize(
    "body",
    [{"code": "X1X"}, {"code": "X1X", "lot_id": 1, "booking_id": 1}, {"lot_id": 1}, {"code": 5}],
)
def test_validate_needs_a_code_and_one_target(client, lot, body):
    response = client.post(f"{API}/discounts/validate", json=body)
    assert response.status_code == 422 and response.get_json()["errors"]


def test_quotes_check_the_per_user_limit_for_a_signed_in_driver(
    client, driver, driver_headers, lot, make_discount
):
    make_discount(code="ONCEONLY", max_uses_per_user=1)
    reserve(driver, lot, "ONCEONLY")
    assert quote(client, stay(lot, discount_code="ONCEONLY"))["lines"][-1]["amount_cents"] < 0
    mine = client.post(
        f"{API}/quotes", json=stay(lot, discount_code="ONCEONLY"), headers=driver_headers
    )
    assert mine.status_code == 422 and mine.get_json()["code"] == "used_up"


# --- the admin API --------------------------------------------------------------------------


def test_admins_manage_codes_through_the_api(client, admin_headers, driver_headers, lot, driver):
    body = {
        "code": "spring-25",
        "name": "Spring",
        "kind": "percent",
        "value": 25,
        "lot_id": lot.id,
        "valid_until": iso(hours_from_now(24 * 30)),
        "max_uses": 100,
        "max_uses_per_user": 2,
    }
    assert client.post(f"{API}/discounts", json=body).status_code == 401
    assert client.post(f"{API}/discounts", json=body, headers=driver_headers).status_code == 403
    created = client.post(f"{API}/discounts", json=body, headers=admin_headers)
    assert created.status_code == 201, created.get_json()
    made = created.get_json()
    assert (made["code"], made["uses_count"], made["is_active"]) == ("SPRING-25", 0, True)
    taken = client.post(f"{API}/discounts", json=body, headers=admin_headers)
    assert taken.status_code == 409 and taken.get_json()["code"] == "code_taken"
    bad = client.post(
        f"{API}/discounts", json={**body, "code": "XX2", "value": 101}, headers=admin_headers
    )
    assert bad.status_code == 422 and "value" in bad.get_json()["errors"]
    naive = client.post(
        f"{API}/discounts",
        json={**body, "code": "NAIVE", "valid_until": "2030-01-01T10:00:00"},
        headers=admin_headers,
    )
    assert naive.status_code == 422 and "valid_until" in naive.get_json()["errors"]

    url = f"{API}/discounts/{made['id']}"
    reserve(driver, lot, "SPRING-25")
    listed = client.get(f"{API}/discounts?q=spring", headers=admin_headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["uses_count"] == 1
    assert client.get(f"{API}/discounts", headers=driver_headers).status_code == 403
    assert client.get(url, headers=admin_headers).get_json()["max_uses"] == 100

    frozen = client.patch(url, json={"value": 50}, headers=admin_headers)
    assert frozen.status_code == 409 and frozen.get_json()["code"] == "discount_in_use"
    too_few = client.patch(url, json={"max_uses": 0}, headers=admin_headers)
    assert too_few.status_code == 422
    changed = client.patch(url, json={"max_uses": 1, "name": "Spring!"}, headers=admin_headers)
    assert changed.status_code == 200 and changed.get_json()["max_uses"] == 1
    exhausted = api_book(
        client, driver_headers, lot, vehicle_plate="NEXT1", discount_code="SPRING-25"
    )
    assert exhausted.get_json()["code"] == "exhausted"

    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(f"{API}/discounts?active=false", headers=admin_headers).get_json()["total"]
    inactive = client.post(
        f"{API}/discounts/validate", json={"code": "SPRING-25", "lot_id": lot.id}
    )
    assert inactive.get_json()["code"] == "inactive"
    reactivated = client.patch(url, json={"is_active": True}, headers=admin_headers)
    assert reactivated.get_json()["is_active"] is True
    assert client.get(f"{API}/discounts/424242", headers=admin_headers).status_code == 404

"""API: finding lots and their availability; admins managing lots and spots."""

from datetime import timedelta

import pytest

from parkapp.extensions import db
from parkapp.models import Spot, SpotStatus
from tests.conftest import api_book as book
from tests.conftest import hours_from_now, iso

API = "/api/v1"
HUGE_ID = 99999999999999999999


def new_lot_body(**fields):
    return {
        "name": "Harbour Car Park",
        "address": "1 Quay St",
        "city": "Portsmouth",
        "latitude": 50.8,
        "longitude": -1.1,
        "timezone": "Europe/London",
        "currency": "GBP",
        "hourly_rate_cents": 300,
        "daily_max_cents": 2000,
        "grace_minutes": 15,
        "opens_at": "07:00",
        "closes_at": "22:30",
        **fields,
    }


# -- GET /lots --------------------------------------------------------------------------------


def test_lot_list_is_public_paginated_and_shows_rates_hours_and_spots_free_now(client, make_lot):
    make_lot(name="Alpha", spots={"standard": 3, "ev": 1})
    make_lot(name="Bravo")
    make_lot(name="Charlie")
    response = client.get(f"{API}/lots?per_page=2")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 2, 3)
    alpha = body["items"][0]
    assert alpha["name"] == "Alpha"
    assert alpha["total_spots"] == 4 and alpha["available_now"] == 4
    assert alpha["hourly_rate_cents"] == 200 and alpha["daily_max_cents"] == 1500
    assert alpha["currency"] == "GBP" and alpha["timezone"] == "Europe/London"
    assert alpha["grace_minutes"] == 10 and alpha["open_all_day"] is True
    assert "distance_km" not in alpha and "available" not in alpha
    second_page = client.get(f"{API}/lots?per_page=2&page=2").get_json()
    assert [item["name"] for item in second_page["items"]] == ["Charlie"]


def test_available_now_drops_when_someone_parks(client, lot, driver_headers):
    assert book(client, driver_headers, lot, starts_at=None, ends_at=None).status_code == 201
    [item] = client.get(f"{API}/lots").get_json()["items"]
    assert (item["total_spots"], item["available_now"]) == (2, 1)


def test_lot_list_searches_name_city_and_address(client, make_lot):
    make_lot(name="Riverside", city="Bath")
    make_lot(name="Hilltop", city="Bristol")
    names = [item["name"] for item in client.get(f"{API}/lots?q=bris").get_json()["items"]]
    assert names == ["Hilltop"]


def test_lot_list_by_position_is_sorted_by_distance_within_the_radius(client, make_lot):
    make_lot(name="Far", latitude=51.60, longitude=-0.12)
    make_lot(name="Near", latitude=51.501, longitude=-0.12)
    make_lot(name="Very far", latitude=55.0, longitude=-3.0)
    response = client.get(f"{API}/lots?lat=51.5&lon=-0.12&radius_km=50")
    items = response.get_json()["items"]
    assert [item["name"] for item in items] == ["Near", "Far"]
    assert items[0]["distance_km"] < 1 < items[1]["distance_km"] < 20


@pytest.mark.parametrize(
    "query, field",
    [
        ("lat=51.5", "lon"),
        ("lon=-0.1", "lat"),
        ("radius_km=5", "radius_km"),
        ("lat=95&lon=0", "lat"),
        ("lat=north&lon=0", "lat"),
        ("spot_kind=hovercraft", "spot_kind"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
    ],
)
def test_lot_list_rejects_bad_filters_with_422(client, query, field):
    response = client.get(f"{API}/lots?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_lot_list_counts_free_spots_for_an_interval(client, make_lot, driver_headers):
    lot = make_lot(spots={"standard": 2})
    start, end = hours_from_now(2), hours_from_now(4)
    assert (
        book(client, driver_headers, lot, starts_at=iso(start), ends_at=iso(end)).status_code == 201
    )
    during = client.get(
        f"{API}/lots",
        query_string={
            "starts_at": iso(start + timedelta(hours=1)),
            "ends_at": iso(end + timedelta(hours=1)),
        },
    )
    [item] = during.get_json()["items"]
    assert item["available"] == 1 and "available_now" not in item
    after = client.get(
        f"{API}/lots",
        query_string={"starts_at": iso(end), "ends_at": iso(end + timedelta(hours=1))},
    )
    assert after.get_json()["items"][0]["available"] == 2


@pytest.mark.parametrize(
    "starts, ends, field",
    [
        ("2030-01-01T10:00:00", "2030-01-01T12:00:00+00:00", "starts_at"),
        ("2030-01-01T10:00:00Z", "2030-01-01T09:00:00Z", "ends_at"),
        (None, "2030-01-01T09:00:00Z", "starts_at"),
        ("yesterday", None, "starts_at"),
        ("9999-12-31T23:00:00-05:00", None, "starts_at"),
    ],
)
def test_lot_list_rejects_a_bad_interval_with_422(client, starts, ends, field):
    query = {k: v for k, v in {"starts_at": starts, "ends_at": ends}.items() if v}
    response = client.get(f"{API}/lots", query_string=query)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_lot_list_counts_only_the_asked_spot_kind(client, make_lot):
    make_lot(spots={"standard": 3, "ev": 2})
    [item] = client.get(f"{API}/lots?spot_kind=ev").get_json()["items"]
    assert (item["total_spots"], item["available_now"]) == (2, 2)


def test_deactivated_lots_are_listed_only_for_admins_who_ask(
    client, make_lot, admin_headers, driver_headers
):
    make_lot(name="Open")
    closed = make_lot(name="Closed")
    assert client.delete(f"{API}/lots/{closed.id}", headers=admin_headers).status_code == 204
    assert [i["name"] for i in client.get(f"{API}/lots").get_json()["items"]] == ["Open"]
    everything = client.get(f"{API}/lots?include_inactive=true", headers=admin_headers).get_json()
    assert {i["name"]: i["is_active"] for i in everything["items"]} == {
        "Open": True,
        "Closed": False,
    }
    assert (
        client.get(f"{API}/lots?include_inactive=true", headers=driver_headers).status_code == 403
    )


# -- GET /lots/{id} ---------------------------------------------------------------------------


def test_lot_detail_counts_spots_by_kind(client, make_lot, driver_headers):
    lot = make_lot(spots={"standard": 2, "ev": 1}, opens_at=None, closes_at=None)
    book(client, driver_headers, lot, starts_at=None, ends_at=None, spot_kind="ev")
    body = client.get(f"{API}/lots/{lot.id}").get_json()
    assert body["spots_by_kind"] == {
        "ev": {"total": 1, "available": 0},
        "standard": {"total": 2, "available": 2},
    }
    assert (body["total_spots"], body["available_now"]) == (3, 2)
    assert body["opens_at"] is None and body["open_all_day"] is True


def test_lot_detail_shows_opening_hours_in_local_time(client, make_lot):
    from datetime import time

    lot = make_lot(opens_at=time(7, 0), closes_at=time(22, 30))
    body = client.get(f"{API}/lots/{lot.id}").get_json()
    assert (body["opens_at"], body["closes_at"], body["open_all_day"]) == ("07:00", "22:30", False)


@pytest.mark.parametrize(
    "path", ["/lots/424242", f"/lots/{HUGE_ID}", f"/lots/{HUGE_ID}/spots", "/lots/424242/spots"]
)
def test_unknown_lot_is_404(client, path):
    response = client.get(f"{API}{path}")
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_deactivated_lot_is_404_for_the_public_but_visible_to_admins(client, lot, admin_headers):
    client.delete(f"{API}/lots/{lot.id}", headers=admin_headers)
    assert client.get(f"{API}/lots/{lot.id}").status_code == 404
    response = client.get(f"{API}/lots/{lot.id}", headers=admin_headers)
    assert response.status_code == 200 and response.get_json()["is_active"] is False


# -- POST, PATCH, DELETE /lots ----------------------------------------------------------------


def test_admin_creates_a_lot(client, admin_headers):
    response = client.post(f"{API}/lots", json=new_lot_body(), headers=admin_headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "Harbour Car Park" and body["closes_at"] == "22:30"
    assert body["total_spots"] == 0 and body["spots_by_kind"] == {}
    assert client.get(f"{API}/lots/{body['id']}").status_code == 200


def test_creating_a_lot_needs_an_admin_token(client, driver_headers):
    assert client.post(f"{API}/lots", json=new_lot_body()).status_code == 401
    response = client.post(f"{API}/lots", json=new_lot_body(), headers=driver_headers)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_lot_name_must_be_unique(client, lot, admin_headers):
    response = client.post(
        f"{API}/lots", json=new_lot_body(name=lot.name.upper()), headers=admin_headers
    )
    assert response.status_code == 409
    assert response.get_json()["errors"] == {"name": ["This name is taken."]}


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"currency": "EURO"}, "currency"),
        ({"hourly_rate_cents": "ten"}, "hourly_rate_cents"),
        ({"hourly_rate_cents": -1}, "hourly_rate_cents"),
        ({"latitude": 91}, "latitude"),
        ({"opens_at": "25:00"}, "opens_at"),
        ({"closes_at": None}, "closes_at"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "Nul\x00Lot"}, "name"),
        ({"colour": "red"}, ""),  # unknown field
    ],
)
def test_invalid_lot_fields_are_422(client, admin_headers, fields, field):
    response = client.post(f"{API}/lots", json=new_lot_body(**fields), headers=admin_headers)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_malformed_json_is_400(client, admin_headers):
    response = client.post(
        f"{API}/lots", data='{"name": ', content_type="application/json", headers=admin_headers
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"


def test_admin_changes_a_lot_and_can_clear_the_daily_maximum(client, lot, admin_headers):
    response = client.patch(
        f"{API}/lots/{lot.id}",
        json={"hourly_rate_cents": 350, "daily_max_cents": None},
        headers=admin_headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["hourly_rate_cents"], body["daily_max_cents"]) == (350, None)
    assert body["spots_by_kind"]["standard"]["total"] == 2


def test_patching_a_lot_rejects_bad_values_and_unknown_lots(
    client, lot, admin_headers, driver_headers
):
    assert (
        client.patch(
            f"{API}/lots/{lot.id}", json={"grace_minutes": 999}, headers=admin_headers
        ).status_code
        == 422
    )
    assert (
        client.patch(f"{API}/lots/{lot.id}", json={"id": 5}, headers=admin_headers).status_code
        == 422
    )
    assert (
        client.patch(f"{API}/lots/424242", json={"city": "X"}, headers=admin_headers).status_code
        == 404
    )
    assert (
        client.patch(f"{API}/lots/{HUGE_ID}", json={"city": "X"}, headers=admin_headers).status_code
        == 404
    )
    assert (
        client.patch(f"{API}/lots/{lot.id}", json={"city": "X"}, headers=driver_headers).status_code
        == 403
    )


def test_is_active_is_changed_on_its_own_and_reactivates(client, lot, admin_headers):
    mixed = client.patch(
        f"{API}/lots/{lot.id}", json={"is_active": False, "city": "X"}, headers=admin_headers
    )
    assert mixed.status_code == 422
    assert (
        client.patch(
            f"{API}/lots/{lot.id}", json={"is_active": False}, headers=admin_headers
        ).get_json()["is_active"]
        is False
    )
    assert client.get(f"{API}/lots/{lot.id}").status_code == 404
    assert (
        client.patch(
            f"{API}/lots/{lot.id}", json={"is_active": True}, headers=admin_headers
        ).get_json()["is_active"]
        is True
    )
    assert client.get(f"{API}/lots/{lot.id}").status_code == 200


def test_deleting_a_lot_with_an_upcoming_booking_is_409(client, lot, admin_headers, driver_headers):
    assert book(client, driver_headers, lot).status_code == 201
    response = client.delete(f"{API}/lots/{lot.id}", headers=admin_headers)
    assert response.status_code == 409
    assert response.get_json()["code"] == "lot_in_use"
    assert client.get(f"{API}/lots/{lot.id}").status_code == 200


def test_deleting_a_lot_needs_an_admin(client, lot, driver_headers):
    assert client.delete(f"{API}/lots/{lot.id}").status_code == 401
    assert client.delete(f"{API}/lots/{lot.id}", headers=driver_headers).status_code == 403


# -- spots ------------------------------------------------------------------------------------


def test_spot_list_shows_labels_places_and_who_is_parked_now(client, make_lot, driver_headers):
    lot = make_lot(spots={"standard": 2})
    parked = book(client, driver_headers, lot, starts_at=None, ends_at=None).get_json()
    response = client.get(f"{API}/lots/{lot.id}/spots")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(s["label"], s["kind"], s["level"], s["zone"], s["status"]) for s in items] == [
        ("ST1", "standard", "L1", "A", "active"),
        ("ST2", "standard", "L1", "A", "active"),
    ]
    assert {s["id"]: s["occupied_now"] for s in items} == {
        s["id"]: s["id"] == parked["spot"]["id"] for s in items
    }


def test_admin_adds_spots_in_bulk_continuing_the_labels(client, lot, admin_headers):
    body = {"count": 3, "kind": "ev", "level": "L1", "zone": "A", "label_prefix": "ST"}
    response = client.post(f"{API}/lots/{lot.id}/spots", json=body, headers=admin_headers)
    assert response.status_code == 201
    assert [(s["label"], s["kind"]) for s in response.get_json()] == [
        ("ST3", "ev"),
        ("ST4", "ev"),
        ("ST5", "ev"),
    ]
    assert client.get(f"{API}/lots/{lot.id}/spots").get_json()["total"] == 5


@pytest.mark.parametrize(
    "body, field",
    [
        ({"count": 0, "kind": "standard"}, "count"),
        ({"count": 501, "kind": "standard"}, "count"),
        ({"count": 2, "kind": "hovercraft"}, "kind"),
        ({"count": "2", "kind": "standard"}, "count"),
        ({"kind": "standard"}, "count"),
        ({"count": 1, "kind": "ev", "zone": "B"}, "zone"),
        ({"count": 1, "kind": "ev", "label_prefix": "!!"}, "label_prefix"),
    ],
)
def test_bad_spot_creation_is_422(client, lot, admin_headers, body, field):
    response = client.post(f"{API}/lots/{lot.id}/spots", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_adding_spots_needs_an_admin_and_a_lot(client, lot, admin_headers, driver_headers):
    body = {"count": 1, "kind": "standard"}
    assert client.post(f"{API}/lots/{lot.id}/spots", json=body).status_code == 401
    assert (
        client.post(f"{API}/lots/{lot.id}/spots", json=body, headers=driver_headers).status_code
        == 403
    )
    assert (
        client.post(f"{API}/lots/424242/spots", json=body, headers=admin_headers).status_code == 404
    )


def test_admin_puts_a_spot_into_maintenance_and_it_is_not_bookable_now(
    client, make_lot, admin_headers
):
    lot = make_lot(spots={"standard": 1})
    spot = lot.spots[0]
    response = client.patch(
        f"{API}/spots/{spot.id}", json={"status": "maintenance"}, headers=admin_headers
    )
    assert response.status_code == 200 and response.get_json()["status"] == "maintenance"
    [item] = client.get(f"{API}/lots").get_json()["items"]
    assert (item["total_spots"], item["available_now"]) == (1, 0)
    assert (
        client.patch(
            f"{API}/spots/{spot.id}", json={"status": "removed"}, headers=admin_headers
        ).status_code
        == 422
    )


def test_changing_a_spot_needs_an_admin_and_a_spot(client, lot, admin_headers, driver_headers):
    spot_id = lot.spots[0].id
    body = {"status": "maintenance"}
    assert client.patch(f"{API}/spots/{spot_id}", json=body).status_code == 401
    assert (
        client.patch(f"{API}/spots/{spot_id}", json=body, headers=driver_headers).status_code == 403
    )
    assert client.patch(f"{API}/spots/424242", json=body, headers=admin_headers).status_code == 404
    assert (
        client.patch(f"{API}/spots/{HUGE_ID}", json=body, headers=admin_headers).status_code == 404
    )


def test_deleting_a_spot_is_refused_while_it_has_an_upcoming_booking(
    client, lot, admin_headers, driver_headers
):
    booked = book(client, driver_headers, lot).get_json()["spot"]["id"]
    free = next(spot.id for spot in lot.spots if spot.id != booked)
    response = client.delete(f"{API}/spots/{booked}", headers=admin_headers)
    assert response.status_code == 409 and response.get_json()["code"] == "spot_in_use"
    assert client.delete(f"{API}/spots/{free}", headers=admin_headers).status_code == 204
    assert db.session.get(Spot, free) is None
    assert client.delete(f"{API}/spots/{free}", headers=admin_headers).status_code == 404


def test_a_deleted_spot_with_history_is_hidden_from_the_spot_list(
    client, lot, admin_headers, driver_headers
):
    stay = book(client, driver_headers, lot, starts_at=None, ends_at=None).get_json()
    client.post(f"{API}/bookings/{stay['id']}/release", headers=driver_headers)
    assert (
        client.delete(f"{API}/spots/{stay['spot']['id']}", headers=admin_headers).status_code == 204
    )
    assert db.session.get(Spot, stay["spot"]["id"]).status == SpotStatus.REMOVED
    labels = [s["id"] for s in client.get(f"{API}/lots/{lot.id}/spots").get_json()["items"]]
    assert stay["spot"]["id"] not in labels and len(labels) == 1


def test_deleting_a_spot_needs_an_admin(client, lot, driver_headers):
    spot_id = lot.spots[0].id
    assert client.delete(f"{API}/spots/{spot_id}").status_code == 401
    assert client.delete(f"{API}/spots/{spot_id}", headers=driver_headers).status_code == 403

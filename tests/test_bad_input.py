"""No input gives a 500: spots without a level, deep or unstorable JSON, NUL bytes in
queries and forms, far-off years, oversized bodies; errors never echo a long bad value."""

import re

import pytest
from sqlalchemy import select

from parkapp.core.inputs import MAX_JSON_DEPTH
from parkapp.extensions import db
from parkapp.models import Booking, ExportJob, Lot, Vehicle
from tests.conftest import hours_from_now, iso
from tests.test_api_contract import assert_error_body
from tests.test_pages_user import book_form, text

API = "/api/v1"


def add_spots(client, headers, lot, **body):
    response = client.post(f"{API}/lots/{lot.id}/spots", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- 1. spots without a level ---------------------------------------------------------------


def test_a_lot_whose_spots_have_no_level_shows_them_and_books_one(
    client, auth, driver, admin_headers
):
    made = client.post(f"{API}/lots", json={"name": "Bare"}, headers=admin_headers).get_json()
    lot = db.session.get(Lot, made["id"])
    spots = add_spots(client, admin_headers, lot, count=2, kind="standard", label_prefix="P")
    assert [s["level"] for s in spots] == [None, None]

    page = client.get(f"/lots/{lot.id}")
    assert page.status_code == 200
    assert "P1" in text(page) and "P2" in text(page)
    assert "No level" not in text(page)  # nothing to tell apart

    auth.login()
    chosen = spots[1]
    response = client.post(
        f"/lots/{lot.id}", data=book_form(spot_kind="standard", spot=str(chosen["id"]))
    )
    assert response.status_code == 302, text(response)
    booking = db.session.scalar(select(Booking).filter_by(user_id=driver.id))
    assert booking.spot_id == chosen["id"]
    assert client.get(f"/lots/{lot.id}").status_code == 200


def test_spots_without_a_level_come_after_the_levels_under_no_level(
    client, admin_headers, make_lot
):
    lot = make_lot(spots={"standard": 1})  # level L1, zone A
    add_spots(client, admin_headers, lot, count=1, kind="ev", label_prefix="X")
    add_spots(client, admin_headers, lot, count=1, kind="compact", label_prefix="Z")
    page = text(client.get(f"/lots/{lot.id}"))
    groups = page[page.index("Spots by level and zone") :]
    assert re.search(r"L1 A 1 1 No level — 2 2", groups), groups
    assert "ST1" in groups and "X1" not in groups  # the first group's spots are listed

    levelless = client.get(f"/lots/{lot.id}", query_string={"group": "none-none"})
    spots = text(levelless)[text(levelless).index("Spots by level and zone") :]
    assert re.search(r"No level \(2 of 2 free now\) X1 .*Z1", spots), spots


# -- 2. bad JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [5000, MAX_JSON_DEPTH + 1])
def test_deeply_nested_json_is_a_400_before_anything_else(client, depth):
    body = '{"lot_id": ' + "[" * depth + "]" * depth + "}"
    response = client.post(f"{API}/quotes", data=body, content_type="application/json")
    assert response.status_code == 400
    assert_error_body(response)
    assert "nested deeper" in response.get_json()["message"]


def test_json_as_deep_as_allowed_is_read(client, lot):
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    response = client.post(
        f"{API}/quotes", data='{"lot_id": ' + nested + "}", content_type="application/json"
    )
    assert response.status_code == 422  # read, then refused as a wrong type
    assert "lot_id" in response.get_json()["errors"]


def test_a_lone_surrogate_is_refused_naming_its_field(client, driver_headers, driver):
    response = client.post(
        f"{API}/auth/token",
        data='{"email": "\\ud800@example.com", "password": "x"}',
        content_type="application/json",
    )
    assert response.status_code == 422
    assert_error_body(response)
    assert list(response.get_json()["errors"]) == ["email"]

    response = client.post(
        f"{API}/vehicles",
        data='{"plate": "AB12CDE", "make": "Volvo\\udc00"}',
        content_type="application/json",
        headers=driver_headers,
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["make"]
    assert db.session.scalar(select(Vehicle)) is None


def test_a_nul_byte_anywhere_in_a_json_body_is_refused(client, driver_headers):
    response = client.post(
        f"{API}/vehicles", json={"plate": "AB12CDE", "colour": "bl\x00ue"}, headers=driver_headers
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["colour"]


def test_nul_bytes_in_queries_and_page_forms_are_a_clear_error(client, auth, admin, driver):
    response = client.get("/", query_string={"q": "Lon\x00don"})
    assert response.status_code == 422
    assert "NUL" in text(response)
    assert client.get(f"{API}/lots", query_string={"q": "a\x00"}).status_code == 422

    auth.login(admin.email)
    assert client.get("/admin/users", query_string={"q": "a\x00"}).status_code == 422
    auth.logout()

    auth.login(driver.email)
    form = {"plate": "AB12CDE", "vehicle_type": "car", "make": "Vol\x00vo"}
    response = client.post("/vehicles", data=form)
    assert response.status_code == 422
    assert "NUL" in text(response)
    assert db.session.scalar(select(Vehicle)) is None
    # Bytes that are not UTF-8 arrive as their percent-escapes, which are storable text.
    response = client.post(
        "/vehicles",
        data=b"plate=AB12CDE&vehicle_type=car&make=%ED%A0%80",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 302


# -- 2. far-off years -----------------------------------------------------------------------


@pytest.fixture
def banded_lot(client, admin_headers, lot):
    """A lot with a night band: the rate walk looks two days past the stay's end."""
    response = client.post(
        f"{API}/rates",
        json={
            "lot_id": lot.id,
            "name": "Night",
            "kind": "flat",
            "amount_cents": 500,
            "band_starts": "18:00",
            "band_ends": "06:00",
        },
        headers=admin_headers,
    )
    assert response.status_code == 201, response.get_json()
    return lot


def test_the_booking_form_refuses_a_year_9999_stay_next_to_its_fields(
    client, auth, driver, banded_lot
):
    auth.login()
    for button in ({"get_quote": "1", "book": ""}, {}):
        response = client.post(
            f"/lots/{banded_lot.id}",
            data=book_form(
                when="later", starts="9999-12-30T10:00", ends="9999-12-31T10:00", **button
            ),
        )
        assert response.status_code == 422
        assert text(response).count("Give a time between the years 1970 and 8999") == 2
    assert db.session.scalar(select(Booking)) is None


@pytest.mark.parametrize("path", ["/quotes", "/bookings"])
@pytest.mark.parametrize("ends_at", ["9999-12-31T23:00:00-05:00", "9999-12-31T00:00:00Z"])
def test_the_api_refuses_a_year_9999_end_naming_ends_at(
    client, driver_headers, banded_lot, path, ends_at
):
    body = {
        "lot_id": banded_lot.id,
        "vehicle_plate": "AB12CDE",
        "starts_at": iso(hours_from_now(2)),
        "ends_at": ends_at,
    }
    if path == "/quotes":
        body.pop("vehicle_plate")
    response = client.post(f"{API}{path}", json=body, headers=driver_headers)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["ends_at"]


def test_an_export_from_year_1_is_refused_before_it_is_queued(client, auth, driver_headers):
    for field in ("date_from", "date_to"):
        response = client.post(
            f"{API}/exports",
            json={"kind": "bookings_csv", field: "0001-01-01"},
            headers=driver_headers,
        )
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == [field]
    response = client.post(
        f"{API}/exports", json={"kind": "activity_pdf", "month": "0001-01"}, headers=driver_headers
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["month"]

    auth.login()
    response = client.post("/exports/csv", data={"csv-date_from": "0001-01-01"})
    assert response.status_code == 422
    assert "Give a time between the years" in text(response)
    assert db.session.scalar(select(ExportJob)) is None


# -- 3. size and echo -----------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_with_the_error_body(client, app, lot, monkeypatch):
    stay = {
        "lot_id": lot.id,
        "starts_at": iso(hours_from_now(2)),
        "ends_at": iso(hours_from_now(3)),
    }
    big = {**stay, "discount_code": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    response = client.post(f"{API}/quotes", json=big)
    assert response.status_code == 413
    assert_error_body(response)
    assert len(response.data) < 500

    response = client.post("/login", data={"email": "a@example.com", "password": "p" * 2_000_000})
    assert response.status_code == 413
    assert response.mimetype == "text/html"

    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 200)  # configurable
    assert (
        client.post(f"{API}/quotes", json={**stay, "discount_code": "x" * 200}).status_code == 413
    )
    assert client.post(f"{API}/quotes", json=stay).status_code == 200


def test_an_error_quotes_only_a_short_prefix_of_a_bad_value(client, lot):
    stay = {
        "lot_id": lot.id,
        "starts_at": iso(hours_from_now(2)),
        "ends_at": iso(hours_from_now(3)),
    }
    response = client.post(f"{API}/quotes", json={**stay, "discount_code": "x" * 500_000})
    assert response.status_code == 422
    assert len(response.data) < 500
    (problem,) = response.get_json()["errors"]["discount_code"]
    assert "x" * 40 + "…" in problem and "x" * 41 not in problem

    response = client.post(f"{API}/quotes", json={**stay, "spot_kind": list(range(10_000))})
    assert response.status_code == 422
    assert len(response.data) < 800

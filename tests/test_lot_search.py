"""API: lots priced for an interval, a price ceiling, sorting by price, amenities and height."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from parkapp.models import Amenity, Lot, utcnow
from tests.conftest import iso

API = "/api/v1"
LONDON = ZoneInfo("Europe/London")


def next_week_at(hour, minute=0):
    """A local London time a week from now (aware), so every lot is bookable then."""
    day = (utcnow() + timedelta(days=7)).astimezone(LONDON).date()
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


@pytest.fixture
def priced_lots(make_lot):
    """Four lots for 10:00-13:00 next week: 600, 400 (daily cap), 900, and one closing at 12:00."""
    return {
        "mid": make_lot(name="Mid", hourly_rate_cents=200, daily_max_cents=None),
        "capped": make_lot(name="Capped", hourly_rate_cents=150, daily_max_cents=400),
        "dear": make_lot(name="Dear", hourly_rate_cents=300, daily_max_cents=None),
        "early": make_lot(
            name="Early", hourly_rate_cents=100, opens_at=time(7), closes_at=time(12)
        ),
    }


def interval(start_hour=10, end_hour=13):
    return {
        "starts_at": iso(next_week_at(start_hour)),
        "ends_at": iso(next_week_at(end_hour)),
    }


def get_lots(client, **params):
    response = client.get(f"{API}/lots", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def names_and_prices(body):
    return [(lot["name"], lot["quote_total_cents"]) for lot in body["items"]]


def test_each_lot_carries_its_price_for_the_interval_or_null_when_closed(client, priced_lots):
    body = get_lots(client, **interval())
    assert names_and_prices(body) == [
        ("Capped", 400),
        ("Dear", 900),
        ("Early", None),
        ("Mid", 600),
    ]
    assert {lot["quote_currency"] for lot in body["items"] if lot["quote_total_cents"]} == {"GBP"}
    early = next(lot for lot in body["items"] if lot["name"] == "Early")
    assert early["quote_currency"] is None


def test_the_price_is_the_one_the_quote_endpoint_gives(client, priced_lots):
    body = get_lots(client, **interval(), sort="price")
    for item in body["items"][:3]:
        quoted = client.post(
            f"{API}/quotes", json={"lot_id": item["id"], **interval(), "spot_kind": "standard"}
        )
        assert quoted.status_code == 200, quoted.get_json()
        assert quoted.get_json()["total_cents"] == item["quote_total_cents"]


def test_without_an_interval_lots_carry_no_price(client, priced_lots):
    item = get_lots(client)["items"][0]
    assert "quote_total_cents" not in item and "quote_currency" not in item
    assert "available_now" in item


def test_sort_by_price_puts_the_cheapest_first_and_closed_lots_last(client, priced_lots):
    body = get_lots(client, **interval(), sort="price")
    assert names_and_prices(body) == [
        ("Capped", 400),
        ("Mid", 600),
        ("Dear", 900),
        ("Early", None),
    ]


def test_sort_by_price_is_paged_after_sorting(client, priced_lots):
    body = get_lots(client, **interval(), sort="price", per_page=2, page=2)
    assert names_and_prices(body) == [("Dear", 900), ("Early", None)]
    assert body["total"] == 4


def test_max_price_keeps_lots_at_or_under_it_and_leaves_out_closed_ones(client, priced_lots):
    body = get_lots(client, **interval(), max_price_cents=600, sort="price")
    assert names_and_prices(body) == [("Capped", 400), ("Mid", 600)]
    assert body["total"] == 2
    assert get_lots(client, **interval(), max_price_cents=399)["items"] == []


def test_an_interval_inside_opening_hours_prices_the_early_lot(client, priced_lots):
    body = get_lots(client, **interval(9, 11), sort="price")
    assert names_and_prices(body) == [
        ("Early", 200),
        ("Capped", 300),
        ("Mid", 400),
        ("Dear", 600),
    ]


def test_price_filters_combine_with_name_and_distance_search(client, make_lot):
    make_lot(name="Near Cheap", latitude=51.5, longitude=-0.12, hourly_rate_cents=100)
    make_lot(name="Far Cheap", latitude=52.5, longitude=-0.12, hourly_rate_cents=100)
    make_lot(name="Near Dear", latitude=51.51, longitude=-0.12, hourly_rate_cents=500)
    make_lot(name="Elsewhere", city="Othertown", latitude=51.5, longitude=-0.12)
    body = get_lots(
        client, q="testville", lat=51.5, lon=-0.12, radius_km=50, **interval(), sort="price"
    )
    assert names_and_prices(body) == [("Near Cheap", 300), ("Near Dear", 1500)]
    by_distance = get_lots(client, lat=51.5, lon=-0.12, radius_km=50, q="near")
    assert [lot["name"] for lot in by_distance["items"]] == ["Near Cheap", "Near Dear"]
    assert by_distance["items"][1]["distance_km"] == pytest.approx(1.112, abs=0.001)
    by_name = get_lots(client, lat=51.5, lon=-0.12, sort="name", q="cheap")
    assert [lot["name"] for lot in by_name["items"]] == ["Far Cheap", "Near Cheap"]


# -- amenities and height ----------------------------------------------------------------------


@pytest.fixture
def equipped_lots(make_lot):
    return [
        make_lot(name="Roofed", amenities=("covered",), height_limit_cm=190),
        make_lot(name="Full", amenities=("covered", "ev_charging", "toilets"), height_limit_cm=220),
        make_lot(name="Open Air", amenities=("ev_charging", "bike")),
    ]


def names(body):
    return [lot["name"] for lot in body["items"]]


def test_amenities_are_listed_and_every_one_asked_for_is_required(client, equipped_lots):
    everything = get_lots(client)
    full = next(lot for lot in everything["items"] if lot["name"] == "Full")
    assert full["amenities"] == ["covered", "ev_charging", "toilets"]
    assert full["height_limit_cm"] == 220
    assert names(get_lots(client, amenities="covered")) == ["Full", "Roofed"]
    assert names(get_lots(client, amenities="covered,ev_charging")) == ["Full"]
    assert names(get_lots(client, amenities="ev_charging")) == ["Full", "Open Air"]
    assert names(get_lots(client, amenities="security")) == []


def test_max_height_keeps_lots_the_vehicle_fits_and_lots_without_a_limit(client, equipped_lots):
    assert names(get_lots(client, max_height_cm=200)) == ["Full", "Open Air"]
    assert names(get_lots(client, max_height_cm=190)) == ["Full", "Open Air", "Roofed"]
    assert names(get_lots(client, max_height_cm=221)) == ["Open Air"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "price"}, "sort"),
        ({"sort": "distance"}, "sort"),
        ({"sort": "cheapest"}, "sort"),
        ({"max_price_cents": 500}, "max_price_cents"),
        ({"max_price_cents": -1, **interval()}, "max_price_cents"),
        ({"max_price_cents": "ten", **interval()}, "max_price_cents"),
        ({"amenities": "covered,pool"}, "amenities"),
        ({"max_height_cm": 99}, "max_height_cm"),
        ({"max_height_cm": 501}, "max_height_cm"),
        ({"max_height_cm": "tall"}, "max_height_cm"),
        ({"sort": "price", "starts_at": iso(next_week_at(10))}, "sort"),
    ],
)
def test_invalid_search_parameters_are_422_naming_the_parameter(client, params, field):
    response = client.get(f"{API}/lots", query_string=params)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert list(body["errors"]) == [field]
    if field == "amenities":
        assert "'pool'" in body["errors"]["amenities"][0]


# -- admins set them -----------------------------------------------------------------------------


def lot_body(**fields):
    return {"name": "Harbour", "timezone": "Europe/London", "currency": "GBP", **fields}


def test_admin_creates_changes_and_reads_amenities_and_height(client, admin_headers):
    created = client.post(
        f"{API}/lots",
        json=lot_body(amenities=["toilets", "covered"], height_limit_cm=200),
        headers=admin_headers,
    )
    assert created.status_code == 201, created.get_json()
    lot = created.get_json()
    assert lot["amenities"] == ["covered", "toilets"]
    assert lot["height_limit_cm"] == 200
    changed = client.patch(
        f"{API}/lots/{lot['id']}",
        json={"amenities": ["security", "bike"], "height_limit_cm": None},
        headers=admin_headers,
    )
    assert changed.status_code == 200, changed.get_json()
    read = client.get(f"{API}/lots/{lot['id']}").get_json()
    assert read["amenities"] == ["security", "bike"]
    assert read["height_limit_cm"] is None
    stored = Lot.query.filter_by(name="Harbour").one()
    assert stored.amenities == [Amenity.SECURITY, Amenity.BIKE]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"amenities": ["covered", "valet"]}, "amenities", "'valet'"),
        ({"amenities": "covered"}, "amenities", ""),
        ({"height_limit_cm": 99}, "height_limit_cm", ""),
        ({"height_limit_cm": 501}, "height_limit_cm", ""),
    ],
)
def test_admin_gets_422_for_unknown_amenities_and_heights_out_of_range(
    client, admin_headers, lot, fields, field, words
):
    for response in (
        client.post(f"{API}/lots", json=lot_body(**fields), headers=admin_headers),
        client.patch(f"{API}/lots/{lot.id}", json=fields, headers=admin_headers),
    ):
        assert response.status_code == 422, response.get_json()
        errors = response.get_json()["errors"]
        assert field in errors
        assert words in " ".join(errors[field])

"""Rate tables: the rates service and the /rates API (pages: tests/test_rates_pages.py)."""

from datetime import date, time

import pytest
from sqlalchemy import select

from parkapp.core.exceptions import Conflict, Invalid
from parkapp.extensions import db
from parkapp.models import ALL_WEEKDAYS, Rate, RateKind, SpotKind, VehicleType
from parkapp.pricing import rates
from tests.conftest import api_book, hours_from_now, iso

API = "/api/v1"
NIGHT = {
    "name": "Night",
    "amount_cents": 100,
    "band_starts": "18:00",
    "band_ends": "06:00",
}


def stored(rate_id):
    """Re-read a rate from the database (a new transaction: SQLite reads a snapshot)."""
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Rate, rate_id)


def add(lot, name="Base", amount_cents=300, **fields):
    return rates.create_rate(lot, rates.RateInput(name, amount_cents, **fields))


def post_rate(client, headers, lot, **fields):
    return client.post(f"{API}/rates", json={"lot_id": lot.id, **NIGHT, **fields}, headers=headers)


# -- the service ------------------------------------------------------------------------------


def test_every_invalid_field_is_named_at_once(lot):
    data = rates.RateInput(
        " ",
        -1,
        kind="weekly",
        unit_minutes=0,
        grace_minutes=2000,
        spot_kind="boat",
        weekdays=0,
        band_starts=time(18),
        effective_from=date(2030, 5, 2),
        effective_until=date(2030, 5, 1),
    )
    with pytest.raises(Invalid) as refused:
        rates.create_rate(lot, data)
    assert set(refused.value.errors) == {
        "name",
        "amount_cents",
        "kind",
        "unit_minutes",
        "grace_minutes",
        "spot_kind",
        "weekdays",
        "band_ends",
        "effective_until",
    }
    assert db.session.scalar(select(Rate.id)) is None


def test_a_band_must_not_start_and_end_at_once(lot):
    with pytest.raises(Invalid) as refused:
        add(lot, band_starts=time(9), band_ends=time(9))
    assert set(refused.value.errors) == {"band_ends"}


def test_only_a_base_rate_sets_a_daily_maximum(lot):
    with pytest.raises(Invalid) as refused:
        add(lot, weekdays=0b1100000, daily_max_cents=1000)
    assert set(refused.value.errors) == {"daily_max_cents"}
    assert add(lot, daily_max_cents=1000).daily_max_cents == 1000


def test_an_ambiguous_rate_is_refused_naming_the_other(lot):
    first = add(lot, "Spring", effective_from=date(2030, 3, 1), effective_until=date(2030, 5, 31))
    with pytest.raises(Conflict) as refused:
        add(lot, "Summer", effective_from=date(2030, 5, 31))
    assert f"Rate {first.id} ('Spring')" in refused.value.message
    # the day after, another band, another kind, or another vehicle type: no clash
    add(lot, "Summer", effective_from=date(2030, 6, 1))
    add(lot, "Night", band_starts=time(18), band_ends=time(6))
    add(lot, "EV", spot_kind="ev")
    add(lot, "Vans", vehicle_type="van")
    assert len(stored(first.id).lot.rates) == 5


def test_a_deactivated_rate_clashes_with_nothing_until_reactivated(lot):
    old = add(lot, "Old")
    rates.deactivate_rate(old)
    new = add(lot, "New")
    with pytest.raises(Conflict):
        rates.reactivate_rate(stored(old.id))
    assert not stored(old.id).is_active and stored(new.id).is_active


def test_an_update_is_validated_whole_and_checked_for_clashes(lot):
    night = add(lot, "Night", band_starts=time(18), band_ends=time(6))
    day = add(lot, "Day")
    with pytest.raises(Invalid):
        rates.update_rate(day, {"band_starts": time(20)})  # band_ends missing
    with pytest.raises(Conflict):
        rates.update_rate(stored(day.id), {"band_starts": time(18), "band_ends": time(6)})
    assert stored(day.id).band_starts is None
    rates.update_rate(stored(day.id), {"amount_cents": 350, "unit_minutes": 30})
    assert (stored(day.id).amount_cents, stored(day.id).unit_minutes) == (350, 30)
    assert stored(night.id).band_ends == time(6)


def test_weekdays_read_and_write_as_names():
    assert rates.weekday_mask(["mon", "FRI"]) == 0b10001
    assert rates.weekday_names(0b1100000) == ["sat", "sun"]
    assert rates.weekday_names(ALL_WEEKDAYS) == list(rates.WEEKDAYS)
    for junk in ([], ["funday"], [3]):
        with pytest.raises(Invalid):
            rates.weekday_mask(junk)


def test_a_rate_reads_in_plain_words(lot):
    night = add(
        lot,
        "Night",
        100,
        band_starts=time(18),
        band_ends=time(6),
        weekdays=0b0011111,
        spot_kind="ev",
        vehicle_type="motorcycle",
        effective_from=date(2030, 4, 1),
        grace_minutes=5,
    )
    assert rates.describe(stored(night.id), "GBP") == (
        "1.00 GBP per started hour · Mon\u2013Fri 18:00\u201306:00 · for ev spots and "
        "motorcycles · from 1 Apr 2030 · first 5 min free"
    )
    quarter = add(lot, "Short", 50, unit_minutes=15, daily_max_cents=900)
    assert rates.describe(stored(quarter.id), "GBP") == (
        "0.50 GBP per started 15 min · every day · at most 9.00 GBP a day"
    )
    weekend = add(lot, "Weekend", 1200, kind="flat", weekdays=0b1100000)
    assert rates.describe(stored(weekend.id), "GBP") == "12.00 GBP flat per band · Sat, Sun"


# -- the API: reading ---------------------------------------------------------------------------


def test_anyone_lists_a_lots_active_rates_paginated(client, make_lot):
    lot, other = make_lot(), make_lot()
    for n in range(3):
        add(lot, f"Rate {n}", spot_kind=["ev", "compact", "motorcycle"][n])
    rates.deactivate_rate(add(lot, "Gone"))
    add(other, "Elsewhere")
    body = client.get(f"{API}/rates", query_string={"lot_id": lot.id, "per_page": 2}).get_json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 2)
    assert [item["name"] for item in body["items"]] == ["Rate 0", "Rate 1"]
    assert body["items"][0]["currency"] == "GBP"
    everywhere = client.get(f"{API}/rates").get_json()
    assert {item["name"] for item in everywhere["items"]} == {
        "Rate 0",
        "Rate 1",
        "Rate 2",
        "Elsewhere",
    }


def test_only_admins_see_deactivated_rates(client, lot, driver_headers, admin_headers):
    gone = add(lot, "Gone")
    rates.deactivate_rate(gone)
    query = {"lot_id": lot.id, "include_inactive": "true"}
    assert client.get(f"{API}/rates", query_string=query).status_code == 403
    assert client.get(f"{API}/rates", query_string=query, headers=driver_headers).status_code == 403
    listed = client.get(f"{API}/rates", query_string=query, headers=admin_headers).get_json()
    assert [(r["name"], r["is_active"]) for r in listed["items"]] == [("Gone", False)]
    assert client.get(f"{API}/rates/{gone.id}").status_code == 404
    assert client.get(f"{API}/rates/{gone.id}", headers=admin_headers).get_json()["name"] == "Gone"


@pytest.mark.parametrize("lot_id", ["abc", "-1", "0", "99999999999999999999"])
def test_a_bad_lot_filter_is_422(client, lot_id):
    response = client.get(f"{API}/rates", query_string={"lot_id": lot_id})
    assert response.status_code == 422
    assert "lot_id" in response.get_json()["errors"]


def test_unknown_lots_and_rates_are_404(client):
    assert client.get(f"{API}/rates", query_string={"lot_id": 4242}).status_code == 404
    assert client.get(f"{API}/rates/4242").status_code == 404


def test_one_rate_shows_every_field(client, lot):
    rate = add(
        lot,
        "Night",
        100,
        band_starts=time(18),
        band_ends=time(6),
        weekdays=0b0011111,
        effective_until=date(2030, 9, 30),
        spot_kind="ev",
    )
    body = client.get(f"{API}/rates/{rate.id}").get_json()
    assert body == {
        "id": rate.id,
        "lot_id": lot.id,
        "name": "Night",
        "kind": "hourly",
        "amount_cents": 100,
        "currency": "GBP",
        "unit_minutes": 60,
        "daily_max_cents": None,
        "grace_minutes": None,
        "spot_kind": "ev",
        "vehicle_type": None,
        "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "band_starts": "18:00",
        "band_ends": "06:00",
        "effective_from": None,
        "effective_until": "2030-09-30",
        "is_active": True,
        "description": rates.describe(stored(rate.id), "GBP"),
    }


def test_the_lot_shows_its_active_unexpired_rates(client, lot):
    add(lot, "Night", 100, band_starts=time(18), band_ends=time(6))
    add(lot, "Old", effective_until=date(2020, 1, 31))
    rates.deactivate_rate(add(lot, "Gone", spot_kind="ev"))
    body = client.get(f"{API}/lots/{lot.id}").get_json()
    assert [rate["name"] for rate in body["rates"]] == ["Night"]
    assert body["rates"][0]["band_starts"] == "18:00"


# -- the API: writing ---------------------------------------------------------------------------


def test_an_admin_adds_a_rate(client, lot, admin_headers):
    response = post_rate(
        client,
        admin_headers,
        lot,
        weekdays=["fri", "sat"],
        effective_from="2030-04-01",
        spot_kind="ev",
        vehicle_type=None,
        grace_minutes=5,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["weekdays"] == ["fri", "sat"] and body["effective_from"] == "2030-04-01"
    rate = stored(body["id"])
    assert (rate.lot_id, rate.kind, rate.amount_cents) == (lot.id, RateKind.HOURLY, 100)
    assert (rate.band_starts, rate.band_ends, rate.weekdays) == (time(18), time(6), 0b0110000)
    assert (rate.spot_kind, rate.vehicle_type, rate.grace_minutes) == (SpotKind.EV, None, 5)
    assert rate.effective_from == date(2030, 4, 1) and rate.is_active


def test_only_admins_write_rates(client, lot, driver_headers, operator_headers):
    assert post_rate(client, {}, lot).status_code == 401
    assert post_rate(client, driver_headers, lot).status_code == 403
    assert post_rate(client, operator_headers, lot).status_code == 403
    rate = add(lot)
    for method in ("patch", "delete"):
        response = client.open(
            f"{API}/rates/{rate.id}", method=method, json={"name": "x"}, headers=driver_headers
        )
        assert response.status_code == 403
    assert stored(rate.id).name == "Base" and stored(rate.id).is_active


def test_a_rate_for_an_unknown_lot_is_404(client, admin_headers):
    response = client.post(f"{API}/rates", json={"lot_id": 4242, **NIGHT}, headers=admin_headers)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"kind": "weekly"}, "kind"),
        ({"amount_cents": -1}, "amount_cents"),
        ({"amount_cents": 10_000_001}, "amount_cents"),
        ({"amount_cents": 1.5}, "amount_cents"),
        ({"unit_minutes": 0}, "unit_minutes"),
        ({"unit_minutes": 1441}, "unit_minutes"),
        ({"daily_max_cents": -5}, "daily_max_cents"),
        ({"grace_minutes": 1441}, "grace_minutes"),
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": ["funday"]}, "weekdays"),
        ({"weekdays": "mon"}, "weekdays"),
        ({"band_starts": "24:00"}, "band_starts"),
        ({"band_ends": None}, "band_ends"),
        ({"band_ends": "18:00"}, "band_ends"),
        ({"effective_from": "2030-02-30"}, "effective_from"),
        ({"effective_from": "next week"}, "effective_from"),
        ({"effective_from": "2030-05-02", "effective_until": "2030-05-01"}, "effective_until"),
        ({"spot_kind": "boat"}, "spot_kind"),
        ({"vehicle_type": "tank"}, "vehicle_type"),
        ({"daily_max_cents": 2000}, "daily_max_cents"),  # on a banded rate
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client, lot, admin_headers, fields, field):
    response = post_rate(client, admin_headers, lot, **fields)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]  # request-model errors may say "weekdays.0"
    assert any(key.startswith(field) or field in str(problems) for key, problems in errors.items())
    assert db.session.scalar(select(Rate.id)) is None


def test_an_ambiguous_rate_is_409_naming_the_other(client, lot, admin_headers):
    first = post_rate(client, admin_headers, lot).get_json()
    response = post_rate(client, admin_headers, lot, name="Night again", amount_cents=90)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "rate_ambiguous" and f"Rate {first['id']}" in body["message"]


def test_an_admin_changes_deactivates_and_reactivates_a_rate(client, lot, admin_headers):
    rate = add(lot, "Night", 100, band_starts=time(18), band_ends=time(6))
    url = f"{API}/rates/{rate.id}"
    changed = client.patch(
        url, json={"band_starts": "19:30", "weekdays": ["sat", "sun"]}, headers=admin_headers
    )
    assert changed.status_code == 200 and changed.get_json()["band_starts"] == "19:30"
    assert (stored(rate.id).band_starts, stored(rate.id).weekdays) == (time(19, 30), 0b1100000)
    assert client.patch(url, json={"band_ends": None}, headers=admin_headers).status_code == 422
    both = {"is_active": False, "name": "x"}
    assert client.patch(url, json=both, headers=admin_headers).status_code == 422
    off = client.patch(url, json={"is_active": False}, headers=admin_headers)
    assert off.status_code == 200 and not stored(rate.id).is_active
    assert client.patch(url, json={"is_active": True}, headers=admin_headers).status_code == 200
    assert stored(rate.id).is_active
    assert client.delete(url, headers=admin_headers).status_code == 204
    assert not stored(rate.id).is_active
    assert client.delete(url, headers=admin_headers).status_code == 204  # already inactive


def test_a_change_that_clashes_is_409(client, lot, admin_headers):
    add(lot, "Weekend", 150, weekdays=0b1100000)
    rate = add(lot, "Weekdays", 250, weekdays=0b0011111)
    response = client.patch(
        f"{API}/rates/{rate.id}", json={"weekdays": ["sat", "sun"]}, headers=admin_headers
    )
    assert response.status_code == 409
    assert stored(rate.id).weekdays == 0b0011111


def test_unknown_rates_are_404_for_admins_too(client, admin_headers):
    for method in ("get", "patch", "delete"):
        response = client.open(
            f"{API}/rates/4242", method=method, json={"name": "x"}, headers=admin_headers
        )
        assert response.status_code == 404


JUNK = [None, True, -1, 10**30, 1.5, "", "x" * 3000, "nul\x00", [], {"a": 1}, ["mon", 3]]


def test_junk_in_any_field_never_gives_a_server_error(client, lot, admin_headers):
    rate = add(lot, "Existing", spot_kind="ev")
    fields = [*NIGHT, "kind", "unit_minutes", "daily_max_cents", "grace_minutes", "spot_kind"]
    fields += ["vehicle_type", "weekdays", "effective_from", "effective_until", "lot_id"]
    for name in fields:
        for value in JUNK:
            created = post_rate(client, admin_headers, lot, **{name: value})
            changed = client.patch(
                f"{API}/rates/{rate.id}", json={name: value}, headers=admin_headers
            )
            for response in (created, changed):
                assert response.status_code < 500, (name, value, response.get_json())
                assert set(response.get_json()) >= {"message", "code", "errors"} or (
                    response.status_code < 300
                )


# -- pricing through the API ------------------------------------------------------------------


def test_quotes_and_bookings_are_priced_by_the_rate_table(
    client, make_lot, driver_headers, admin_headers
):
    lot = make_lot(spots={"standard": 1, "ev": 1}, daily_max_cents=None)
    post_rate(
        client,
        admin_headers,
        lot,
        name="EV",
        amount_cents=450,
        spot_kind="ev",
        band_starts=None,
        band_ends=None,
    )
    stay = {
        "lot_id": lot.id,
        "starts_at": iso(hours_from_now(2)),
        "ends_at": iso(hours_from_now(5)),
    }
    ev = client.post(f"{API}/quotes", json={**stay, "spot_kind": "ev"}).get_json()
    assert ev["total_cents"] == 1350
    assert ev["lines"] == [{"label": "3 h at 4.50 GBP/h (EV)", "amount_cents": 1350}]
    standard = client.post(f"{API}/quotes", json={**stay, "spot_kind": "standard"}).get_json()
    assert standard["total_cents"] == 600
    booked = api_book(
        client,
        driver_headers,
        lot,
        spot_kind="ev",
        starts_at=stay["starts_at"],
        ends_at=stay["ends_at"],
    )
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["quote"]["total_cents"] == 1350
    motorcycle = client.post(
        f"{API}/quotes", json={**stay, "vehicle_type": VehicleType.MOTORCYCLE.value}
    ).get_json()
    assert motorcycle["total_cents"] == 600  # no motorcycle rate: the lot's own

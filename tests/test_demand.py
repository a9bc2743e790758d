"""Demand pricing with the database: settings and steps (API and admin page), the step
that applies as a lot fills with real bookings, the quote's line, and a booking keeping
the adjustment it was quoted with."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from parkapp.booking import lifecycle
from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.models import Booking, DemandStep, Lot, utcnow
from parkapp.pricing import demand, rates
from tests.conftest import hours_from_now, iso

STEPS = [
    {"direction": "below", "threshold_percent": 20, "adjust_percent": -20},
    {"direction": "below", "threshold_percent": 40, "adjust_percent": -10},
    {"direction": "above", "threshold_percent": 50, "adjust_percent": 10},
    {"direction": "above", "threshold_percent": 80, "adjust_percent": 25},
]


def put_demand(client, headers, lot, **body):
    body = {"enabled": True, "floor_cents": None, "ceiling_cents": None, "steps": STEPS, **body}
    return client.put(f"/api/v1/lots/{lot.id}/demand", json=body, headers=headers)


def configure(lot, steps=STEPS, floor=None, ceiling=None, enabled=True):
    steps = tuple(demand.StepInput(**step) for step in steps)
    demand.replace_settings(lot, demand.Settings(enabled, floor, ceiling, steps))
    return lot


def fill(user, lot, count, starts=None, ends=None, prefix="FILL"):
    """`count` real bookings at `lot` (park-now stays unless `starts` is given)."""
    return [
        create_booking(
            user,
            BookingRequest(lot_id=lot.id, plate=f"{prefix}{n}", starts_at=starts, ends_at=ends),
        )
        for n in range(count)
    ]


def steps_in_db(lot):
    return db.session.scalar(select(func.count(DemandStep.id)).where(DemandStep.lot_id == lot.id))


def demand_line(quote_lines):
    found = [ln for ln in quote_lines if ln["label"].startswith("Demand")]
    return found[0] if found else None


# -- settings through the API ------------------------------------------------------------------


def test_admin_replaces_the_settings_and_anyone_reads_them(client, admin_headers, make_lot):
    lot = make_lot(spots={"standard": 4})
    response = put_demand(client, admin_headers, lot, floor_cents=150, ceiling_cents=300)
    assert response.status_code == 200, response.get_json()
    body = client.get(f"/api/v1/lots/{lot.id}/demand").get_json()
    assert body["enabled"] is True
    assert (body["floor_cents"], body["ceiling_cents"], body["currency"]) == (150, 300, "GBP")
    assert [s["description"] for s in body["steps"]] == [
        "-20% under 20% full",
        "-10% under 40% full",
        "+10% at 50% full or more",
        "+25% at 80% full or more",
    ]
    assert (body["occupied"], body["spots_in_service"], body["occupancy_percent"]) == (0, 4, 0)
    assert body["adjustment"] == {"percent": -20, "occupancy_percent": 0}
    assert (body["hourly_rate_cents"], body["adjusted_hourly_rate_cents"]) == (200, 160)

    # A second PUT replaces the whole set.
    one = [{"direction": "above", "threshold_percent": 90, "adjust_percent": 50}]
    response = put_demand(client, admin_headers, lot, steps=one, enabled=False)
    assert response.status_code == 200
    assert response.get_json()["steps"][0]["threshold_percent"] == 90
    assert response.get_json()["adjustment"] is None
    db.session.expire_all()
    assert steps_in_db(lot) == 1 and db.session.get(Lot, lot.id).demand_enabled is False


BAD_BODIES = {
    "step-past-ceiling": (
        {"ceiling_cents": 240, "steps": [STEPS[3]]},
        "steps.0.adjust_percent",
        "above the ceiling of 2.40 GBP",
    ),
    "step-under-floor": (
        {"floor_cents": 170, "steps": [STEPS[0]]},
        "steps.0.adjust_percent",
        "below the floor of 1.70 GBP",
    ),
    "floor-over-ceiling": ({"floor_cents": 300, "ceiling_cents": 200}, "ceiling_cents", "floor"),
    "above-not-over-below": (
        {
            "steps": [
                {"direction": "below", "threshold_percent": 60, "adjust_percent": -10},
                {"direction": "above", "threshold_percent": 60, "adjust_percent": 10},
            ]
        },
        "steps",
        "higher than every 'below'",
    ),
    "same-step-twice": ({"steps": [STEPS[2], STEPS[2]]}, "steps.1.threshold_percent", "Another"),
    "zero-step": (
        {"steps": [{"direction": "above", "threshold_percent": 50, "adjust_percent": 0}]},
        "steps.0.adjust_percent",
        "non-zero",
    ),
    "threshold-over-100": (
        {"steps": [{"direction": "above", "threshold_percent": 101, "adjust_percent": 5}]},
        "steps.0.threshold_percent",
        "",
    ),
    "cut-past-90": (
        {"steps": [{"direction": "below", "threshold_percent": 10, "adjust_percent": -95}]},
        "steps.0.adjust_percent",
        "",
    ),
    "bad-direction": (
        {"steps": [{"direction": "sideways", "threshold_percent": 10, "adjust_percent": 5}]},
        "steps.0.direction",
        "",
    ),
    "unknown-field": ({"surge": True}, None, ""),
    "negative-floor": ({"floor_cents": -1}, "floor_cents", ""),
    "enabled-missing": ({"enabled": None}, "enabled", ""),
}


@pytest.mark.parametrize(("body", "field", "words"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_settings_are_refused_and_nothing_changes(
    client, admin_headers, make_lot, body, field, words
):
    lot = make_lot(spots={"standard": 4})  # 2.00 GBP an hour
    assert put_demand(client, admin_headers, lot, floor_cents=100).status_code == 200
    before = client.get(f"/api/v1/lots/{lot.id}/demand").get_json()
    response = put_demand(client, admin_headers, lot, **body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()
    assert error["code"] == "invalid"
    if field is not None:
        assert field in error["errors"], error
        assert words in " ".join(error["errors"][field])
    db.session.expire_all()
    assert client.get(f"/api/v1/lots/{lot.id}/demand").get_json() == before
    assert steps_in_db(lot) == len(STEPS)


def test_only_admins_change_demand_pricing(
    client, driver_headers, operator_headers, admin_headers, make_lot
):
    lot = make_lot()
    assert put_demand(client, {}, lot).status_code == 401
    assert put_demand(client, driver_headers, lot).status_code == 403
    assert put_demand(client, operator_headers, lot).status_code == 403
    assert put_demand(client, admin_headers, type("L", (), {"id": 999_999})).status_code == 404
    assert client.get("/api/v1/lots/999999/demand").status_code == 404
    assert client.get(f"/api/v1/lots/{lot.id}/demand").status_code == 200
    assert steps_in_db(lot) == 0


# -- which step applies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("booked", "percent", "expected"),
    [
        (0, 0, -20),
        (1, 10, -20),
        (2, 20, -10),
        (3, 30, -10),
        (4, 40, None),
        (5, 50, 10),
        (7, 70, 10),
        (8, 80, 25),
        (10, 100, 25),
    ],
)
def test_the_strongest_matching_step_applies_as_the_lot_fills(
    driver, make_lot, booked, percent, expected
):
    lot = configure(make_lot(spots={"standard": 8, "compact": 2}))
    starts, ends = hours_from_now(2), hours_from_now(4)
    fill(driver, lot, booked, starts, ends)
    at = starts + timedelta(minutes=30)
    assert demand.occupancy(lot, at) == (booked, 10)
    adjust = demand.adjustment(lot, at)
    assert (adjust.percent if adjust else None) == expected
    if adjust:
        assert adjust.occupancy_percent == percent
    assert demand.adjustment(lot, hours_from_now(6)).percent == -20  # after they end: empty


def test_spots_out_of_service_do_not_count_and_a_lot_without_demand_has_none(driver, make_lot):
    lot = configure(make_lot(spots={"standard": 3}))
    lot.spots[0].status = "maintenance"
    db.session.commit()
    fill(driver, lot, 1)
    assert demand.occupancy(lot, utcnow()) == (1, 2)
    assert demand.adjustment(lot, utcnow()).percent == 10
    configure(lot, enabled=False)
    assert demand.adjustment(lot, utcnow()) is None


# -- quotes ----------------------------------------------------------------------------------


def test_the_quote_shows_the_adjustment_as_its_own_line(client, driver, driver_headers, make_lot):
    lot = configure(make_lot(spots={"standard": 4}, grace_minutes=0, daily_max_cents=None))
    starts, ends = hours_from_now(2), hours_from_now(4)
    fill(driver, lot, 2, starts, ends)
    body = {"lot_id": lot.id, "starts_at": iso(starts), "ends_at": iso(ends)}
    quote = client.post("/api/v1/quotes", json=body, headers=driver_headers).get_json()
    assert [(ln["label"], ln["amount_cents"]) for ln in quote["lines"]] == [
        ("2 h at 2.00 GBP/h", 400),
        ("Demand +10% (lot 50% full)", 40),
    ]
    assert quote["total_cents"] == 440
    # Another time of day, with the lot empty: the cut.
    later = {
        "lot_id": lot.id,
        "starts_at": iso(hours_from_now(8)),
        "ends_at": iso(hours_from_now(9)),
    }
    quote = client.post("/api/v1/quotes", json=later, headers=driver_headers).get_json()
    assert demand_line(quote["lines"]) == {
        "label": "Demand -20% (lot 0% full)",
        "amount_cents": -40,
    }


def test_the_ceiling_holds_a_rise_from_a_dearer_rate(client, driver, driver_headers, make_lot):
    lot = make_lot(spots={"standard": 4}, grace_minutes=0, daily_max_cents=None)
    rates.create_rate(lot, rates.RateInput(name="Peak", amount_cents=300))
    configure(lot, STEPS[2:], ceiling=320)  # +25% on the lot's 2.00 is 2.50: allowed
    starts, ends = hours_from_now(2), hours_from_now(4)
    fill(driver, lot, 4, starts, ends)
    body = {"lot_id": lot.id, "starts_at": iso(starts), "ends_at": iso(ends)}
    quote = client.post("/api/v1/quotes", json=body, headers=driver_headers).get_json()
    assert demand_line(quote["lines"]) == {
        "label": "Demand +25% (lot 100% full), held to the ceiling of 3.20 GBP/h",
        "amount_cents": 40,
    }
    assert quote["total_cents"] == 640


# -- the quoted adjustment sticks to the booking -----------------------------------------------


def test_a_booking_keeps_its_quoted_adjustment_after_the_lot_empties(driver, make_lot):
    lot = configure(make_lot(spots={"standard": 4}, grace_minutes=0, daily_max_cents=None))
    first = fill(driver, lot, 2, prefix="EARLY")
    mine = create_booking(
        driver, BookingRequest(lot_id=lot.id, plate="MINE1", ends_at=hours_from_now(2))
    )
    assert (mine.demand_percent, mine.demand_occupancy_percent) == (10, 50)
    assert mine.quoted_cents == 440  # 2 h at 2.00, +10%
    for booking in first:
        lifecycle.release(booking, driver)
    assert demand.adjustment(lot, utcnow()).percent == -10  # 25% full now: a cut
    db.session.expire_all()
    released = lifecycle.release(db.session.get(Booking, mine.id), driver)
    assert released.price_cents == 440
    lines = [(ln.label, ln.amount_cents) for ln in lifecycle.final_quote(released).lines]
    assert ("Demand +10% (lot 50% full)", 40) in lines


def test_a_booking_made_without_an_adjustment_gets_none_later(driver, make_lot):
    lot = make_lot(spots={"standard": 2}, grace_minutes=0, daily_max_cents=None)
    mine = create_booking(
        driver, BookingRequest(lot_id=lot.id, plate="MINE1", ends_at=hours_from_now(1))
    )
    assert mine.demand_percent is None and mine.quoted_cents == 200
    configure(lot, [{"direction": "above", "threshold_percent": 0, "adjust_percent": 100}])
    assert demand.adjustment(lot, utcnow()).percent == 100
    db.session.expire_all()
    assert lifecycle.final_quote(db.session.get(Booking, mine.id)).total_cents == 200


def test_a_gate_entry_keeps_the_adjustment_of_its_entry(driver, operator, make_lot):
    lot = configure(make_lot(spots={"standard": 2}, grace_minutes=0, daily_max_cents=None))
    fill(driver, lot, 1)
    entry, _ = gate.enter(lot.id, "GATE1", operator=operator)
    assert (entry.demand_percent, entry.demand_occupancy_percent) == (10, 50)
    fee = gate.fee(db.session.get(Booking, entry.id), now=utcnow() + timedelta(minutes=30))
    assert [ln.label for ln in fee.quote.lines][-1] == "Demand +10% (lot 50% full)"
    assert fee.total_cents == 220


# -- pages ----------------------------------------------------------------------------------


def test_the_admin_page_shows_and_saves_the_steps(client, auth, admin, driver, make_lot):
    lot = configure(make_lot(spots={"standard": 4}))
    fill(driver, lot, 2)
    auth.login(admin.email)
    page = client.get(f"/admin/lots/{lot.id}/demand")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "50% full (2 of 4 spots in service)" in text
    assert "+25% at 80% full or more" in text and "+10%" in text
    assert f"/admin/lots/{lot.id}/demand" in client.get(f"/admin/lots/{lot.id}").get_data(True)

    form = {
        "enabled": "y",
        "floor": "1.50",
        "ceiling": "3.00",
        "steps-0-direction": "above",
        "steps-0-threshold_percent": "85",
        "steps-0-adjust_percent": "25",
        "steps-1-direction": "below",
        "steps-1-threshold_percent": "40",
        "steps-1-adjust_percent": "-25",
    }
    response = client.post(f"/admin/lots/{lot.id}/demand", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    lot = db.session.get(Lot, lot.id)
    assert (lot.demand_floor_cents, lot.demand_ceiling_cents) == (150, 300)
    assert [demand.describe(s) for s in demand.ordered(lot.demand_steps)] == [
        "-25% under 40% full",
        "+25% at 85% full or more",
    ]


def test_the_admin_page_refuses_a_step_past_the_ceiling_next_to_it(client, auth, admin, make_lot):
    lot = configure(make_lot(spots={"standard": 4}))
    auth.login(admin.email)
    form = {
        "enabled": "y",
        "ceiling": "2.20",
        "steps-0-direction": "above",
        "steps-0-threshold_percent": "85",
        "steps-0-adjust_percent": "25",
    }
    response = client.post(f"/admin/lots/{lot.id}/demand", data=form)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert re.search(
        r"field-error[^>]*>\+25% makes the hourly rate 2.50 GBP, above the ceiling", text
    )
    db.session.expire_all()
    assert steps_in_db(lot) == len(STEPS)
    assert db.session.get(Lot, lot.id).demand_ceiling_cents is None


def test_only_admins_see_the_admin_page(client, auth, driver, operator, make_lot):
    lot = make_lot()
    assert client.get(f"/admin/lots/{lot.id}/demand").status_code in (302, 401)
    auth.login(driver.email)
    assert client.get(f"/admin/lots/{lot.id}/demand").status_code == 403
    assert client.post(f"/admin/lots/{lot.id}/demand", data={"enabled": "y"}).status_code in (
        400,
        403,
    )
    auth.logout()
    auth.login(operator.email)
    assert client.get(f"/admin/lots/{lot.id}/demand").status_code == 403


def test_the_lot_page_says_when_prices_follow_demand(client, driver, make_lot):
    lot = configure(make_lot(spots={"standard": 4}))
    fill(driver, lot, 4)
    assert "Prices are 25% higher right now (100% full)" in client.get(f"/lots/{lot.id}").get_data(
        as_text=True
    )
    configure(lot, [{"direction": "below", "threshold_percent": 100, "adjust_percent": -15}])
    text = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert "Prices are 15% lower right now" not in text  # 100% full is not below 100
    for booking in db.session.scalars(select(Booking).where(Booking.lot_id == lot.id)):
        lifecycle.release(booking, driver)
    text = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert "Prices are 15% lower right now (0% full)" in text
    configure(lot, enabled=False)
    assert "Prices are" not in client.get(f"/lots/{lot.id}").get_data(as_text=True)

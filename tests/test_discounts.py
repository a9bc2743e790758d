"""Promo codes: the rules, every reason a code is refused, booking and cancelling with a code,
uses counted once under threads, codes applied later; totals never below zero.

The API and the pages have their own modules: test_api_discounts.py, test_pages_discounts.py.
"""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from parkapp.billing import discounts
from parkapp.billing.discounts import DiscountInput
from parkapp.booking import claims, lifecycle
from parkapp.booking.claims import BookingRequest
from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.extensions import db
from parkapp.models import Booking, Discount, DiscountRedemption, User, utcnow
from tests.conftest import api_book, hours_from_now, iso

API = "/api/v1"


def discount_factory():
    """A function making committed discounts, 10 % off at every lot unless fields say otherwise."""
    counter = {"n": 0}

    def make(**fields):
        counter["n"] += 1
        values = {"code": f"CODE{counter['n']}", "kind": "percent", "value": 10, **fields}
        return discounts.create(DiscountInput(**values))

    return make


@pytest.fixture
def make_discount():
    return discount_factory()


def fresh(discount):
    """The discount re-read in a new transaction, with its number of redemption rows."""
    db.session.commit()
    row = db.session.get(Discount, discount.id)
    db.session.refresh(row)
    rows = db.session.scalar(
        select(func.count(DiscountRedemption.id)).where(DiscountRedemption.discount_id == row.id)
    )
    return row, rows


def reserve(user, lot, code=None, plate="AB12CDE", start_in=2, hours=3):
    start = hours_from_now(start_in)
    return claims.create_booking(
        user,
        BookingRequest(
            lot_id=lot.id,
            plate=plate,
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            discount_code=code,
        ),
    )


def stay(lot, hours=3, **fields):
    start = hours_from_now(2)
    return {
        "lot_id": lot.id,
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(hours=hours)),
        **fields,
    }


def quote(client, body, headers=None):
    response = client.post(f"{API}/quotes", json=body, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- codes and their fields ----------------------------------------------------------------


@pytest.mark.parametrize("raw", [" welcome10 ", "Welcome10", "WELCOME10"])
def test_codes_are_stripped_and_upper_cased(raw):
    assert discounts.normalise_code(raw) == "WELCOME10"
    assert discounts.normalise_code("summer_sale-2") == "SUMMER_SALE-2"


@pytest.mark.parametrize("raw", ["", "AB", "X" * 33, "TEN OFF", "ÄBC1", "TEN%", None, 10])
def test_malformed_codes_are_refused(raw):
    with pytest.raises(Invalid) as caught:
        discounts.normalise_code(raw)
    assert "code" in caught.value.errors


@pytest.mark.parametrize(
    "kind, good, bad",
    [
        ("percent", (1, 100), (0, 101)),
        ("fixed", (1, 10_000_000), (0, 10_000_001)),
        ("free_hours", (1, 72), (0, 73)),
    ],
)
def test_value_bounds_depend_on_the_kind(make_discount, kind, good, bad):
    for value in good:
        assert make_discount(kind=kind, value=value).value == value
    for value in (*bad, -5, True):
        with pytest.raises(Invalid) as caught:
            make_discount(kind=kind, value=value)
        assert "value" in caught.value.errors


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"kind": "half_price"}, "kind"),
        ({"valid_from": hours_from_now(5), "valid_until": hours_from_now(5)}, "valid_until"),
        ({"valid_from": hours_from_now(5), "valid_until": hours_from_now(1)}, "valid_until"),
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses_per_user": 0}, "max_uses_per_user"),
        ({"lot_id": 424242}, "lot_id"),
        ({"code": "no way"}, "code"),
    ],
)
def test_invalid_fields_are_named(make_discount, fields, field):
    with pytest.raises(Invalid) as caught:
        make_discount(**fields)
    assert field in caught.value.errors
    assert db.session.scalar(select(func.count(Discount.id))) == 0


def test_a_code_is_taken_whatever_its_case(make_discount):
    make_discount(code="WELCOME10")
    with pytest.raises(Conflict) as caught:
        make_discount(code=" welcome10")
    assert caught.value.code == "code_taken"


def test_descriptions_and_uses_read_well(make_discount, make_lot):
    lot = make_lot()
    assert discounts.describe(make_discount(value=15)) == "15% off"
    assert discounts.describe(make_discount(kind="fixed", value=550, lot_id=lot.id)) == (
        "5.50 GBP off"
    )
    assert discounts.describe(make_discount(kind="free_hours", value=2)) == "first 2 h free"
    assert discounts.uses_label(make_discount(max_uses=100)) == "0 / 100"
    assert discounts.uses_label(make_discount()) == "0 / ∞"


# --- every reason a code is refused (service and POST /discounts/validate) ------------------


def _unknown(make_discount, lot, other_lot, user):
    return "NOSUCHCODE"


def _inactive(make_discount, lot, other_lot, user):
    return discounts.set_active(make_discount(code="GONE1"), False).code


def _not_yet(make_discount, lot, other_lot, user):
    return make_discount(code="SOON1", valid_from=hours_from_now(24)).code


def _expired(make_discount, lot, other_lot, user):
    return make_discount(
        code="OLD1", valid_from=hours_from_now(-48), valid_until=hours_from_now(-24)
    ).code


def _exhausted(make_discount, lot, other_lot, user):
    discount = make_discount(code="LAST1", max_uses=1)
    reserve(user, lot, discount.code, plate="USED1")
    return discount.code


def _used_up(make_discount, lot, other_lot, user):
    discount = make_discount(code="ONCE1", max_uses_per_user=1)
    reserve(user, lot, discount.code, plate="USED2")
    return discount.code


def _wrong_lot(make_discount, lot, other_lot, user):
    return make_discount(code="ELSEWHERE", lot_id=other_lot.id).code


REASONS = [
    (_unknown, "unknown_code", "There is no promo code NOSUCHCODE."),
    (_inactive, "inactive", "Promo code GONE1 is no longer active."),
    (_not_yet, "not_yet_valid", "Promo code SOON1 is valid from "),
    (_expired, "expired", "Promo code OLD1 expired on "),
    (_exhausted, "exhausted", "Promo code LAST1 has been used up (all 1 uses)."),
    (_used_up, "used_up", "You have used promo code ONCE1 already; it is good once per driver."),
    (_wrong_lot, "wrong_lot", "Promo code ELSEWHERE is valid only at Test Lot 2."),
]


@pytest.mark.parametrize("setup, reason, message", REASONS, ids=[r[1] for r in REASONS])
def test_each_refusal_is_a_422_naming_why(
    client, driver, driver_headers, make_lot, make_discount, setup, reason, message
):
    lot = make_lot(spots={"standard": 3})
    other_lot = make_lot()
    code = setup(make_discount, lot, other_lot, driver)
    with pytest.raises(discounts.CodeRefused) as caught:
        discounts.check(code, user=driver, lot=lot)
    assert caught.value.code == reason and caught.value.message.startswith(message)
    for path, body in (
        ("/discounts/validate", {"code": code.lower(), "lot_id": lot.id}),
        ("/quotes", stay(lot, discount_code=code)),
    ):
        response = client.post(f"{API}{path}", json=body, headers=driver_headers)
        assert response.status_code == 422, (path, response.get_json())
        error = response.get_json()
        assert error["code"] == reason and error["message"].startswith(message)
        assert list(error["errors"]) == ["code" if "validate" in path else "discount_code"]
    before = db.session.scalar(select(func.count(Booking.id)))
    response = api_book(client, driver_headers, lot, vehicle_plate="NEW1", discount_code=code)
    assert response.status_code == 422 and response.get_json()["code"] == reason
    assert db.session.scalar(select(func.count(Booking.id))) == before


def test_validity_is_shown_in_the_lot_time_zone(make_discount, make_lot):
    lot = make_lot(timezone="America/New_York", currency="USD")
    start = utcnow().replace(microsecond=0) + timedelta(days=2)
    discount = make_discount(code="LATER", valid_from=start)
    with pytest.raises(discounts.CodeRefused) as caught:
        discounts.check("later", lot=lot)
    local = start.astimezone(discounts.lot_zone(lot))
    assert caught.value.message.endswith(f"{local:%d %b %Y %H:%M} America/New_York.")
    assert discounts.check("LATER", lot=lot, at=start) == discount


def test_the_per_user_limit_needs_a_user(make_discount, driver, lot):
    discount = make_discount(code="ONCE", max_uses_per_user=1)
    reserve(driver, lot, "ONCE")
    assert discounts.check("ONCE", user=None, lot=lot) == discount  # anonymous quote
    with pytest.raises(discounts.CodeRefused):
        discounts.check("ONCE", user=driver, lot=lot)


# --- booking with a code, cancelling gives the use back -------------------------------------


def test_booking_with_a_code_counts_one_use_and_prices_the_booking(
    client, driver, driver_headers, lot, make_discount
):
    discount = make_discount(code="WELCOME10", value=10, max_uses=100)
    interval = stay(lot)
    plain = quote(client, interval)["total_cents"]
    response = api_book(
        client,
        driver_headers,
        lot,
        starts_at=interval["starts_at"],
        ends_at=interval["ends_at"],
        discount_code=" welcome10 ",
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["discount_code"] == "WELCOME10"
    off = (plain * 10 + 50) // 100
    assert body["quote"]["lines"][-1] == {
        "label": "Code WELCOME10: 10% off",
        "amount_cents": -off,
    }
    assert body["quote"]["total_cents"] == plain - off
    booking = db.session.get(Booking, body["id"])
    assert booking.discount_id == discount.id and booking.quoted_cents == plain - off
    row, redemptions = fresh(discount)
    assert (row.uses_count, redemptions) == (1, 1)
    redemption = db.session.scalar(select(DiscountRedemption))
    assert (redemption.booking_id, redemption.user_id) == (booking.id, driver.id)


def test_a_failed_booking_uses_nothing(client, driver_headers, make_lot, make_discount):
    lot = make_lot(spots={"standard": 1})
    discount = make_discount(max_uses=5)
    assert api_book(client, driver_headers, lot, vehicle_plate="FIRST1").status_code == 201
    full = api_book(client, driver_headers, lot, vehicle_plate="SECOND1", discount_code="CODE1")
    assert full.status_code == 409
    busy = api_book(client, driver_headers, lot, vehicle_plate="FIRST1", discount_code="CODE1")
    assert busy.status_code == 409
    assert fresh(discount)[0].uses_count == 0
    assert db.session.scalar(select(func.count(DiscountRedemption.id))) == 0


def test_cancelling_gives_the_use_back(client, driver, make_user, lot, make_discount):
    discount = make_discount(code="ONLYONE", max_uses=1, max_uses_per_user=1)
    booking = reserve(driver, lot, "ONLYONE")
    with pytest.raises(discounts.CodeRefused):
        reserve(make_user(), lot, "ONLYONE", plate="OTHER1")
    lifecycle.cancel(booking, driver)
    row, redemptions = fresh(discount)
    assert (row.uses_count, redemptions) == (0, 0)
    again = reserve(driver, lot, "ONLYONE", start_in=10)  # the same driver may use it again
    assert again.discount_id == discount.id
    assert fresh(discount)[0].uses_count == 1


def test_a_released_stay_keeps_its_use(driver, lot, make_discount):
    discount = make_discount(max_uses=3)
    booking = claims.create_booking(
        driver, BookingRequest(lot_id=lot.id, plate="PARK1", discount_code=discount.code)
    )
    lifecycle.release(booking, driver)
    assert fresh(discount)[0].uses_count == 1
    assert booking.price_cents == lifecycle.final_quote(booking).total_cents


def test_the_service_redeems_concurrently_on_any_database(app, make_user, make_lot, make_discount):
    """Threads through the service (SQLite: BEGIN IMMEDIATE; PostgreSQL: the row lock)."""
    lot = make_lot(spots={"standard": 12})
    discount = make_discount(code="FIVE", max_uses=5)
    user_ids = [make_user().id for _ in range(12)]
    barrier, outcomes = threading.Barrier(len(user_ids)), []

    def book(index, user_id):
        with app.app_context():
            try:
                barrier.wait()
                user = db.session.get(User, user_id)
                reserve(user, lot, "FIVE", plate=f"THR{index}")
                outcomes.append("booked")
            except discounts.CodeRefused as exc:
                outcomes.append(exc.code)
            except Exception as exc:  # reported by the assertion below
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=book, args=pair) for pair in enumerate(user_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["booked"] * 5 + ["exhausted"] * 7, outcomes
    row, redemptions = fresh(discount)
    assert row.uses_count == redemptions == 5
    with_code = select(func.count(Booking.id)).where(Booking.discount_id == discount.id)
    assert db.session.scalar(with_code) == 5
    assert db.session.scalar(select(func.count(Booking.id))) == 5


# --- totals never below zero ----------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, value",
    [("fixed", 10_000_000), ("percent", 100), ("free_hours", 72), ("fixed", 1), ("percent", 33)],
)
@pytest.mark.parametrize("hours", [1, 3, 30])
def test_a_discounted_total_is_never_below_zero(client, lot, make_discount, kind, value, hours):
    make_discount(code="BIG", kind=kind, value=value)
    plain = quote(client, stay(lot, hours))
    body = quote(client, stay(lot, hours, discount_code="big"))
    line = body["lines"][-1]
    assert line["label"].startswith("Code BIG") and line["amount_cents"] <= 0
    assert body["total_cents"] == max(0, plain["total_cents"] + line["amount_cents"])
    assert 0 <= body["total_cents"] <= plain["total_cents"]
    if (kind, value) in {("fixed", 10_000_000), ("percent", 100), ("free_hours", 72)}:
        assert body["total_cents"] == 0 and line["amount_cents"] == -plain["total_cents"]


def test_free_hours_take_off_the_first_hours_only(client, lot, make_discount):
    make_discount(code="TWOFREE", kind="free_hours", value=2)
    five = quote(client, stay(lot, 5, discount_code="TWOFREE"))
    three = quote(client, stay(lot, 3))
    two = quote(client, stay(lot, 2))
    assert five["lines"][-1]["amount_cents"] == -two["total_cents"]
    assert five["total_cents"] == quote(client, stay(lot, 5))["total_cents"] - two["total_cents"]
    assert three["total_cents"] > 0


# --- applying a code later (payment time, the gate) -----------------------------------------


def test_a_code_applied_to_a_booking_counts_against_its_driver(
    driver, operator, make_user, lot, make_discount
):
    discount = make_discount(code="LATE", max_uses_per_user=1)
    booking = reserve(driver, lot)
    plain = booking.quoted_cents
    with pytest.raises(NotFound):
        discounts.apply_to_booking(booking, "LATE", make_user())
    discounts.apply_to_booking(booking, "late", operator)
    assert booking.discount_id == discount.id
    assert booking.quoted_cents == plain - (plain * 10 + 50) // 100
    redemption = db.session.scalar(select(DiscountRedemption))
    assert redemption.user_id == driver.id
    with pytest.raises(Conflict) as caught:
        discounts.apply_to_booking(booking, "LATE", driver)
    assert caught.value.code == "discount_already_applied"
    with pytest.raises(discounts.CodeRefused) as refused:
        discounts.apply_to_booking(reserve(driver, lot, plate="SECOND", start_in=10), "LATE")
    assert refused.value.code == "used_up"
    assert fresh(discount)[0].uses_count == 1


def test_a_paid_booking_takes_no_code(driver, lot, make_discount):
    from parkapp.billing import bills as billing
    from parkapp.billing import payments

    make_discount(code="TOOLATE")
    booking = reserve(driver, lot)
    due = billing.bill(booking).due_cents
    payments.pay(booking, method="online", amount_cents=due, idempotency_key="k-1", payer=driver)
    with pytest.raises(Conflict) as caught:
        discounts.apply_to_booking(booking, "TOOLATE", driver)
    assert caught.value.code == "already_paid"
    assert db.session.scalar(select(func.count(DiscountRedemption.id))) == 0

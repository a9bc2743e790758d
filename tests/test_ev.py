"""EV charging: stations on ev spots, metered sessions on a stay, energy and idle fee billed
with the parking on one bill, at the gate and on the PDF receipt.

Time passes by moving a stay's start and a session's stop back in the database. The test
lots charge 2.00 GBP per started hour; the chargers here cost 0.35 GBP/kWh and 0.10 GBP per
idle minute after 5 minutes' grace.
"""

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from parkapp.billing import bills as billing
from parkapp.billing import discounts, payments, receipts
from parkapp.core.exceptions import Conflict, Invalid, WrongState
from parkapp.ev import charging as ev
from parkapp.ev import stations as ev_stations
from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.models import (
    BookingStatus,
    ChargingSession,
    ChargingStatus,
    EvStation,
    MeterReading,
    StationStatus,
    utcnow,
)

ALMOST_TWO_HOURS = timedelta(hours=2) - timedelta(minutes=1)  # billed as 2 started hours


def ev_spot(lot, n=0):
    return [spot for spot in lot.spots if spot.kind.value == "ev"][n]


def add_station(spot, **fields):
    values = {
        "spot_id": spot.id,
        "charger_type": "level2",
        "power_w": 7400,
        "connector": "type2",
        "price_per_kwh_cents": 35,
        "idle_fee_per_minute_cents": 10,
        "idle_grace_minutes": 5,
        **fields,
    }
    return ev_stations.create(ev_stations.StationInput(**values))


@pytest.fixture
def ev_lot(make_lot):
    return make_lot(spots={"ev": 2, "standard": 1})


@pytest.fixture
def station(ev_lot):
    return add_station(ev_spot(ev_lot))


def ev_stay(lot, operator, plate="EV12CAR"):
    """A gate entry of an electric car: it gets the first free ev spot."""
    booking, _ = gate.enter(lot.id, plate, operator=operator, is_ev=True)
    assert booking.spot.kind.value == "ev"
    return booking


def back_in_time(booking, delta):
    booking.starts_at -= delta
    booking.checked_in_at -= delta
    db.session.commit()


def stopped_earlier(charge, delta):
    charge.stopped_at -= delta
    db.session.commit()


def readings_of(charge):
    return db.session.scalars(
        select(MeterReading.wh)
        .where(MeterReading.session_id == charge.id)
        .order_by(MeterReading.id)
    ).all()


# --- stations ---------------------------------------------------------------------------


def test_a_station_goes_on_an_ev_spot_with_its_prices(ev_lot, station):
    assert (station.lot_id, station.spot_id) == (ev_lot.id, ev_spot(ev_lot).id)
    assert station.status == StationStatus.ACTIVE
    assert ev_stations.describe(station) == "Level 2 · 7.4 kW · Type 2"
    assert ev_stations.power_words(150_000) == "150 kW"


def test_a_station_needs_an_ev_spot_and_only_one_per_spot(ev_lot, station):
    standard = next(s for s in ev_lot.spots if s.kind.value == "standard")
    with pytest.raises(Invalid) as caught:
        add_station(standard)
    assert caught.value.field == "spot_id" and "not an ev spot" in caught.value.message
    with pytest.raises(Conflict) as taken:
        add_station(ev_spot(ev_lot))
    assert taken.value.code == "station_exists"
    assert db.session.scalar(select(func.count(EvStation.id))) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("charger_type", "level3"),
        ("connector", "usb"),
        ("power_w", 0),
        ("power_w", 2_000_000),
        ("price_per_kwh_cents", -1),
        ("idle_fee_per_minute_cents", 10_001),
        ("idle_grace_minutes", -5),
        ("power_w", True),
        ("status", "broken"),
    ],
)
def test_station_fields_are_checked(ev_lot, field, value):
    with pytest.raises(Invalid) as caught:
        add_station(ev_spot(ev_lot), **{field: value})
    assert caught.value.field == field
    assert db.session.scalar(select(func.count(EvStation.id))) == 0


def test_a_price_change_leaves_started_sessions_at_their_price(ev_lot, station, operator):
    stay = ev_stay(ev_lot, operator)
    charge = ev.start(stay, station, 0, operator)
    ev_stations.update(station, {"price_per_kwh_cents": 99, "idle_fee_per_minute_cents": 0})
    ev.stop(charge, 1000, operator)
    assert charge.energy_cents == 35
    with pytest.raises(Invalid):
        ev_stations.update(station, {"spot_id": ev_spot(ev_lot, 1).id})


def test_a_used_station_cannot_be_deleted_but_an_unused_one_can(ev_lot, station, operator):
    ev.start(ev_stay(ev_lot, operator), station, 0, operator)
    with pytest.raises(Conflict, match="out of service"):
        ev_stations.delete(station)
    spare = add_station(ev_spot(ev_lot, 1))
    ev_stations.delete(spare)
    assert db.session.scalar(select(func.count(EvStation.id))) == 1


# --- sessions ---------------------------------------------------------------------------


def test_a_session_is_started_read_and_stopped(ev_lot, station, operator):
    stay = ev_stay(ev_lot, operator)
    charge = ev.start(stay, station, 1_000_000, operator)
    assert charge.status == ChargingStatus.CHARGING and charge.energy_wh == 0
    ev.report(charge, 1_005_000, operator)
    ev.report(charge, 1_005_000, operator)  # the same value again is fine
    ev.stop(charge, 1_012_345, operator)
    assert (charge.status, charge.stop_wh, charge.energy_wh) == (
        ChargingStatus.FINISHED,
        1_012_345,
        12_345,
    )
    assert charge.stopped_at is not None
    assert readings_of(charge) == [1_000_000, 1_005_000, 1_005_000, 1_012_345]


def test_a_reading_that_goes_backwards_is_422_and_changes_nothing(ev_lot, station, operator):
    charge = ev.start(ev_stay(ev_lot, operator), station, 1_000_000, operator)
    ev.report(charge, 1_012_345, operator)
    for call, field in ((ev.report, "wh"), (ev.stop, "stop_wh")):
        with pytest.raises(Invalid) as caught:
            call(charge, 1_012_344, operator)
        assert caught.value.field == field
        assert caught.value.message == (
            "The reading 1 012 344 Wh goes backwards (last 1 012 345 Wh)."
        )
    db.session.expire_all()
    charge = db.session.get(ChargingSession, charge.id)
    assert (charge.last_wh, charge.status, charge.stop_wh) == (
        1_012_345,
        ChargingStatus.CHARGING,
        None,
    )
    assert readings_of(charge) == [1_000_000, 1_012_345]


@pytest.mark.parametrize("wh", [-1, 10**13 + 1, 1.5, "12", None, True])
def test_a_meter_value_must_be_whole_wh(ev_lot, station, operator, wh):
    stay = ev_stay(ev_lot, operator)
    with pytest.raises(Invalid) as caught:
        ev.start(stay, station, wh, operator)
    assert caught.value.field == "start_wh"
    assert db.session.scalar(select(func.count(ChargingSession.id))) == 0


def test_stopping_twice_is_409_and_changes_nothing(ev_lot, station, operator):
    charge = ev.start(ev_stay(ev_lot, operator), station, 100, operator)
    ev.stop(charge, 2100, operator)
    stopped_at = charge.stopped_at
    for call in (ev.stop, ev.report):
        with pytest.raises(WrongState) as caught:
            call(charge, 5000, operator)
        assert caught.value.code == "already_stopped"
    db.session.expire_all()
    charge = db.session.get(ChargingSession, charge.id)
    assert (charge.stop_wh, charge.last_wh, charge.stopped_at) == (2100, 2100, stopped_at)
    assert readings_of(charge) == [100, 2100]


def test_a_session_needs_a_checked_in_stay_on_the_stations_spot(ev_lot, station, operator, driver):
    other_spot_station = add_station(ev_spot(ev_lot, 1))
    stay = ev_stay(ev_lot, operator)
    with pytest.raises(Conflict) as wrong:
        ev.start(stay, other_spot_station, 0, operator)
    assert wrong.value.code == "wrong_spot"
    back_in_time(stay, timedelta(minutes=1))
    gate.leave(stay, operator=operator)  # within the grace period: nothing due
    with pytest.raises(WrongState) as ended:
        ev.start(stay, station, 0, operator)
    assert ended.value.code == "booking_not_active"
    assert db.session.scalar(select(func.count(ChargingSession.id))) == 0


def test_one_session_per_station_and_an_out_of_service_station_refuses(ev_lot, station, operator):
    stay = ev_stay(ev_lot, operator)
    ev.start(stay, station, 0, operator)
    with pytest.raises(Conflict) as again:
        ev.start(stay, station, 10, operator)
    assert again.value.code == "already_charging"
    spare = add_station(ev_spot(ev_lot, 1), status="out_of_service")
    second = ev_stay(ev_lot, operator, plate="EV2")
    with pytest.raises(WrongState) as broken:
        ev.start(second, spare, 0, operator)
    assert broken.value.code == "station_out_of_service"


def test_a_session_left_open_when_the_car_left_is_closed_by_the_next_start(make_lot, operator):
    lot = make_lot(spots={"ev": 1})
    station = add_station(ev_spot(lot))
    first = ev_stay(lot, operator)
    old = ev.start(first, station, 0, operator)
    ev.report(old, 3000, operator)
    back_in_time(first, timedelta(minutes=1))  # parking within the grace period
    with pytest.raises(Conflict, match=r"^1\.05 GBP is due"):  # 3 kWh at 0.35 GBP
        gate.leave(first, operator=operator)
    payments.pay(first, method="card", amount_cents=105, idempotency_key="p1", operator=operator)
    assert gate.leave(first, operator=operator).price_cents == 105
    with pytest.raises(WrongState) as ended:
        ev.report(old, 4000, operator)
    assert ended.value.code == "booking_not_active"

    second = ev_stay(lot, operator, plate="EV2")
    new = ev.start(second, station, 3000, operator)
    db.session.refresh(old)
    assert (old.status, old.stop_wh, old.stopped_at) == (
        ChargingStatus.FINISHED,
        3000,
        first.released_at,
    )
    assert new.status == ChargingStatus.CHARGING
    assert billing.bill(first).total_cents == 105 and billing.bill(first).due_cents == 0


# --- arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("energy_wh", "price", "cents"),
    [(0, 35, 0), (1, 35, 1), (1000, 35, 35), (12_345, 35, 433), (28_572, 35, 1001), (500, 0, 0)],
)
def test_energy_costs_the_kwh_price_per_wh_rounded_up_to_a_cent(energy_wh, price, cents):
    charge = ChargingSession(start_wh=5, last_wh=5 + energy_wh, price_per_kwh_cents=price)
    assert charge.energy_cents == cents


@pytest.mark.parametrize(
    ("idle", "grace", "minutes"),
    [
        (timedelta(minutes=4), 5, 0),
        (timedelta(minutes=5), 5, 0),
        (timedelta(minutes=5, seconds=1), 5, 1),
        (timedelta(minutes=22, seconds=30), 5, 18),
        (timedelta(minutes=17), 0, 17),
    ],
)
def test_idle_minutes_count_each_started_minute_after_the_grace(idle, grace, minutes):
    stopped = utcnow()
    charge = ChargingSession(stopped_at=stopped, idle_grace_minutes=grace)
    assert ev.idle_minutes(charge, None, stopped + idle) == minutes
    # charging again ends the idle time
    assert ev.idle_minutes(charge, stopped + timedelta(minutes=grace), stopped + idle) == 0
    assert ev.idle_minutes(ChargingSession(stopped_at=None), None, stopped + idle) == 0


def test_words_for_energy():
    assert (ev.kwh_words(12_345), ev.kwh_words(12_000), ev.kwh_words(50)) == (
        "12.345 kWh",
        "12 kWh",
        "0.05 kWh",
    )
    assert ev.wh_words(1_012_345) == "1 012 345 Wh"


# --- the bill -----------------------------------------------------------------------------

PARKING = "2 h at 2.00 GBP/h"
ENERGY = "Charging 12.345 kWh at 0.35 GBP/kWh"
IDLE = "Idle on the charger 18 min at 0.10 GBP/min"


def charged_stay(lot, station, operator):
    """Almost 2 h parked (4.00), 12.345 kWh (4.33), stopped 22.5 min ago (18 idle min, 1.80)."""
    stay = ev_stay(lot, operator)
    charge = ev.start(stay, station, 1_000_000, operator)
    ev.report(charge, 1_006_000, operator)
    ev.stop(charge, 1_012_345, operator)
    back_in_time(stay, ALMOST_TWO_HOURS)
    stopped_earlier(charge, timedelta(minutes=22, seconds=30))
    return stay


def lines_of(quote):
    return [(line.label, line.amount_cents) for line in quote.lines]


def test_one_bill_has_parking_energy_and_idle_fee(ev_lot, station, operator):
    stay = charged_stay(ev_lot, station, operator)
    bill = billing.bill(stay)
    assert lines_of(bill.quote)[-2:] == [(ENERGY, 433), (IDLE, 180)]
    assert bill.quote.lines[0].label == PARKING
    assert (bill.total_cents, bill.due_cents) == (1013, 1013)


def test_a_promo_code_preview_on_a_charged_stay_keeps_energy_and_idle_fee(
    ev_lot, station, operator
):
    stay = charged_stay(ev_lot, station, operator)
    discounts.create(discounts.DiscountInput(code="TENOFF", name="", kind="percent", value=10))
    code, preview = discounts.preview_on_booking(stay, "TENOFF")
    assert code.code == "TENOFF"
    labels = [label for label, _ in lines_of(preview)]
    assert labels[0] == PARKING and ENERGY in labels and IDLE in labels
    assert labels.index("Code TENOFF: 10% off") < labels.index(ENERGY)
    assert preview.total_cents == 400 - 40 + 433 + 180  # the code takes 10% off the parking


def test_no_idle_fee_while_charging_or_without_a_fee(ev_lot, station, operator):
    stay = ev_stay(ev_lot, operator)
    charge = ev.start(stay, station, 0, operator)
    ev.report(charge, 2000, operator)
    assert lines_of(billing.bill(stay).quote)[1:] == [("Charging 2 kWh at 0.35 GBP/kWh", 70)]
    ev_stations.update(station, {"idle_fee_per_minute_cents": 0})
    other = ev_stay(ev_lot, operator, plate="EV2")
    spare = add_station(other.spot, idle_fee_per_minute_cents=0)
    free_idle = ev.start(other, spare, 0, operator)
    ev.stop(free_idle, 1000, operator)
    stopped_earlier(free_idle, timedelta(hours=1))
    assert [label for label, _ in lines_of(billing.bill(other).quote)][1:] == [
        "Charging 1 kWh at 0.35 GBP/kWh"
    ]


def test_the_gate_asks_for_all_of_it_then_lets_the_car_out_and_the_idle_fee_stops(
    ev_lot, station, operator
):
    stay = charged_stay(ev_lot, station, operator)
    with pytest.raises(Conflict, match=r"^10\.13 GBP is due: take payment before the exit\.$"):
        gate.leave(stay, operator=operator)
    with pytest.raises(Invalid, match=r"10\.13 GBP"):
        payments.pay(stay, method="card", amount_cents=833, idempotency_key="k0", operator=operator)
    payment, left = gate.pay_and_leave(
        stay, method="card", amount_cents=1013, idempotency_key="k1", operator=operator
    )
    assert left.status == BookingStatus.COMPLETED and left.price_cents == 1013
    later = billing.bill(left, utcnow() + timedelta(hours=3))  # the car has gone: no more idle
    assert (later.total_cents, later.due_cents) == (1013, 0)
    assert lines_of(later.quote)[-2:] == [(ENERGY, 433), (IDLE, 180)]

    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(receipts.receipt_pdf(payment))).pages
    )
    for expected in (PARKING, ENERGY, IDLE, "4.33 GBP", "1.80 GBP", "10.13 GBP"):
        assert expected in text, expected


def test_demo_chargers_go_on_every_ev_spot_once(make_lot):
    from parkapp import demo

    lot = make_lot(spots={"ev": 5, "standard": 2})
    demo._ev_stations([lot])
    demo._ev_stations([lot])
    stations = db.session.scalars(select(EvStation).order_by(EvStation.id)).all()
    assert sorted(s.spot_id for s in stations) == sorted(s.id for s in lot.spots if s.kind == "ev")
    assert [s.charger_type.value for s in stations] == [
        "level2",
        "level2",
        "dc_fast",
        "level1",
        "level2",
    ]

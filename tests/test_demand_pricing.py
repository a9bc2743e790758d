"""Demand adjustments in the quote, without the database: its own line, bounded by the
lot's floor and ceiling, never negative, never cheaper for a longer stay."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from parkapp.pricing.quoting import DemandAdjustment, demand_cents
from tests.rate_tables import HOUR, Row, Table, quote, rate_tables, stays, whom

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, no DST change near
percents = st.integers(-90, 300).filter(bool)
bounds = st.none() | st.integers(0, 2_000)


class DemandTable(Table):
    """A Table with demand bounds (the pricing reads them off the lot)."""

    def __init__(self, table, floor=None, ceiling=None):
        super().__init__(**{k: getattr(table, k) for k in table.__dataclass_fields__})
        self.demand_floor_cents = floor
        self.demand_ceiling_cents = ceiling


def time_cents(result):
    return sum(ln.amount_cents for ln in result.lines if not ln.label.startswith("Demand"))


def demand_lines(result):
    return [ln for ln in result.lines if ln.label.startswith("Demand")]


def started_hours(stay):
    return -(-stay // HOUR)


def test_the_adjustment_is_its_own_line_after_the_time_lines():
    lot = DemandTable(Table(grace_minutes=0, daily_max_cents=None))
    result = quote(lot, None, None, START, START + 3 * HOUR, demand=DemandAdjustment(25, 88))
    assert [(ln.label, ln.amount_cents) for ln in result.lines] == [
        ("3 h at 2.00 GBP/h", 600),
        ("Demand +25% (lot 88% full)", 150),
    ]
    assert result.total_cents == 750


def test_a_cut_is_a_negative_line_and_rounds_half_up():
    lot = DemandTable(Table(hourly_rate_cents=201, grace_minutes=0, daily_max_cents=None))
    result = quote(lot, None, None, START, START + HOUR, demand=DemandAdjustment(-25, 30))
    assert result.lines[-1].label == "Demand -25% (lot 30% full)"
    assert result.lines[-1].amount_cents == -50  # 201 x 0.75 = 150.75 -> 151
    assert result.total_cents == 151


def test_the_ceiling_holds_a_rise_and_says_so():
    base = Table(grace_minutes=0, daily_max_cents=None, rates=[Row(1, "Peak", amount_cents=300)])
    lot = DemandTable(base, ceiling=320)
    result = quote(lot, None, None, START, START + 2 * HOUR, demand=DemandAdjustment(25, 90))
    line = result.lines[-1]
    assert line.amount_cents == 40  # 600 + 25% = 750, held to 2 h x 3.20 = 640
    assert line.label == "Demand +25% (lot 90% full), held to the ceiling of 3.20 GBP/h"


def test_the_floor_holds_a_cut_and_a_charge_under_it_is_not_raised():
    base = Table(grace_minutes=0, daily_max_cents=None)
    held = quote(
        DemandTable(base, floor=180),
        None,
        None,
        START,
        START + 2 * HOUR,
        demand=DemandAdjustment(-50, 10),
    )
    assert held.total_cents == 360 and held.lines[-1].amount_cents == -40
    cheap = replace(base, hourly_rate_cents=100)
    untouched = quote(
        DemandTable(cheap, floor=150),
        None,
        None,
        START,
        START + 2 * HOUR,
        demand=DemandAdjustment(-25, 10),
    )
    assert untouched.total_cents == 200 and not demand_lines(untouched)


def test_a_stay_within_the_grace_period_stays_free():
    lot = DemandTable(Table(grace_minutes=10))
    result = quote(
        lot, None, None, START, START + timedelta(minutes=5), demand=DemandAdjustment(300, 100)
    )
    assert result.total_cents == 0 and not demand_lines(result)


@settings(deadline=None)
@given(rate_tables(), whom, stays, percents, bounds, bounds)
def test_demand_never_makes_a_negative_line_total_or_passes_the_bounds(
    table, who, stay, percent, floor, ceiling
):
    lot, start = table
    lot = DemandTable(lot, floor, ceiling)
    plain = quote(lot, *who, start, start + stay)
    result = quote(lot, *who, start, start + stay, demand=DemandAdjustment(percent, 50))
    assert result.total_cents >= 0
    assert time_cents(result) == plain.total_cents  # the time lines are untouched
    hours = started_hours(stay)
    if result.total_cents > plain.total_cents:
        assert percent > 0
        assert ceiling is None or result.total_cents <= ceiling * hours
    if result.total_cents < plain.total_cents:
        assert percent < 0
        assert floor is None or result.total_cents >= floor * hours
    # The exact percent, unless a bound held it.
    exact = (plain.total_cents * (100 + percent) + 50) // 100
    if demand_lines(result) and "held to" not in demand_lines(result)[0].label:
        assert result.total_cents == exact


@settings(deadline=None)
@given(rate_tables(), whom, stays, stays, percents, bounds, bounds)
def test_demand_never_charges_less_for_a_longer_stay(
    table, who, stay, extra, percent, floor, ceiling
):
    lot, start = table
    lot = DemandTable(lot, floor, ceiling)
    demand = DemandAdjustment(percent, 50)
    shorter = quote(lot, *who, start, start + stay, demand=demand).total_cents
    longer = quote(lot, *who, start, start + stay + extra, demand=demand).total_cents
    assert longer >= shorter


@settings(deadline=None)
@given(rate_tables(), whom, stays, bounds, bounds)
def test_a_zero_or_missing_adjustment_adds_no_line(table, who, stay, floor, ceiling):
    lot, start = table
    lot = DemandTable(lot, floor, ceiling)
    plain = quote(lot, *who, start, start + stay)
    for demand in (None, DemandAdjustment(0, 60)):
        assert quote(lot, *who, start, start + stay, demand=demand) == plain


@given(st.integers(0, 10**7), percents, bounds, bounds, st.integers(1, 10**4))
def test_demand_cents_moves_only_the_way_of_the_percent(cents, percent, floor, ceiling, minutes):
    lot = DemandTable(Table(), floor, ceiling)
    change = demand_cents(lot, DemandAdjustment(percent), cents, timedelta(minutes=minutes))
    assert change == 0 or (change > 0) == (percent > 0)
    assert cents + change >= 0

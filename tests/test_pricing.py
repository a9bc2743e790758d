"""The pricing rules of `pricing.quote`: properties over any stay and rate table, and worked
examples of a lot's own rate (tests/test_pricing_examples.py has those of rate tables)."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parkapp.core.money import money
from parkapp.pricing.quoting import Quote, QuoteLine
from tests.rate_tables import (
    DST_ZONES,
    SECOND,
    Reference,
    Row,
    Table,
    codes,
    quote,
    rate_tables,
    stays,
    whom,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass
class RateCard:
    """The rate fields of a lot, without a database."""

    hourly_rate_cents: int = 200
    daily_max_cents: int | None = 1500
    grace_minutes: int = 10
    currency: str = "GBP"


def total(lot, duration, start=START):
    return quote(lot, None, None, start, start + duration).total_cents


rate_cards = st.builds(
    RateCard,
    hourly_rate_cents=st.integers(0, 100_000),
    daily_max_cents=st.one_of(st.none(), st.integers(0, 1_000_000)),
    grace_minutes=st.integers(0, 240),
)
# Stays from one second to 40 days, to the second, so hour and day edges get hit.
durations = st.integers(1, 40 * 24 * 3600).map(lambda s: timedelta(seconds=s))
starts = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


@given(rate_cards, durations, starts)
def test_price_is_never_negative(lot, duration, start):
    assert total(lot, duration, start) >= 0


@given(rate_cards, durations, durations)
def test_price_never_decreases_as_the_stay_grows(lot, duration, extra):
    assert total(lot, duration + extra) >= total(lot, duration)


@given(rate_cards.filter(lambda lot: lot.daily_max_cents is not None), durations)
def test_daily_maximum_caps_every_started_day(lot, duration):
    days_started = math.ceil(duration / DAY)
    assert total(lot, duration) <= days_started * lot.daily_max_cents


@given(rate_cards.filter(lambda lot: lot.grace_minutes > 0), st.data())
def test_stay_within_the_grace_period_is_free(lot, data):
    seconds = data.draw(st.integers(1, lot.grace_minutes * 60))
    assert total(lot, timedelta(seconds=seconds)) == 0


@given(
    rate_cards.map(lambda lot: RateCard(lot.hourly_rate_cents, None, lot.grace_minutes)), durations
)
def test_without_a_cap_every_started_hour_is_charged(lot, duration):
    if duration <= timedelta(minutes=lot.grace_minutes):
        return
    assert total(lot, duration) == math.ceil(duration / HOUR) * lot.hourly_rate_cents


@given(rate_cards, durations, starts, starts)
def test_price_depends_only_on_the_length_of_the_stay(lot, duration, start, other_start):
    assert total(lot, duration, start) == total(lot, duration, other_start)


@given(rate_cards, durations)
def test_lines_add_up_to_the_total(lot, duration):
    result = quote(lot, None, None, START, START + duration)
    assert result.total_cents == sum(line.amount_cents for line in result.lines)
    assert result.currency == lot.currency
    assert not result.open_ended


@given(rate_cards, starts)
def test_open_ended_stay_quotes_its_first_hour(lot, start):
    result = quote(lot, None, None, start, None)
    expected = lot.hourly_rate_cents
    if lot.daily_max_cents is not None:
        expected = min(expected, lot.daily_max_cents)
    assert result.open_ended
    assert result.total_cents == expected


@given(st.lists(st.integers(-100_000, 100_000), max_size=6))
def test_reductions_never_take_a_total_below_zero(amounts):
    result = Quote("EUR", tuple(QuoteLine(f"line {i}", a) for i, a in enumerate(amounts)))
    assert result.total_cents == max(0, sum(amounts))


def test_empty_or_backwards_stay_costs_nothing():
    lot = RateCard()
    assert quote(lot, None, None, START, START).total_cents == 0
    assert quote(lot, None, None, START, START - HOUR).total_cents == 0


# (stay, hourly rate, daily max, grace minutes, expected total in cents)
WORKED_EXAMPLES = [
    (timedelta(minutes=5), 200, 1500, 10, 0),  # inside the grace period
    (timedelta(minutes=10), 200, 1500, 10, 0),  # grace period edge is still free
    (timedelta(minutes=11), 200, 1500, 10, 200),  # one started hour
    (timedelta(minutes=1), 200, 1500, 0, 200),  # no grace: the first minute starts an hour
    (HOUR, 200, 1500, 10, 200),
    (HOUR + timedelta(seconds=1), 200, 1500, 10, 400),  # the second hour has started
    (timedelta(hours=2, minutes=30), 200, 1500, 10, 600),
    (timedelta(hours=7), 200, 1500, 10, 1400),
    (timedelta(hours=8), 200, 1500, 10, 1500),  # 1600 capped at the daily maximum
    (timedelta(hours=23, minutes=59), 200, 1500, 10, 1500),
    (DAY, 200, 1500, 10, 1500),
    (DAY + timedelta(minutes=1), 200, 1500, 10, 1700),  # a day, then a started hour
    (DAY + timedelta(hours=10), 200, 1500, 10, 3000),  # second day capped too
    (3 * DAY, 200, 1500, 10, 4500),
    (timedelta(hours=30), 350, None, 0, 10500),  # no daily maximum
    (timedelta(hours=5), 0, 1500, 0, 0),  # free lot
    (timedelta(hours=3), 1000, 500, 0, 500),  # cap below one hour's rate
]


@pytest.mark.parametrize(("stay", "rate", "daily_max", "grace", "expected"), WORKED_EXAMPLES)
def test_worked_example(stay, rate, daily_max, grace, expected):
    assert total(RateCard(rate, daily_max, grace), stay) == expected


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (1250, "USD", "12.50 USD"),
        (5, "GBP", "0.05 GBP"),
        (0, "EUR", "0.00 EUR"),
        (-250, "EUR", "-2.50 EUR"),
    ],
)
def test_money_formats_cents(cents, currency, text):
    assert money(cents, currency) == text


# -- rate tables (built by tests/rate_tables.py) ----------------------------------------------


def table_total(lot, who, start, duration, discount=None):
    return quote(lot, *who, start, start + duration, discount).total_cents


@settings(max_examples=300, deadline=None)
@given(rate_tables() | rate_tables(capped=False), whom, stays)
def test_the_fast_walk_charges_what_the_unit_by_unit_rules_charge(table, who, stay):
    lot, start = table
    result = quote(lot, *who, start, start + stay)
    assert result.total_cents == Reference(lot, *who).total(start, start + stay)
    assert sum(line.amount_cents for line in result.lines) == result.total_cents


@settings(max_examples=200, deadline=None)
@given(
    rate_tables(zones=DST_ZONES, hours=(12, 54), capped=False),
    whom,
    st.integers(6 * 3600, 60 * 3600).map(lambda s: s * SECOND),
)
def test_the_fast_walk_judges_bands_by_local_time_across_dst_changes(table, who, stay):
    lot, start = table
    assert quote(lot, *who, start, start + stay).total_cents == Reference(lot, *who).total(
        start, start + stay
    )


@settings(deadline=None)
@given(rate_tables(), whom, stays)
def test_rate_tables_never_charge_a_negative_amount(table, who, stay):
    lot, start = table
    result = quote(lot, *who, start, start + stay)
    assert result.total_cents >= 0
    assert all(line.amount_cents >= 0 for line in result.lines)


@settings(deadline=None)
@given(rate_tables(), whom, stays, stays)
def test_rate_tables_never_charge_less_for_a_longer_stay(table, who, stay, extra):
    lot, start = table
    assert table_total(lot, who, start, stay + extra) >= table_total(lot, who, start, stay)


@settings(deadline=None)
@given(rate_tables(), whom, st.integers(1, 4))
def test_each_24_hours_cost_at_most_their_daily_maximum(table, who, days):
    lot, start = table
    rules = Reference(lot, *who)
    for n in range(days):
        cap = rules.cap(start + n * DAY)
        if cap is None:
            continue
        before = table_total(lot, who, start, n * DAY) if n else 0
        assert table_total(lot, who, start, (n + 1) * DAY) - before <= cap


@settings(deadline=None)
@given(rate_tables(), whom, st.data())
def test_a_stay_within_the_grace_period_of_its_starting_rate_is_free(table, who, data):
    lot, start = table
    grace = Reference(lot, *who).grace(start)
    if grace:
        stay = timedelta(seconds=data.draw(st.integers(1, grace * 60)))
        result = quote(lot, *who, start, start + stay)
        assert result.total_cents == 0
        assert result.lines == (QuoteLine(f"Within the {grace}-minute grace period", 0),)


@settings(deadline=None)
@given(rate_tables(), whom, stays, codes)
def test_a_discount_never_raises_a_price_nor_takes_it_below_zero(table, who, stay, code):
    lot, start = table
    without = quote(lot, *who, start, start + stay)
    with_code = quote(lot, *who, start, start + stay, code)
    assert 0 <= with_code.total_cents <= without.total_cents
    assert sum(line.amount_cents for line in with_code.lines) >= 0


@settings(deadline=None)
@given(rate_tables(), whom)
def test_an_open_ended_stay_quotes_its_first_unit(table, who):
    lot, start = table
    result = quote(lot, *who, start, None)
    assert result.open_ended
    no_grace = Table(**{**vars(lot), "grace_minutes": 0})
    no_grace.rates = [Row(**{**vars(r), "grace_minutes": 0}) for r in lot.rates]
    first = Reference(no_grace, *who).total(start, start + timedelta(microseconds=1))
    assert result.total_cents == first


def test_a_month_in_quarter_hours_matches_the_unit_by_unit_reference():
    """The walk's shortcuts over a long stay agree with pricing unit by unit (speed: bench/pricing.py)."""
    night = Row(
        2, "Night", amount_cents=20, unit_minutes=15, band_starts=time(22), band_ends=time(7)
    )
    lot = Table(
        daily_max_cents=None,
        rates=[
            Row(1, "Day", amount_cents=60, unit_minutes=15),
            night,
            Row(3, "Weekend", amount_cents=40, unit_minutes=15, weekdays=0b1100000),
            Row(
                4,
                "Evening",
                kind="flat",
                amount_cents=500,
                band_starts=time(18),
                band_ends=time(22),
            ),
        ],
    )
    start = datetime(2026, 3, 20, 8, 7, tzinfo=UTC)  # across the end-of-March DST change
    result = quote(lot, None, None, start, start + 30 * DAY)
    assert result.total_cents == Reference(lot, None, None).total(start, start + 30 * DAY)

"""The pricing rules of `pricing.quote`: properties over any stay, and worked examples."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkapp.services.pricing import Quote, QuoteLine, money, quote

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

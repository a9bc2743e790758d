"""Worked examples of rate tables: a stay, a table, and the total worked out by hand.

Each is priced twice: with plain objects (the pure function) and with the rows stored
through the rates service and read back from the database.
"""

from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from parkapp.extensions import db
from parkapp.models import DiscountKind, Lot
from parkapp.pricing import quoting as pricing
from parkapp.pricing import rates
from tests.rate_tables import Code, Row, Table, quote

MON_FRI, SAT_SUN = 0b0011111, 0b1100000
DAY = {"name": "Day", "amount_cents": 300}
NIGHT = {"name": "Night", "amount_cents": 100, "band_starts": time(18), "band_ends": time(6)}


@dataclass(frozen=True)
class Example:
    """A stay in local time at the lot (or with an explicit offset) and its expected total."""

    name: str
    starts: str
    ends: str | None
    table: tuple
    expected: int
    who: tuple = (None, None)  # spot kind, vehicle type
    lot: dict = field(default_factory=dict)  # the lot's own rate: hourly 200, no cap, no grace
    timezone: str = "Europe/London"


# fmt: off
EXAMPLES = [
    # 2 h day, 12 h night (18:00-06:00), 3 h day
    Example("night band across midnight", "2026-03-02 16:00", "2026-03-03 09:00", (DAY, NIGHT), 2700),
    # the unit from 17:30 started under the day rate; the next one under the night rate
    Example("a unit is priced when it starts", "2026-03-02 17:30", "2026-03-02 19:30", (DAY, NIGHT), 400),
    # Friday 22:00-24:00 at 3.00, Saturday 00:00-03:00 at 1.50
    Example(
        "weekend band",
        "2026-03-06 22:00",
        "2026-03-07 03:00",
        (DAY, {"name": "Weekend", "amount_cents": 150, "weekdays": SAT_SUN}),
        1050,
    ),
    # 16:30 and 17:30 at the day rate, then one evening flat that covers until 23:00
    Example(
        "flat evening rate",
        "2026-03-03 16:30",
        "2026-03-03 22:30",
        (DAY, {"name": "Evening", "kind": "flat", "amount_cents": 500, "weekdays": MON_FRI,
               "band_starts": time(18), "band_ends": time(23)}),
        1100,
    ),
    # 17:00 day, the evening flat to 23:00, then 23:00 and 00:00 at the day rate
    Example(
        "after a flat evening the day rate resumes",
        "2026-03-03 17:00",
        "2026-03-04 00:30",
        (DAY, {"name": "Evening", "kind": "flat", "amount_cents": 500, "weekdays": MON_FRI,
               "band_starts": time(18), "band_ends": time(23)}),
        1400,
    ),
    # 16:00 and 17:00 by day, one night flat to 06:00, then four day hours
    Example(
        "night flat",
        "2026-03-02 16:00",
        "2026-03-03 10:00",
        (DAY, {**NIGHT, "kind": "flat", "amount_cents": 800}),
        2600,
    ),
    Example("EV spots pay their own rate", "2026-03-02 09:00", "2026-03-02 12:00",
            ({"name": "EV", "amount_cents": 350, "spot_kind": "ev"},), 1050, ("ev", "car")),
    Example("other spots pay the lot's rate", "2026-03-02 09:00", "2026-03-02 12:00",
            ({"name": "EV", "amount_cents": 350, "spot_kind": "ev"},), 600, ("standard", "car")),
    Example("motorcycles pay their own rate", "2026-03-02 09:00", "2026-03-02 13:00",
            ({"name": "Motorcycle", "amount_cents": 100, "vehicle_type": "motorcycle"},), 400,
            ("motorcycle", "motorcycle")),
    Example("cars do not", "2026-03-02 09:00", "2026-03-02 13:00",
            ({"name": "Motorcycle", "amount_cents": 100, "vehicle_type": "motorcycle"},), 800,
            ("standard", "car")),
    # a van on an EV spot: the rate naming both beats the rate naming the spot kind only
    Example(
        "the more specific rate wins",
        "2026-03-02 09:00",
        "2026-03-02 11:00",
        ({"name": "EV", "amount_cents": 350, "spot_kind": "ev"},
         {"name": "EV van", "amount_cents": 500, "spot_kind": "ev", "vehicle_type": "van"}),
        1000,
        ("ev", "van"),
    ),
    # 17:00 at the EV rate, then the night band (any spot) beats the EV base rate
    Example("a band beats a more specific base rate", "2026-03-02 17:00", "2026-03-02 20:00",
            ({"name": "EV", "amount_cents": 350, "spot_kind": "ev"}, NIGHT), 550, ("ev", None)),
    # 19:00 night, 20:00-23:00 the newer late band, 23:00 night again
    Example(
        "the newest of two bands wins",
        "2026-03-02 19:00",
        "2026-03-03 00:00",
        (NIGHT, {"name": "Late", "amount_cents": 50, "band_starts": time(20), "band_ends": time(23)}),
        350,
    ),
    # two hours on 31 March at 2.20, two on 1 April at 2.50 (local dates, BST)
    Example(
        "effective-date switch mid-stay",
        "2026-03-31 22:00",
        "2026-04-01 02:00",
        ({"name": "Winter", "amount_cents": 220, "effective_until": "2026-03-31"},
         {"name": "Spring", "amount_cents": 250, "effective_from": "2026-04-01"}),
        940,
    ),
    # three whole days at the cap, then two hours
    Example("daily cap over three days", "2026-03-02 08:00", "2026-03-05 10:00",
            ({**DAY, "daily_max_cents": 2000},), 6600),
    Example("the lot's cap when the base rate has none", "2026-03-02 08:00", "2026-03-02 18:00",
            (DAY,), 1500, lot={"daily_max_cents": 1500}),
    # 3000 by day + 1200 by night + 600 by day in the first 24 h, capped at 25.00; then 2 h
    Example("the base rate's cap covers banded hours", "2026-03-02 08:00", "2026-03-03 10:00",
            ({**DAY, "daily_max_cents": 2500}, NIGHT), 3100),
    Example("15-minute units", "2026-03-02 09:00", "2026-03-02 09:50",
            ({"name": "Short stay", "amount_cents": 60, "unit_minutes": 15},), 240),
    Example("15-minute units under a cap", "2026-03-02 09:00", "2026-03-02 14:00",
            ({"name": "Short stay", "amount_cents": 60, "unit_minutes": 15,
              "daily_max_cents": 1000},), 1000),
    Example("within the rate's grace period", "2026-03-02 09:00", "2026-03-02 09:18",
            ({**DAY, "grace_minutes": 20},), 0, lot={"grace_minutes": 10}),
    Example("just past it", "2026-03-02 09:00", "2026-03-02 09:21",
            ({**DAY, "grace_minutes": 20},), 300, lot={"grace_minutes": 10}),
    Example("the grace period of the rate at the start", "2026-03-02 23:00", "2026-03-02 23:05",
            (DAY, {**NIGHT, "grace_minutes": 0}), 100, lot={"grace_minutes": 10}),
    # 00:30 GMT to 03:30 BST is two real hours
    Example("DST spring forward: an hour is 60 real minutes", "2026-03-29 00:30",
            "2026-03-29 03:30", (), 400),
    # 20:00 and 21:00 by day; 22:00 BST to 06:00 GMT is nine real hours; 06:00 and 07:00
    Example(
        "DST fall back: the night lasts nine hours",
        "2026-10-24 20:00",
        "2026-10-25 08:00",
        (DAY, {**NIGHT, "band_starts": time(22)}),
        2100,
    ),
    # Friday's 20:00-06:00 band runs into Saturday morning ...
    Example("a weeknight band runs into Saturday", "2026-03-06 23:00", "2026-03-07 02:00",
            (DAY, {**NIGHT, "band_starts": time(20), "weekdays": MON_FRI}), 300),
    # ... and Monday's early hours belong to Sunday night, which it does not cover
    Example("but not into Monday", "2026-03-09 01:00", "2026-03-09 03:00",
            (DAY, {**NIGHT, "band_starts": time(20), "weekdays": MON_FRI}), 600),
    Example("a day ticket: flat per 24 hours", "2026-03-02 08:00", "2026-03-03 14:00",
            ({"name": "Day ticket", "kind": "flat", "amount_cents": 1200},), 2400),
    # 17:00 EST by day, then 18:00, 19:00 and 20:00 EST by night
    Example("a New York lot, stay given in UTC", "2026-03-02 22:00+00:00",
            "2026-03-03 02:00+00:00", (DAY, NIGHT), 600, timezone="America/New_York"),
    Example("an open-ended stay quotes its first unit", "2026-03-02 19:00", None,
            (DAY, NIGHT), 100),
]
# fmt: on


def at(text, zone):
    """A local time at the lot, unless the text carries its own offset."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(zone))


def rows(example):
    """The example's rates as RateInput fields (dates parsed)."""
    parsed = []
    for fields in example.table:
        values = {**fields}
        for name in ("effective_from", "effective_until"):
            if name in values:
                values[name] = datetime.fromisoformat(values[name]).date()
        parsed.append(values)
    return parsed


def plain_lot(example):
    table = [Row(id=n, **values) for n, values in enumerate(rows(example), start=1)]
    own = {"hourly_rate_cents": 200, "daily_max_cents": None, "grace_minutes": 0, **example.lot}
    return Table(**own, rates=table, timezone=example.timezone)


def price(lot, example):
    zone = example.timezone
    ends = at(example.ends, zone) if example.ends else None
    return quote(lot, *example.who, at(example.starts, zone), ends)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_worked_example(example):
    result = price(plain_lot(example), example)
    assert result.total_cents == example.expected
    assert sum(line.amount_cents for line in result.lines) == example.expected
    assert result.open_ended == (example.ends is None)


def test_every_worked_example_prices_the_same_from_the_database(make_lot):
    for example in EXAMPLES:
        own = {"hourly_rate_cents": 200, "daily_max_cents": None, "grace_minutes": 0}
        lot = make_lot(spots={"standard": 1}, timezone=example.timezone, **{**own, **example.lot})
        for values in rows(example):
            rates.create_rate(lot, rates.RateInput(**values))
        db.session.expire_all()
        stored = db.session.get(Lot, lot.id)
        assert price(stored, example).total_cents == example.expected, example.name


def lines_of(example_name):
    example = next(e for e in EXAMPLES if e.name == example_name)
    return [(ln.label, ln.amount_cents) for ln in price(plain_lot(example), example).lines]


def test_lines_group_the_charges_per_rate():
    assert lines_of("night band across midnight") == [
        ("5 h at 3.00 GBP/h (Day)", 1500),
        ("12 h at 1.00 GBP/h (Night)", 1200),
    ]
    assert lines_of("night flat") == [
        ("6 h at 3.00 GBP/h (Day)", 1800),
        ("Night flat at 8.00 GBP (18:00\u201306:00)", 800),
    ]
    assert lines_of("15-minute units") == [("4 \u00d7 15 min at 0.60 GBP (Short stay)", 240)]
    assert lines_of("a day ticket: flat per 24 hours") == [
        ("2 \u00d7 Day ticket flat at 12.00 GBP (per day)", 2400)
    ]


def test_capped_days_show_as_one_line_each_group():
    assert lines_of("daily cap over three days") == [
        ("3 days at the daily maximum (20.00 GBP a day)", 6000),
        ("2 h at 3.00 GBP/h (Day)", 600),
    ]
    assert lines_of("the grace period of the rate at the start") == [
        ("1 h at 1.00 GBP/h (Night)", 100)
    ]
    assert lines_of("within the rate's grace period") == [("Within the 20-minute grace period", 0)]


def test_free_hours_are_priced_by_the_rate_table():
    example = next(e for e in EXAMPLES if e.name == "night band across midnight")
    lot, zone = plain_lot(example), example.timezone
    starts, ends = at("2026-03-02 17:00", zone), at("2026-03-02 21:00", zone)
    result = quote(lot, None, None, starts, ends, Code(DiscountKind.FREE_HOURS, 2, "TWOFREE"))
    # 17:00 by day (3.00) and 18:00 by night (1.00) are free; 19:00 and 20:00 are paid
    assert result.lines[-1] == pricing.QuoteLine("Code TWOFREE: first 2 h free", -400)
    assert result.total_cents == 200

"""Pricing speed: how long `pricing.quote` takes on long stays over a rate table.

Pure Python, no database: the lot and its rates are unsaved model objects.

    .venv/bin/python bench/pricing.py

Prints the median and worst of repeated quotes for a lot without rates, a 30-day stay in
15-minute units over a five-row table (day, night band, weekend band, evening flat, EV),
and a 366-day stay on the same table.
"""

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from parkapp.models import Lot, Rate, RateKind, SpotKind
from parkapp.pricing.quoting import Stay, quote

RUNS = 30


def rate(rate_id, name, **fields):
    fields.setdefault("kind", RateKind.HOURLY)
    fields.setdefault("unit_minutes", 15)
    fields.setdefault("weekdays", 0b1111111)
    fields.setdefault("is_active", True)
    return Rate(id=rate_id, name=name, **fields)


def table_lot():
    lot = Lot(
        name="Bench",
        timezone="Europe/London",
        currency="GBP",
        hourly_rate_cents=300,
        daily_max_cents=2500,
        grace_minutes=10,
    )
    lot.rates = [
        rate(1, "Day", amount_cents=60),
        rate(2, "Night", amount_cents=20, band_starts=clock_time(22), band_ends=clock_time(7)),
        rate(3, "Weekend", amount_cents=40, weekdays=0b1100000),
        rate(
            4,
            "Evening",
            kind=RateKind.FLAT,
            amount_cents=500,
            band_starts=clock_time(18),
            band_ends=clock_time(22),
        ),
        rate(5, "EV", amount_cents=80, spot_kind=SpotKind.EV),
    ]
    return lot


def timed(lot, start, end):
    timings = []
    for _ in range(RUNS):
        began = time.perf_counter()
        quote(Stay(lot, start, end, spot_kind=SpotKind.STANDARD))
        timings.append(time.perf_counter() - began)
    return statistics.median(timings) * 1000, max(timings) * 1000


def main():
    start = datetime(2026, 3, 20, 8, 7, tzinfo=UTC)  # across the end-of-March DST change
    plain = Lot(
        name="Plain",
        timezone="UTC",
        currency="GBP",
        hourly_rate_cents=300,
        daily_max_cents=2500,
        grace_minutes=10,
    )
    plain.rates = []
    cases = [
        ("no rate rows, 30 days", plain, timedelta(days=30)),
        ("5-row table, 30 days in 15-min units", table_lot(), timedelta(days=30)),
        ("5-row table, 366 days in 15-min units", table_lot(), timedelta(days=366)),
    ]
    print(f"pricing.quote, {RUNS} runs each (median / worst, ms)")
    for label, lot, length in cases:
        median, worst = timed(lot, start, start + length)
        print(f"  {label:<40} {median:7.2f} / {worst:7.2f}")


if __name__ == "__main__":
    main()

"""Booking-history CSV: streamed from the database, in each lot's time zone, formula-safe."""

import csv
import os
import time
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from parkapp.extensions import db
from parkapp.models import Booking, Lot, Spot

HEADER = [
    "confirmation_code",
    "lot",
    "spot",
    "plate",
    "start",
    "end",
    "duration_minutes",
    "amount",
    "currency",
    "status",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 5000
MIN_STEP = 100  # rows between progress reports, at least (at most one report per percent)


def safe_cell(value):
    """Defuse text a spreadsheet would run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


@lru_cache(maxsize=256)
def _zone(name):
    return ZoneInfo(name)


def _local(value, zone_name):
    if value is None:
        return ""
    return value.astimezone(_zone(zone_name)).strftime("%Y-%m-%d %H:%M")


def _amount(cents):
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


def rows_query(flt_conditions):
    """The columns of the CSV as a plain select (no ORM objects), in start order."""
    return (
        select(
            Booking.confirmation_code,
            Lot.name,
            Lot.timezone,
            Spot.label,
            Booking.plate,
            Booking.starts_at,
            Booking.ends_at,
            Booking.price_cents,
            Booking.quoted_cents,
            Booking.currency,
            Booking.status,
        )
        .join(Lot, Lot.id == Booking.lot_id)
        .join(Spot, Spot.id == Booking.spot_id)
        .where(*flt_conditions)
        .order_by(Booking.starts_at, Booking.id)
    )


def count_rows(flt_conditions):
    """How many bookings the export will hold (for the progress bar)."""
    return db.session.scalar(select(func.count(Booking.id)).where(*flt_conditions))


def format_row(row):
    """One result row as CSV cells."""
    code, lot, zone, spot, plate, starts, ends, price, quoted, currency, status = row
    minutes = "" if ends is None else int((ends - starts).total_seconds() // 60)
    amount = price if price is not None else (quoted if status in ("reserved", "active") else None)
    return (
        code,
        safe_cell(lot),
        safe_cell(spot),
        safe_cell(plate),
        _local(starts, zone),
        _local(ends, zone),
        minutes,
        _amount(amount),
        currency,
        str(status),
    )


def write_csv(path, flt_conditions, progress=None, days=(None, None)):
    """Write the CSV to `path` streaming rows; call progress(done, total) about every percent.

    `days` ('YYYY-MM-DD' or None each) keeps rows whose start, in the lot's zone, falls on
    those days; the conditions should select a little more. Returns the rows written.
    """
    total = count_rows(flt_conditions)
    step = max(MIN_STEP, min(BATCH, total // 100))
    delay = _row_delay()
    seen = written = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        result = db.session.execute(rows_query(flt_conditions).execution_options(yield_per=BATCH))
        for partition in result.partitions(step):
            cells = [format_row(row) for row in partition]
            if days != (None, None):
                cells = [row for row in cells if _on_days(row[4], days)]
            writer.writerows(cells)
            written += len(cells)
            seen += len(partition)
            if delay:
                time.sleep(delay * len(partition))
            if progress:
                progress(seen, total)
    return written


def _on_days(local_start, days):
    """Whether a formatted local start ('YYYY-MM-DD HH:MM') falls within (first, last) day."""
    first, last = days
    day = local_start[:10]
    return (first is None or day >= first) and (last is None or day <= last)


def _row_delay():
    """Seconds to sleep per row, from the EXPORT_ROW_DELAY_MS test knob; 0 unless TESTING.

    The worker tests set it to slow an export enough to kill the worker in the middle.
    """
    if not current_app.testing:
        return 0
    return float(os.environ.get("EXPORT_ROW_DELAY_MS") or 0) / 1000


def month_bounds(month):
    """(start, end) aware UTC datetimes of a 'YYYY-MM' month."""
    from datetime import UTC

    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end

"""Booking-history CSV: streamed from the database, in each lot's time zone, formula-safe.

On PostgreSQL the database writes the CSV itself (COPY ... TO STDOUT): it formats the times
in each lot's zone, the duration, the amount and the formula guard, and the rows go
straight to the file. Elsewhere (SQLite) Python formats rows streamed with yield_per.
"""

import csv
import os
import time
from datetime import date, datetime

from flask import current_app
from sqlalchemy import (
    Date,
    Integer,
    String,
    case,
    cast,
    event,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from parkapp.core import money
from parkapp.core.csv import FORMULA_START, safe_cell
from parkapp.core.timezones import local_text
from parkapp.extensions import db
from parkapp.models import HOLDING, Booking, Lot, Spot

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
BATCH = 5000
MIN_STEP = 100  # rows between progress reports, at least (at most one report per percent)


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
        local_text(starts, zone),
        local_text(ends, zone),
        minutes,
        money.amount(amount),
        currency,
        str(status),
    )


def write_csv(path, flt_conditions, progress=None, days=(None, None)):
    """Write the CSV to `path` streaming rows; call progress(done, total) about every percent.

    `days` ('YYYY-MM-DD' or None each) keeps rows whose start, in the lot's zone, falls on
    those days; the conditions should select a little more. Returns the rows written.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return _copy_csv(path, flt_conditions, progress, days)
    total = count_rows(flt_conditions)
    step = _step(total)
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


def _step(total):
    return max(MIN_STEP, min(BATCH, total // 100))


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


# -- PostgreSQL: COPY (SELECT ...) TO STDOUT ----------------------------------------------------

COPY_SINK = "parkapp_copy_sink"  # execution option: the object COPY writes the rows to


class CopyCsv(Executable, ClauseElement):
    """COPY (<select>) TO STDOUT as CSV with a header row; run with the COPY_SINK option."""

    inherit_cache = False  # one statement per export: nothing worth caching

    def __init__(self, query):
        self.query = query


@compiles(CopyCsv, "postgresql")
def _compile_copy(element, compiler, **kw):
    return f"COPY ({compiler.process(element.query, **kw)}) TO STDOUT WITH (FORMAT csv, HEADER)"


def _copy_out(cursor, statement, parameters, context):
    """Dialect do_execute hook: run a CopyCsv with psycopg2's copy_expert.

    Going through Connection.execute keeps SQLAlchemy's part: statement events and logging,
    and a lost connection raised as sqlalchemy's OperationalError (which the task retries).
    """
    sink = context.execution_options.get(COPY_SINK)
    if sink is None:
        return False
    cursor.copy_expert(cursor.mogrify(statement, parameters), sink)
    return True


def _guarded(column):
    """safe_cell in SQL: prefix a quote when the text starts like a formula."""
    starts = [ord(c) for c in FORMULA_START]
    return case((func.ascii(column).in_(starts), literal("'") + column), else_=column)


def _local_sql(column):
    """_local in SQL: the instant in the lot's zone as 'YYYY-MM-DD HH:MM' (NULL stays NULL).

    The local timestamp's text cut to 16 characters: psycopg2 keeps DateStyle ISO on every
    connection ('YYYY-MM-DD HH:MM:SS[.ffffff]'), and this is a good deal cheaper than to_char.
    """
    return cast(func.timezone(Lot.timezone, column), String(16))


def copy_query(flt_conditions, days=(None, None)):
    """The CSV's cells computed by PostgreSQL, named as in HEADER, in start order."""
    amount = func.coalesce(
        Booking.price_cents, case((Booking.status.in_(HOLDING), Booking.quoted_cents))
    )
    minutes = func.floor(func.date_part("epoch", Booking.ends_at - Booking.starts_at) / 60)
    cells = [
        Booking.confirmation_code,
        _guarded(Lot.name),
        _guarded(Spot.label),
        _guarded(Booking.plate),
        _local_sql(Booking.starts_at),
        _local_sql(Booking.ends_at),
        cast(minutes, Integer),
        amount * literal_column("0.01"),  # integer times numeric 0.01: exactly two decimals
        Booking.currency,
        Booking.status,
    ]
    return (
        select(*(cell.label(name) for cell, name in zip(cells, HEADER, strict=True)))
        .join(Lot, Lot.id == Booking.lot_id)
        .join(Spot, Spot.id == Booking.spot_id)
        .where(*flt_conditions, *_day_conditions(days))
        .order_by(Booking.starts_at, Booking.id)
    )


def _day_conditions(days):
    """_on_days in SQL: the start's day in the lot's zone within (first, last)."""
    day = cast(func.timezone(Lot.timezone, Booking.starts_at), Date)
    first, last = days
    return [
        *([day >= date.fromisoformat(first)] if first else []),
        *([day <= date.fromisoformat(last)] if last else []),
    ]


class _CopySink:
    """The file COPY writes to: libpq hands over one row per write() call, the header first.

    It counts rows for the progress callback and ends lines with CRLF as csv.writer does
    on SQLite, so both databases give the same bytes.
    """

    def __init__(self, handle, total, progress, encoding):
        self.put = handle.write
        self.total = total
        self.progress = progress or (lambda done, total: None)
        self.step = _step(total)
        self.next_report = self.step
        self.rows = -1  # the header is not a row
        self.delay = _row_delay()
        self.codec = None if encoding == "UTF8" else _python_codec(encoding)
        if self.delay or self.codec:
            self.write = self._write_slowly  # the common case keeps the lean method

    def write(self, data):
        self.put(data[:-1] + b"\r\n")
        self.rows += 1
        if self.rows >= self.next_report:
            self.next_report += self.step
            self.progress(self.rows, self.total)

    def _write_slowly(self, data):
        if self.codec:  # a database in another encoding: the file is UTF-8 all the same
            data = data.decode(self.codec).encode("utf-8")
        if self.delay:
            time.sleep(self.delay)
        type(self).write(self, data)


def _python_codec(pg_encoding):
    from psycopg2.extensions import encodings

    return encodings[pg_encoding]


def _copy_csv(path, flt_conditions, progress, days):
    """PostgreSQL: COPY the formatted rows into the file; return the rows written."""
    conn = db.session.connection()
    if not event.contains(conn.engine, "do_execute", _copy_out):
        event.listen(conn.engine, "do_execute", _copy_out)
    if days == (None, None):
        total = count_rows(flt_conditions)
    else:  # count what the day filter keeps, for an honest progress bar
        total = conn.scalar(
            select(func.count(Booking.id))
            .join(Lot, Lot.id == Booking.lot_id)
            .where(*flt_conditions, *_day_conditions(days))
        )
    encoding = conn.connection.dbapi_connection.encoding  # what COPY's bytes are in
    with open(path, "wb") as handle:
        sink = _CopySink(handle, total, progress, encoding)
        conn.execute(CopyCsv(copy_query(flt_conditions, days)), execution_options={COPY_SINK: sink})
    return sink.rows

"""SQL building blocks of the analytics charts that differ between PostgreSQL and SQLite.

Times are grouped by local hour or day in SQL on PostgreSQL (`timezone(zone, t)`); SQLite
knows no time zones, so it groups by UTC quarter hour in SQL and Python folds those few
aggregated rows into local hours or days (exact for every zone whose offset is a multiple
of 15 minutes, which is all of them today).
"""

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import Float, Integer, cast, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from parkapp.core.timezones import zone as zone_named
from parkapp.extensions import db

QUARTER = 900  # seconds


class epoch(FunctionElement):
    """Seconds since 1970 of a timestamp column (float)."""

    type = Float()
    name = "epoch"
    inherit_cache = True


@compiles(epoch)
def _epoch_pg(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # UTCDateTime stores naive UTC text on SQLite; julianday keeps the microseconds.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


class greatest(FunctionElement):
    type = Float()
    name = "greatest"
    inherit_cache = True


class least(FunctionElement):
    type = Float()
    name = "least"
    inherit_cache = True


@compiles(greatest)
def _greatest(element, compiler, **kw):
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    return f"MAX({compiler.process(element.clauses, **kw)})"


@compiles(least)
def _least(element, compiler, **kw):
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element, compiler, **kw):
    return f"MIN({compiler.process(element.clauses, **kw)})"


def is_postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def local_bucket(column, zone, grain):
    """What to GROUP BY so rows can be folded into local `grain` ('hour' or 'day') buckets.

    `zone` is a zone name, or a column holding one (such as `Lot.timezone`).
    """
    if is_postgresql():
        return func.date_trunc(grain, func.timezone(zone, column))
    # Whole seconds (julianday's float would put 10:00:00 at 09:59:59.99999).
    return cast(func.strftime("%s", column), Integer) / QUARTER


def to_local(key, zone_name, grain):
    """A local_bucket value as the naive local datetime of its hour or day."""
    if isinstance(key, datetime):  # PostgreSQL: already local and truncated
        local = key
    else:
        instant = datetime.fromtimestamp(int(key) * QUARTER, UTC)
        local = instant.astimezone(zone_named(zone_name)).replace(tzinfo=None)
    local = local.replace(minute=0, second=0, microsecond=0)
    return local.replace(hour=0) if grain == "day" else local


def grouped(values, time_column, zone, grain, where, extra=(), joins=()):
    """{(local datetime, *extra): [sum of each value]} over the rows matching `where`.

    `values` are SQL aggregates (sums or counts) that add up across buckets. `zone` is a
    zone name, or a column holding each row's zone (its table among `joins`).
    """
    bucket = local_bucket(time_column, zone, grain).label("bucket")
    # SQLite folds each row in Python, so it needs the row's zone beside its bucket.
    zones = () if isinstance(zone, str) or is_postgresql() else (zone,)
    query = select(bucket, *extra, *zones, *values)
    for target, onclause in joins:
        query = query.join(target, onclause)
    # By position: PostgreSQL would not match the bound zone parameter of two copies.
    keys = 1 + len(extra) + len(zones)
    query = query.where(*where).group_by(*(literal_column(str(i + 1)) for i in range(keys)))
    folded = defaultdict(lambda: [0] * len(values))
    for row in db.session.execute(query):
        zone_name = row[keys - 1] if zones else zone
        key = (to_local(row[0], zone_name, grain), *row[1 : 1 + len(extra)])
        sums = folded[key]
        for i, value in enumerate(row[keys:]):
            sums[i] += value or 0
    return folded

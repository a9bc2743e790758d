"""Daily rollups behind the analytics charts, and the queue of days to roll up again.

One row per lot and local day (the lot's own time zone) holds what the charts add up, so a
year of 50 lots is about 18,000 rows however many bookings it had. They are derived data:
`services/analytics_rollups.py` keeps them in step with bookings and payments and can
rebuild them from scratch. Written and read with set-based statements, so plain tables.
"""

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Integer, String

from parkapp.extensions import db

HOURS = range(24)


def arrivals_column(hour):
    return f"arrivals_{hour:02d}"


def _lot_id():
    return Column("lot_id", Integer, ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True)


def _count(name, kind=Integer):
    return Column(name, kind, nullable=False, default=0, server_default="0")


# Bookings by the local day they start, and arrivals (check-in, else start) by local day and
# hour: one column an hour keeps the peak-hours grid to one row per lot and day.
lot_days = db.Table(
    "analytics_lot_days",
    _lot_id(),
    Column("day", Date, primary_key=True),
    _count("bookings"),
    _count("cancelled"),
    _count("no_shows"),
    _count("completed"),
    _count("stay_seconds", BigInteger),  # of the completed stays
    *(_count(arrivals_column(hour)) for hour in HOURS),
)

# Payments taken (paid or refunded) by the local day they were paid, per currency.
lot_day_revenue = db.Table(
    "analytics_lot_day_revenue",
    _lot_id(),
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    _count("payments"),
    _count("paid_cents", BigInteger),
    _count("refunded_cents", BigInteger),
)

# Lots and UTC days whose rollups are out of date: appended in the same transaction as the
# change (never updated, so concurrent bookings do not wait on each other here) and taken
# off by `analytics_rollups.refresh`.
pending_days = db.Table(
    "analytics_pending_days",
    Column("id", Integer, primary_key=True),
    Column("lot_id", Integer, ForeignKey("lots.id", ondelete="CASCADE"), nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
)

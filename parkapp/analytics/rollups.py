"""Keeping the analytics rollups (`models/analytics.py`) in step with bookings and payments.

Every flush that changes a booking or a payment in a way the charts count appends the lot
and the UTC days it touched to `analytics_pending_days`, in the same transaction, so a
rolled-back change marks nothing and a committed one is never missed. `refresh` takes the
marks off and rolls those days up again from bookings and payments; the charts call it
before they read and the worker calls it every minute, so the charts are never stale.
A bulk statement on bookings or payments marks every lot and day unless it says, with the
execution option `analytics_marked`, that it marked what it changed (`mark`).
"""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, delete, event, func, insert, inspect, literal, or_, select
from sqlalchemy.orm import Session

from parkapp.analytics.filters import day_bounds
from parkapp.analytics.sql import epoch, grouped, is_postgresql
from parkapp.core import hooks
from parkapp.core.timezones import zone as zone_named
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Lot, Payment, PaymentStatus
from parkapp.models.analytics import (
    arrivals_column,
    lot_day_revenue,
    lot_days,
    pending_days,
)

ARRIVED = (BookingStatus.ACTIVE, BookingStatus.COMPLETED)
TAKEN = (PaymentStatus.PAID, PaymentStatus.REFUNDED)
EVERY_DAY = (date(1970, 1, 2), date(8999, 12, 30))  # UTC days: a whole lot's history
LOCK_KEY = 0x70A4  # PostgreSQL advisory lock: one refresh at a time
# What each chart counts: a change to anything else (a plate, a price) marks nothing.
COUNTED = {
    Booking: ("lot_id", "status", "starts_at", "ends_at", "checked_in_at"),
    Payment: ("booking_id", "status", "amount_cents", "refunded_cents", "currency", "paid_at"),
}
DAYS_OF = {Booking: ("starts_at", "checked_in_at"), Payment: ("paid_at",)}
MARKED = "analytics_marked"


# -- marking changed days ---------------------------------------------------------------------


def _utc_day(value):
    return value.astimezone(UTC).date()


def _values(obj, attr):
    """The attribute's value now and any value it replaced in this flush."""
    replaced = inspect(obj).attrs[attr].history.deleted
    return [v for v in (getattr(obj, attr), *replaced) if v is not None]


def _lot_ids(session, obj):
    """The lots an object counts at (its booking's, for a payment), before and after."""
    if isinstance(obj, Payment):
        # by id, or through the relationship when the booking is new in this flush
        bookings = [session.get(Booking, i) for i in _values(obj, "booking_id")] or [obj.booking]
        return {i for b in bookings if b is not None for i in _lot_ids(session, b)}
    ids = set(_values(obj, "lot_id"))
    return ids or ({obj.lot.id} if obj.lot is not None else set())


def _changed(obj, state):
    return state in ("new", "deleted") or any(
        inspect(obj).attrs[attr].history.has_changes() for attr in COUNTED[type(obj)]
    )


def _before_flush(session, _context, _instances):
    marks = {}
    changes = (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted))
    for state, objects in changes:
        for obj in objects:
            if isinstance(obj, Lot) and state == "dirty":
                if inspect(obj).attrs.timezone.history.has_changes():
                    marks[obj.id] = EVERY_DAY  # every local day of the lot moves
                continue
            if type(obj) not in COUNTED or not _changed(obj, state):
                continue
            days = [_utc_day(v) for attr in DAYS_OF[type(obj)] for v in _values(obj, attr)]
            for lot_id in _lot_ids(session, obj) if days else ():
                _widen(marks, lot_id, days)
    mark(session, marks.items())


def _widen(spans, lot_id, days):
    first, last = spans.get(lot_id, (min(days), max(days)))
    spans[lot_id] = (min(first, *days), max(last, *days))


def _on_orm_execute(state):
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    tables = (Booking.__table__.name, Payment.__table__.name)
    if getattr(table, "name", None) in tables and not state.execution_options.get(
        hooks.ROWS_ANNOUNCED
    ):
        mark_everything(state.session)  # a bulk statement whose rows we cannot name


def _forget_marks(session, transaction):
    # A savepoint rolled back takes its marks with it: after a savepoint or the transaction
    # ends, mark again (a flush's own inner transaction ending is neither).
    if transaction.parent is None or transaction.nested:
        session.info.pop(MARKED, None)


def listen():
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _on_orm_execute)
        event.listen(Session, "after_transaction_end", _forget_marks)
    hooks.bulk_booking_change.connect(_on_bulk_booking_change, weak=False)


def _on_bulk_booking_change(_sender, session, rows):
    mark_instants(session, rows)


def mark(session, spans):
    """Note (lot_id, (first UTC day, last UTC day)) spans as out of date, in this transaction.

    Spans already marked in this transaction are not marked twice (a booking flushes more
    than once before it commits).
    """
    done = session.info.setdefault(MARKED, set())
    rows = []
    for lot_id, (first, last) in spans:
        if not any(i == lot_id and low <= first and last <= high for i, low, high in done):
            rows.append({"lot_id": lot_id, "first_day": first, "last_day": last})
            done.add((lot_id, first, last))
    if rows:
        session.connection().execute(insert(pending_days), rows)


def mark_instants(session, lot_instants):
    """`mark` for (lot_id, instant) pairs, e.g. the rows a bulk UPDATE returned."""
    spans = {}
    for lot_id, instant in lot_instants:
        _widen(spans, lot_id, [_utc_day(instant)])
    mark(session, spans.items())


def mark_everything(session):
    """Mark every day of every lot (a full rebuild at the next refresh)."""
    first, last = EVERY_DAY
    session.connection().execute(
        insert(pending_days).from_select(
            ["lot_id", "first_day", "last_day"], select(Lot.id, literal(first), literal(last))
        )
    )


# -- rolling up --------------------------------------------------------------------------------


def refresh():
    """Roll up again what was marked; the number of lots rolled up (0 when nothing was)."""
    if db.session.scalar(select(pending_days.c.id).limit(1)) is None:
        return 0
    with write_transaction() as session:
        if is_postgresql():
            session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
        taken = session.execute(
            delete(pending_days).returning(
                pending_days.c.lot_id, pending_days.c.first_day, pending_days.c.last_day
            )
        ).all()
        # Two passes of grouped queries: lots whose whole history was marked (a rebuild, a
        # zone change), then the others over the span of days their changes touched.
        whole = {lot_id for lot_id, first, last in taken if (first, last) == EVERY_DAY}
        recent = [(lot_id, first, last) for lot_id, first, last in taken if lot_id not in whole]
        if whole:
            roll_up(_lots(session, whole), *EVERY_DAY)
        if recent:
            span = min(first for _i, first, _l in recent), max(last for _i, _f, last in recent)
            roll_up(_lots(session, {lot_id for lot_id, _f, _l in recent}), *span)
    return len(whole) + len({lot_id for lot_id, _f, _l in recent})


def _lots(session, lot_ids):
    return session.scalars(select(Lot).where(Lot.id.in_(lot_ids))).all()


def rebuild():
    """Roll up every lot's whole history again (after importing data with plain SQL)."""
    with write_transaction() as session:
        mark_everything(session)
    return refresh()


def _local_days(zone, first, last):
    """The lot's local days that overlap the UTC days first..last."""
    start = datetime.combine(first, time.min, tzinfo=UTC).astimezone(zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC).astimezone(zone)
    return start.date(), (end - timedelta(microseconds=1)).date()


def roll_up(lots, utc_first, utc_last):
    """Replace the lots' rollup rows for their local days that overlap the UTC days given."""
    days = {lot.id: _local_days(zone_named(lot.timezone), utc_first, utc_last) for lot in lots}
    bounds = [day_bounds(zone_named(lot.timezone), *days[lot.id]) for lot in lots]
    start, end = min(low for low, _high in bounds), max(high for _low, high in bounds)

    def inside(lot_id, local):  # rows of days partly outside the lot's range are partial
        first, last = days[lot_id]
        return first <= local <= last

    counts = {key: sums for key, sums in _stays(days, start, end).items() if inside(*key)}
    for (lot_id, local, hour), count in _arrivals(days, start, end).items():
        if inside(lot_id, local):
            counts.setdefault((lot_id, local), {})[arrivals_column(hour)] = count
    revenue = [row for row in _revenue(days, start, end) if inside(row["lot_id"], row["day"])]
    for lot_id, (first, last) in days.items():
        for table in (lot_days, lot_day_revenue):
            db.session.execute(
                delete(table).where(table.c.lot_id == lot_id, table.c.day.between(first, last))
            )
    if counts:
        rows = [{"lot_id": lot_id, "day": day, **sums} for (lot_id, day), sums in counts.items()]
        db.session.execute(insert(lot_days), [_with_zeros(row) for row in rows])
    if revenue:
        db.session.execute(insert(lot_day_revenue), revenue)


def _with_zeros(row):
    return {column.name: row.get(column.name, 0) for column in lot_days.columns}


LOT_ZONE = ((Lot, Lot.id == Booking.lot_id),)


def _stays(days, start, end):
    """{(lot_id, local day): bookings by status, completed stay seconds} by the day they start."""
    length = epoch(Booking.ends_at) - epoch(Booking.starts_at)
    sums = grouped(
        (func.count(), func.sum(length)),  # count(*): the covering index is enough
        Booking.starts_at,
        Lot.timezone,
        "day",
        [Booking.lot_id.in_(days), Booking.starts_at >= start, Booking.starts_at < end],
        extra=(Booking.lot_id, Booking.status),
        joins=LOT_ZONE,
    )
    found = {}
    for (local, lot_id, status), (count, seconds) in sums.items():
        day = found.setdefault((lot_id, local.date()), {"bookings": 0})
        day["bookings"] += count
        status = BookingStatus(status)
        if status == BookingStatus.CANCELLED:
            day["cancelled"] = count
        elif status == BookingStatus.NO_SHOW:
            day["no_shows"] = count
        elif status == BookingStatus.COMPLETED:
            day["completed"] = count
            day["stay_seconds"] = round(seconds)
    return found


def _arrivals(days, start, end):
    """{(lot_id, local day, hour): arrivals} by check-in time, else start."""
    arrival = func.coalesce(Booking.checked_in_at, Booking.starts_at)
    in_range = or_(
        and_(Booking.checked_in_at >= start, Booking.checked_in_at < end),
        and_(Booking.checked_in_at.is_(None), Booking.starts_at >= start, Booking.starts_at < end),
    )
    sums = grouped(
        (func.count(),),
        arrival,
        Lot.timezone,
        "hour",
        [Booking.lot_id.in_(days), Booking.status.in_(ARRIVED), in_range],
        extra=(Booking.lot_id,),
        joins=LOT_ZONE,
    )
    return {(lot_id, local.date(), local.hour): n for (local, lot_id), (n,) in sums.items()}


def _revenue(days, start, end):
    """Rollup rows of payments taken, by lot, local day of payment and currency."""
    sums = grouped(
        (func.count(), func.sum(Payment.amount_cents), func.sum(Payment.refunded_cents)),
        Payment.paid_at,
        Lot.timezone,
        "day",
        [
            Booking.lot_id.in_(days),
            Payment.status.in_(TAKEN),
            Payment.paid_at >= start,
            Payment.paid_at < end,
        ],
        extra=(Booking.lot_id, Payment.currency),
        joins=((Booking, Booking.id == Payment.booking_id), *LOT_ZONE),
    )
    return [
        {
            "lot_id": lot_id,
            "day": local.date(),
            "currency": currency,
            "payments": count,
            "paid_cents": paid,
            "refunded_cents": refunded,
        }
        for (local, lot_id, currency), (count, paid, refunded) in sums.items()
    ]

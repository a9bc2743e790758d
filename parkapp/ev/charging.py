"""Charging sessions: started and stopped against a stay, metered in Wh, billed with it.

The charger reports meter values in Wh (start, readings, stop); a value below the last one
is refused and nothing changes. Energy costs the kWh price per Wh, rounded up to a whole
cent. Once charging stops, the station's idle fee runs per started minute, after its grace
minutes, until the car leaves (the stay is released), or until the stay is billed.

A stay released while still charging is billed to its last reading; the session is closed
when the next stay starts charging at that station. Prices are the station's at the start.
"""

from datetime import timedelta

from sqlalchemy import inspect, or_, select
from sqlalchemy.exc import IntegrityError

from parkapp.core.exceptions import Conflict, Forbidden, Invalid, NotFound, WrongState
from parkapp.core.money import money
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import (
    Booking,
    BookingStatus,
    ChargingSession,
    ChargingStatus,
    MeterReading,
    StationStatus,
    utcnow,
)
from parkapp.pricing.quoting import QuoteLine

MAX_WH = 10**13  # a meter far beyond any charger's lifetime
MINUTE = timedelta(minutes=1)


def wh_words(wh):
    """Wh for people: 12345 -> "12 345 Wh"."""
    return f"{wh:,} Wh".replace(",", " ")


def kwh_words(wh):
    """Wh as kWh, exact: 12345 -> "12.345 kWh", 12000 -> "12 kWh"."""
    kwh, rest = divmod(wh, 1000)
    return f"{kwh} kWh" if not rest else f"{kwh}.{rest:03d}".rstrip("0") + " kWh"


def _meter(field, wh):
    if not isinstance(wh, int) or isinstance(wh, bool) or not 0 <= wh <= MAX_WH:
        raise Invalid(field, f"Give the meter reading in Wh, a whole number from 0 to {MAX_WH}.")
    return wh


# --- who may see and act --------------------------------------------------------------


def get(session_id, user):
    """A charging session the user may see (its driver, or staff), else NotFound."""
    charge = db.session.get(ChargingSession, session_id)
    if charge is None or not (user.is_operator or charge.booking.is_owner(user)):
        raise NotFound("No such charging session.")
    return charge


def list_query(user, booking_id=None, status=None):
    """Sessions the user may see (staff: all; drivers: their own), newest first."""
    query = select(ChargingSession).order_by(ChargingSession.id.desc())
    if not user.is_operator:
        query = query.join(Booking).where(Booking.user_id == user.id)
    if booking_id is not None:
        query = query.where(ChargingSession.booking_id == booking_id)
    if status is not None:
        query = query.where(ChargingSession.status == status)
    return query


def sessions_of(booking):
    """A booking's charging sessions, oldest first."""
    if "charging_sessions" in inspect(booking).dict:  # loaded with the booking (or none)
        return list(booking.charging_sessions)
    return db.session.scalars(
        select(ChargingSession)
        .where(ChargingSession.booking_id == booking.id)
        .order_by(ChargingSession.started_at, ChargingSession.id)
    ).all()


def _staff(user):
    if not user.is_operator:
        raise Forbidden("Only gate staff and the charger report meter readings.")


def _staff_or_owner(user, booking):
    """Gate staff, or the driver of the stay (another driver's stay is not found)."""
    if not (user.is_operator or booking.is_owner(user)):
        raise NotFound("No such booking.")


# --- start, readings, stop ------------------------------------------------------------


def start(booking, station, start_wh, by):
    """Start charging the stay's vehicle at the station on its spot, from meter `start_wh`.

    409 unless the booking is active (checked in) on the station's spot, the station is in
    service and free; a session left open by a stay that has ended is closed first. Staff
    or the stay's driver start it (the caller decides where `start_wh` comes from).
    """
    _staff_or_owner(by, booking)
    start_wh = _meter("start_wh", start_wh)
    now = utcnow()
    try:
        with write_transaction() as session:
            session.refresh(booking, with_for_update=True)
            _check_can_start(booking, station)
            _close_stale(station)
            busy = session.scalar(
                select(ChargingSession).where(
                    or_(
                        ChargingSession.station_id == station.id,
                        ChargingSession.booking_id == booking.id,
                    ),
                    ChargingSession.status == ChargingStatus.CHARGING,
                )
            )
            if busy is not None:
                raise _busy(busy, booking)
            charge = ChargingSession(
                station_id=station.id,
                booking_id=booking.id,
                started_by_id=by.id,
                status=ChargingStatus.CHARGING,
                price_per_kwh_cents=station.price_per_kwh_cents,
                idle_fee_per_minute_cents=station.idle_fee_per_minute_cents,
                idle_grace_minutes=station.idle_grace_minutes,
                started_at=now,
                start_wh=start_wh,
                last_wh=start_wh,
                last_reading_at=now,
            )
            charge.readings.append(MeterReading(wh=start_wh, read_at=now))
            session.add(charge)
    except IntegrityError:  # a concurrent start won the partial unique index
        raise Conflict(
            "The charger is already charging.", code="charger_busy", errors={"station_id": []}
        ) from None
    return charge


def _check_can_start(booking, station):
    if booking.status != BookingStatus.ACTIVE:
        raise WrongState(
            f"This booking is {booking.status.value}; charge only a stay that is checked in.",
            code="booking_not_active",
            errors={"booking_id": ["The stay is not checked in."]},
        )
    if booking.spot_id != station.spot_id:
        raise Conflict(
            f"The stay is on spot {booking.spot.label}, not on this charger's spot "
            f"{station.spot.label}.",
            code="wrong_spot",
            errors={"station_id": ["Not the charger on the stay's spot."]},
        )
    if station.status != StationStatus.ACTIVE:
        raise WrongState(
            "This charger is out of service.",
            code="station_out_of_service",
            errors={"station_id": ["Out of service."]},
        )


def _close_stale(station):
    """Finish a session still open on the station whose stay has ended (the car left)."""
    stale = db.session.scalars(
        select(ChargingSession)
        .join(Booking)
        .where(
            ChargingSession.station_id == station.id,
            ChargingSession.status == ChargingStatus.CHARGING,
            Booking.status != BookingStatus.ACTIVE,
        )
    ).all()
    for charge in stale:
        charge.status = ChargingStatus.FINISHED
        charge.stop_wh = charge.last_wh
        charge.stopped_at = charge.booking.released_at or charge.last_reading_at
    db.session.flush()


def _busy(busy, booking):
    if busy.booking_id == booking.id:
        return Conflict(
            "This stay is already charging.",
            code="already_charging",
            errors={"booking_id": ["Already charging."]},
        )
    return Conflict(
        "The charger is already charging another stay.",
        code="charger_busy",
        errors={"station_id": ["The charger is busy."]},
    )


def report(charge, wh, by, field="wh"):
    """Record a meter reading; 422 when it goes backwards, 409 once the session stopped."""
    _staff(by)
    return record(charge, wh, field)


def record(charge, wh, field="wh"):
    """Record a reading from an authorised source (staff, or the station's own key)."""
    wh = _meter(field, wh)
    with write_transaction() as session:
        _lock(session, charge)
        _check_open(charge)
        _check_forward(charge, wh, field)
        now = utcnow()
        charge.last_wh, charge.last_reading_at = wh, now
        charge.readings.append(MeterReading(wh=wh, read_at=now))
    return charge


def stop(charge, stop_wh, by):
    """Stop charging at meter `stop_wh`; the idle fee runs from now. 409 if stopped already.

    Staff or the stay's driver stop it; `stop_wh=None` stops at the last reading (a driver
    never gives meter values: they come from the charger).
    """
    _staff_or_owner(by, charge.booking)
    if stop_wh is not None and not by.is_operator:
        raise Forbidden("Meter readings come from the charger; stop without one.")
    if stop_wh is not None:
        stop_wh = _meter("stop_wh", stop_wh)
    with write_transaction() as session:
        _lock(session, charge)
        _check_open(charge)
        stop_wh = charge.last_wh if stop_wh is None else stop_wh
        _check_forward(charge, stop_wh, "stop_wh")
        now = utcnow()
        charge.last_wh, charge.last_reading_at = stop_wh, now
        charge.stop_wh, charge.stopped_at = stop_wh, now
        charge.status = ChargingStatus.FINISHED
        charge.readings.append(MeterReading(wh=stop_wh, read_at=now))
    return charge


def _lock(session, charge):
    """Lock the stay, then the session: a release waits, and never misses a last reading."""
    session.refresh(charge.booking, with_for_update=True)
    session.refresh(charge, with_for_update=True)


def _check_open(charge):
    if charge.status != ChargingStatus.CHARGING:
        raise WrongState(
            "This charging session is stopped already.",
            code="already_stopped",
        )
    if charge.booking.status != BookingStatus.ACTIVE:
        raise WrongState(
            f"The stay is {charge.booking.status.value}; its charging can no longer change.",
            code="booking_not_active",
        )


def _check_forward(charge, wh, field):
    if wh < charge.last_wh:
        raise Invalid(
            field,
            f"The reading goes backwards (last {wh_words(charge.last_wh)}).",
            f"The reading {wh_words(wh)} goes backwards (last {wh_words(charge.last_wh)}).",
        )


# --- the bill -------------------------------------------------------------------------


def idle_minutes(charge, next_start, stay_end):
    """Started minutes on the charger after charging stopped and the grace ran out.

    Idle time ends when the car leaves (`stay_end`) or charging starts again (`next_start`).
    """
    if charge.stopped_at is None:
        return 0
    idle_from = charge.stopped_at + timedelta(minutes=charge.idle_grace_minutes)
    idle_until = min(t for t in (next_start, stay_end) if t is not None)
    if idle_until <= idle_from:
        return 0
    return -(-(idle_until - idle_from) // MINUTE)


def charging_lines(booking, until):
    """The bill lines of a stay's charging: energy per session, idle fee when any.

    `until` is the moment the stay is billed to; the idle fee also stops when the car left,
    and never runs past now.
    """
    sessions = sessions_of(booking) if booking.id is not None else []
    if not sessions:
        return []
    stay_end = booking.released_at or utcnow()
    if until is not None:
        stay_end = min(stay_end, until)
    currency, lines = booking.currency, []
    for charge, after in zip(sessions, [*sessions[1:], None], strict=True):
        price = money(charge.price_per_kwh_cents, currency)
        lines.append(
            QuoteLine(f"Charging {kwh_words(charge.energy_wh)} at {price}/kWh", charge.energy_cents)
        )
        minutes = idle_minutes(charge, after.started_at if after else None, stay_end)
        if minutes and charge.idle_fee_per_minute_cents:
            fee = money(charge.idle_fee_per_minute_cents, currency)
            lines.append(
                QuoteLine(
                    f"Idle on the charger {minutes} min at {fee}/min",
                    minutes * charge.idle_fee_per_minute_cents,
                )
            )
    return lines


def stays_on(spot_ids):
    """The active stay on each of these spots: {spot_id: booking}."""
    rows = db.session.scalars(
        select(Booking).where(Booking.spot_id.in_(spot_ids), Booking.status == BookingStatus.ACTIVE)
    )
    return {booking.spot_id: booking for booking in rows}


def stay_on(station):
    """The stay parked at the station now, or a 409 naming the empty spot."""
    booking = stays_on([station.spot_id]).get(station.spot_id)
    if booking is None:
        raise WrongState(
            f"No vehicle is checked in on spot {station.spot.label}.",
            code="no_stay_on_spot",
            errors={"start_wh": [f"No vehicle is checked in on spot {station.spot.label}."]},
        )
    return booking

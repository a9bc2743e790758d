"""EV stations: admins put chargers on ev spots, with a price per kWh and an idle fee."""

from dataclasses import dataclass, fields

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import (
    ChargerType,
    ChargingSession,
    ChargingStatus,
    Connector,
    EvStation,
    Spot,
    SpotKind,
    SpotStatus,
    StationStatus,
)

CHARGER_LABELS = {
    ChargerType.LEVEL1: "Level 1",
    ChargerType.LEVEL2: "Level 2",
    ChargerType.DC_FAST: "DC fast",
}
CONNECTOR_LABELS = {
    Connector.J1772: "J1772 (Type 1)",
    Connector.TYPE2: "Type 2",
    Connector.CCS1: "CCS1",
    Connector.CCS2: "CCS2",
    Connector.CHADEMO: "CHAdeMO",
    Connector.TESLA: "Tesla (NACS)",
}
# Bounds of the admin's numbers: power in watts, money in cents, grace in minutes.
BOUNDS = {
    "power_w": (100, 1_000_000, "a power in watts"),
    "price_per_kwh_cents": (0, 10_000, "a price per kWh in cents"),
    "idle_fee_per_minute_cents": (0, 10_000, "a fee per minute in cents (0: none)"),
    "idle_grace_minutes": (0, 1440, "a number of minutes"),
}
ENUMS = {
    "charger_type": ChargerType,
    "connector": Connector,
    "status": StationStatus,
}


@dataclass
class StationInput:
    """A station's editable fields, parsed to Python types (spot_id only on create)."""

    spot_id: int
    charger_type: str
    power_w: int
    connector: str
    price_per_kwh_cents: int
    idle_fee_per_minute_cents: int = 0
    idle_grace_minutes: int = 0
    status: str = StationStatus.ACTIVE.value


def power_words(power_w):
    """Watts for people: 7400 -> "7.4 kW", 150000 -> "150 kW"."""
    kw, rest = divmod(power_w, 1000)
    return f"{kw} kW" if not rest else f"{kw}.{rest:03d}".rstrip("0") + " kW"


def describe(station):
    """ "Level 2 · 7.4 kW · Type 2"."""
    return " · ".join(
        (
            CHARGER_LABELS[station.charger_type],
            power_words(station.power_w),
            CONNECTOR_LABELS[station.connector],
        )
    )


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_fields(values):
    """Parse enums and check numbers in `values` (a dict of given fields), in place."""
    for name, enum in ENUMS.items():
        if name in values:
            try:
                values[name] = enum(values[name])
            except ValueError:
                choices = ", ".join(member.value for member in enum)
                raise Invalid(name, f"Choose one of: {choices}.") from None
    for name, (low, high, what) in BOUNDS.items():
        if name in values and (not _whole(values[name]) or not low <= values[name] <= high):
            raise Invalid(name, f"Give {what} from {low} to {high}.")


def _ev_spot(spot_id):
    spot = db.session.get(Spot, spot_id) if _whole(spot_id) else None
    if spot is None or spot.status == SpotStatus.REMOVED:
        raise Invalid("spot_id", "No such spot.")
    if spot.kind != SpotKind.EV:
        raise Invalid("spot_id", f"Spot {spot.label} is a {spot.kind.value} spot, not an ev spot.")
    return spot


def _spot_taken(spot):
    return Conflict(
        f"Spot {spot.label} already has a charger.",
        code="station_exists",
        errors={"spot_id": ["This spot already has a charger."]},
    )


def create(data):
    """Put a charger on an ev spot; 422 for a bad field or spot, 409 if the spot has one."""
    values = {f.name: getattr(data, f.name) for f in fields(StationInput)}
    _check_fields(values)
    spot = _ev_spot(values["spot_id"])
    if db.session.scalar(select(exists().where(EvStation.spot_id == spot.id))):
        raise _spot_taken(spot)
    station = EvStation(lot_id=spot.lot_id, **values)
    try:
        with write_transaction() as session:
            session.add(station)
    except IntegrityError:  # a concurrent create on the same spot
        raise _spot_taken(spot) from None
    return station


def update(station, changes):
    """Change a station's charger, power, connector, prices or status.

    Sessions already started keep the prices they started with.
    """
    unknown = set(changes) - {f.name for f in fields(StationInput)} | (set(changes) & {"spot_id"})
    if unknown:
        raise Invalid(sorted(unknown)[0], "This field cannot be changed.")
    values = dict(changes)
    _check_fields(values)
    with write_transaction() as session:
        session.refresh(station, with_for_update=True)
        for name, value in values.items():
            setattr(station, name, value)
    return station


def delete(station):
    """Remove a charger that has never been used; else 409 (set it out of service)."""
    used = db.session.scalar(select(exists().where(ChargingSession.station_id == station.id)))
    if used:
        raise Conflict(
            "This charger has charging history; set it out of service instead.",
            code="station_in_use",
        )
    try:
        with write_transaction() as session:
            session.delete(station)
    except IntegrityError:  # a session started meanwhile
        raise Conflict("This charger is in use.", code="station_in_use") from None


def get(station_id):
    """A station, or NotFound."""
    station = db.session.get(EvStation, station_id)
    if station is None:
        raise NotFound("No such charging station.")
    return station


def list_query(lot_id=None):
    """Stations (of one lot), by lot and spot label; spots removed by an admin left out."""
    query = (
        select(EvStation)
        .join(Spot, Spot.id == EvStation.spot_id)
        .where(Spot.status != SpotStatus.REMOVED)
        .order_by(EvStation.lot_id, Spot.label)
    )
    return query.where(EvStation.lot_id == lot_id) if lot_id is not None else query


def of_lot(lot_id):
    """The lot's stations, each with its charging session (None when free)."""
    stations = db.session.scalars(list_query(lot_id)).all()
    open_sessions = {
        s.station_id: s
        for s in db.session.scalars(
            select(ChargingSession).where(
                ChargingSession.station_id.in_([st.id for st in stations]),
                ChargingSession.status == ChargingStatus.CHARGING,
            )
        )
    }
    return [(station, open_sessions.get(station.id)) for station in stations]


def free_ev_spots(lot):
    """The lot's ev spots without a charger yet, for the admin's form."""
    taken = select(EvStation.spot_id)
    return db.session.scalars(
        select(Spot)
        .where(
            Spot.lot_id == lot.id,
            Spot.kind == SpotKind.EV,
            Spot.status != SpotStatus.REMOVED,
            Spot.id.not_in(taken),
        )
        .order_by(Spot.label)
    ).all()

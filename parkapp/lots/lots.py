"""Lots: create, edit, deactivate, search by name or distance, and their availability."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import time
from zoneinfo import available_timezones

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.extensions import db
from parkapp.lots import hours, live
from parkapp.models import HOLDING, Amenity, Booking, Lot, amenity_mask

EARTH_RADIUS_KM = 6371.0
MIN_HEIGHT_CM, MAX_HEIGHT_CM = 100, 500


@dataclass
class LotInput:
    """The editable fields of a lot, already parsed to Python types."""

    name: str
    address: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    timezone: str = "UTC"
    currency: str = "USD"
    opens_at: time | None = None
    closes_at: time | None = None
    hourly_rate_cents: int = 0
    daily_max_cents: int | None = None
    grace_minutes: int = 0
    max_booking_days: int = 30
    refund_hours_before: int | None = 24  # None: cancellations are never refunded
    exit_minutes_after_payment: int = 15
    open_data: bool = True  # listed in the public occupancy feed
    allow_overnight: bool = False  # stays may run across closing time
    amenities: tuple = ()  # Amenity values (see `parse_amenities`)
    height_limit_cm: int | None = None  # the tallest vehicle that fits; None: no limit


@dataclass
class LotSummary:
    """A lot with its spot counts (and distance when searched by position)."""

    lot: Lot
    total_spots: int
    available: int
    distance_km: float | None = None
    quote: object = None  # the price for the searched interval (a priced search only)


def validate_lot_input(data):
    """Check the domain rules of a lot's fields; raise Invalid naming the first bad field."""
    if not data.name or not data.name.strip():
        raise Invalid("name", "A lot needs a name.")
    if data.timezone not in _timezones():
        raise Invalid(
            "timezone",
            f"Unknown time zone {data.timezone!r}; use an IANA name such as Europe/Paris.",
        )
    if len(data.currency) != 3 or not data.currency.isalpha() or not data.currency.isupper():
        raise Invalid("currency", "Use a three-letter ISO 4217 code such as USD.")
    if (data.latitude is None) != (data.longitude is None):
        raise Invalid("latitude", "Give both latitude and longitude, or neither.")
    if data.latitude is not None and not -90 <= data.latitude <= 90:
        raise Invalid("latitude", "Latitude must be between -90 and 90.")
    if data.longitude is not None and not -180 <= data.longitude <= 180:
        raise Invalid("longitude", "Longitude must be between -180 and 180.")
    if (data.opens_at is None) != (data.closes_at is None):
        raise Invalid("closes_at", "Give both opening and closing times, or neither for 24 hours.")
    if data.opens_at is not None and data.opens_at == data.closes_at:
        raise Invalid("closes_at", "Closing time must differ from opening time.")
    _check_range(data, "hourly_rate_cents", 0, 1_000_000)
    if data.daily_max_cents is not None:
        _check_range(data, "daily_max_cents", 0, 10_000_000)
    _check_range(data, "grace_minutes", 0, 240)
    _check_range(data, "max_booking_days", 1, 366)
    if data.refund_hours_before is not None:
        _check_range(data, "refund_hours_before", 0, 8784)
    _check_range(data, "exit_minutes_after_payment", 0, 1440)
    data.amenities = parse_amenities(data.amenities)
    if data.height_limit_cm is not None:
        _check_range(data, "height_limit_cm", MIN_HEIGHT_CM, MAX_HEIGHT_CM)


def parse_amenities(values, field="amenities"):
    """Amenity values (a list, or a comma list) as a tuple of Amenity; Invalid naming an
    unknown one."""
    if isinstance(values, str):
        values = [v.strip() for v in values.split(",") if v.strip()]
    if not isinstance(values, list | tuple | set | frozenset):
        raise Invalid(field, "Give a list of amenities.")
    known = {a.value for a in Amenity}
    for value in values:
        if not isinstance(value, str) or value not in known:
            raise Invalid(
                field,
                f"Unknown amenity {str(value)[:40]!r}; use {', '.join(sorted(known))}.",
            )
    return tuple(a for a in Amenity if a.value in set(values))


def _check_range(data, name, low, high):
    value = getattr(data, name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Invalid(name, f"Must be a whole number from {low} to {high}.")


def _timezones():
    return available_timezones() | {"UTC"}


def create_lot(data):
    """Create a lot after validating it; 409 when the name is taken."""
    validate_lot_input(data)
    _check_name_free(data.name.strip())
    lot = Lot(**{f.name: getattr(data, f.name) for f in fields(LotInput)})
    lot.name = data.name.strip()
    db.session.add(lot)
    db.session.commit()
    return lot


def update_lot(lot, changes):
    """Apply a dict of field changes to a lot, validated as a whole."""
    current = LotInput(**{f.name: getattr(lot, f.name) for f in fields(LotInput)})
    unknown = set(changes) - {f.name for f in fields(LotInput)}
    if unknown:
        raise Invalid(sorted(unknown)[0], "This field cannot be changed.")
    for name, value in changes.items():
        setattr(current, name, value)
    validate_lot_input(current)
    if current.name.strip() != lot.name:
        _check_name_free(current.name.strip(), exclude_id=lot.id)
    for name in changes:
        setattr(lot, name, getattr(current, name))
    lot.name = current.name.strip()
    db.session.commit()
    return lot


def _check_name_free(name, exclude_id=None):
    query = select(Lot.id).where(func.lower(Lot.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Lot.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise Conflict(
            f"A lot named {name!r} already exists.",
            code="name_taken",
            errors={"name": ["This name is taken."]},
        )


def deactivate_lot(lot):
    """Take a lot out of service; refused while it has active or upcoming bookings."""
    holding = db.session.scalar(
        select(func.count(Booking.id)).where(Booking.lot_id == lot.id, Booking.status.in_(HOLDING))
    )
    if holding:
        raise Conflict(
            f"{lot.name} has {holding} active or upcoming booking(s); "
            "it can be deactivated once they end.",
            code="lot_in_use",
        )
    lot.is_active = False
    db.session.commit()
    return lot


def reactivate_lot(lot):
    """Put a deactivated lot back in service."""
    lot.is_active = True
    db.session.commit()
    return lot


def get_lot(lot_id, *, include_inactive=False, with_rates=False):
    """The lot with this id, or NotFound (inactive lots only when asked for).

    `with_rates`: its rate table loaded in the same query (to price a stay).
    """
    if with_rates:
        query = select(Lot).where(Lot.id == lot_id).options(joinedload(Lot.rates))
        lot = db.session.scalars(query).unique().first()
    else:
        lot = db.session.get(Lot, lot_id)
    if lot is None or (not lot.is_active and not include_inactive):
        raise NotFound("No such lot.")
    return lot


def picker_lots(active_only=False):
    """Lots by name, for a choice list (only active ones when asked)."""
    query = select(Lot).order_by(Lot.name)
    if active_only:
        query = query.where(Lot.is_active.is_(True))
    return db.session.scalars(query).all()


@dataclass
class LotFilter:
    """What a lot search asks for besides availability: text, position, amenities, height."""

    q: str | None = None
    near: tuple | None = None  # (lat, lon): sorted by distance, within radius_km
    radius_km: float | None = None
    amenities: tuple = ()  # every one required
    max_height_cm: int | None = None  # a vehicle this tall must fit
    include_inactive: bool = False


def search_lots(
    q=None,
    near=None,
    radius_km=None,
    starts_at=None,
    ends_at=None,
    kind=None,
    include_inactive=False,
):
    """Lots matching a name or city, optionally near a point, with bookable counts.

    `near` is (lat, lon); results are then sorted by distance and limited to `radius_km`.
    The availability counts are for `[starts_at, ends_at)`, or for parking now.
    """
    found, distances = find_lots(LotFilter(q, near, radius_km, include_inactive=include_inactive))
    return Summaries(found, distances, starts_at, ends_at, kind)


def find_lots(flt, *, with_rates=False):
    """(lots, distances): the lots a LotFilter matches, by name, or by distance when near a
    point (distances then in km, else None). `with_rates`: their rate tables loaded in one
    more query, to price them all."""
    query = select(Lot).order_by(Lot.name)
    if with_rates:
        query = query.options(selectinload(Lot.rates))
    if not flt.include_inactive:
        query = query.where(Lot.is_active.is_(True))
    if flt.q:
        pattern = f"%{flt.q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Lot.name).like(pattern),
                func.lower(Lot.city).like(pattern),
                func.lower(Lot.address).like(pattern),
            )
        )
    if flt.amenities:
        wanted = amenity_mask(flt.amenities)
        query = query.where(Lot.amenity_bits.op("&")(wanted) == wanted)
    if flt.max_height_cm is not None:
        query = query.where(
            or_(Lot.height_limit_cm.is_(None), Lot.height_limit_cm >= flt.max_height_cm)
        )
    lots = list(db.session.scalars(query))
    if flt.near is None:
        return lots, None
    located = [(distance_km(flt.near, lot), lot) for lot in lots]
    located = [
        (km, lot)
        for km, lot in located
        if km is not None and (flt.radius_km is None or km <= flt.radius_km)
    ]
    located.sort(key=lambda pair: pair[0])
    return [lot for _, lot in located], [km for km, _ in located]


class Summaries(Sequence):
    """LotSummary items of a search, counted only when taken: an API page of 50 lots out of
    500 counts 50."""

    def __init__(self, lots, distances, starts_at, ends_at, kind):
        self.lots, self.distances = lots, distances
        self.interval, self.kind = (starts_at, ends_at), kind

    def __len__(self):
        return len(self.lots)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._summaries(range(len(self.lots))[index])
        return self._summaries([range(len(self.lots))[index]])[0]

    def __iter__(self):
        return iter(self[:])

    def _summaries(self, positions):
        found = summarise([self.lots[i] for i in positions], *self.interval, self.kind)
        if self.distances is not None:
            for i, summary in zip(positions, found, strict=True):
                summary.distance_km = self.distances[i]
        return found


def summarise(lots, starts_at=None, ends_at=None, kind=None):
    """Attach total and bookable spot counts to lots, now or over an interval (cached)."""
    if not lots:
        return []
    ids = [lot.id for lot in lots]
    # free now: cached for seconds; over an interval: cached until a change (live.py)
    counts = live.totals(ids, kind, starts_at, ends_at)
    return [LotSummary(lot, *counts.get(lot.id, (0, 0))) for lot in lots]


def distance_km(point, lot):
    """Great-circle distance from (lat, lon) to the lot, or None if it has no position."""
    if lot.latitude is None or lot.longitude is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (point[0], point[1], lot.latitude, lot.longitude))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return round(2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a)), 3)


def is_open_at(lot, instant):
    """Whether the lot is open at an aware instant (opening hours are local times)."""
    return hours.is_open_at(lot, instant)

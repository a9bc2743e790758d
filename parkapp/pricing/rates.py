"""Rate tables: list, create, change and deactivate a lot's rates, and say them in words.

How rates price a stay lives in `pricing`; this module keeps the rows valid: every field in
range, a time window given whole, effective dates in order, a daily maximum only on a base
rate (the cap of a day comes from the base rate in force), and no two active rows the
pricing walk could only tell apart by age (same band, weekdays, spot kind and vehicle type
with overlapping effective dates: 409 naming the other).
"""

from dataclasses import dataclass, fields
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.core.money import money
from parkapp.core.timezones import lot_zone
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import ALL_WEEKDAYS, Lot, Rate, RateKind, SpotKind, VehicleType, utcnow
from parkapp.pricing.rate_table import band_words, span_words

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # bit 0 .. bit 6
MAX_AMOUNT = 10_000_000
MAX_MINUTES = 1440
VEHICLE_WORDS = {"car": "cars", "motorcycle": "motorcycles", "van": "vans", "truck": "trucks"}


@dataclass
class RateInput:
    """The editable fields of a rate, already parsed to Python types."""

    name: str
    amount_cents: int
    kind: str = RateKind.HOURLY.value
    unit_minutes: int = 60
    daily_max_cents: int | None = None
    grace_minutes: int | None = None
    spot_kind: str | None = None
    vehicle_type: str | None = None
    weekdays: int = ALL_WEEKDAYS
    band_starts: time | None = None
    band_ends: time | None = None
    effective_from: date | None = None
    effective_until: date | None = None


EDITABLE = tuple(f.name for f in fields(RateInput))


# -- weekdays ------------------------------------------------------------------------------


def weekday_mask(names, field="weekdays"):
    """["mon", "fri"] -> 0b10001; Invalid for an empty list or an unknown name."""
    if not names:
        raise Invalid(field, "Pick at least one weekday.")
    mask = 0
    for name in names:
        if not isinstance(name, str) or name.lower() not in WEEKDAYS:
            raise Invalid(field, f"Weekdays are {', '.join(WEEKDAYS)}.")
        mask |= 1 << WEEKDAYS.index(name.lower())
    return mask


def weekday_names(mask):
    """0b10001 -> ["mon", "fri"]."""
    return [name for bit, name in enumerate(WEEKDAYS) if mask >> bit & 1]


# -- validation ----------------------------------------------------------------------------


def validate(data):
    """Check every field of a RateInput (normalising kinds); Invalid naming each bad field."""
    errors = {}

    def bad(field, problem):
        errors.setdefault(field, []).append(problem)

    data.name = data.name.strip() if isinstance(data.name, str) else data.name
    if not isinstance(data.name, str) or not 1 <= len(data.name) <= 80 or "\x00" in data.name:
        bad("name", "Give a name of 1 to 80 characters.")
    data.kind = _enum(RateKind, data.kind, "kind", bad, nullable=False)
    data.spot_kind = _enum(SpotKind, data.spot_kind, "spot_kind", bad)
    data.vehicle_type = _enum(VehicleType, data.vehicle_type, "vehicle_type", bad)
    _whole(data, "amount_cents", 0, MAX_AMOUNT, bad)
    _whole(data, "unit_minutes", 1, MAX_MINUTES, bad)
    _whole(data, "daily_max_cents", 0, MAX_AMOUNT, bad, optional=True)
    _whole(data, "grace_minutes", 0, MAX_MINUTES, bad, optional=True)
    _whole(data, "weekdays", 1, ALL_WEEKDAYS, bad)
    if (data.band_starts is None) != (data.band_ends is None):
        bad("band_ends" if data.band_ends is None else "band_starts", "Give both times or neither.")
    elif data.band_starts is not None and data.band_starts == data.band_ends:
        bad("band_ends", "The band must end at another time than it starts.")
    if data.effective_from and data.effective_until and data.effective_until < data.effective_from:
        bad("effective_until", "The last day comes before the first.")
    banded = data.weekdays != ALL_WEEKDAYS or data.band_starts is not None
    if banded and data.daily_max_cents is not None and "weekdays" not in errors:
        bad(
            "daily_max_cents",
            "Only a rate for every day and time sets a daily maximum; "
            "the base rate's cap covers banded hours too.",
        )
    if errors:
        first = next(iter(errors))
        raise _invalid(errors, f"{first}: {errors[first][0]}")


def _enum(kind, value, field, bad, nullable=True):
    if value in (None, "") and nullable:
        return None
    try:
        return kind(value)
    except ValueError:
        bad(field, f"Must be one of: {', '.join(k.value for k in kind)}.")
        return value


def _whole(data, name, low, high, bad, optional=False):
    value = getattr(data, name)
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        bad(name, f"Must be a whole number from {low} to {high}.")


def _invalid(errors, message):
    exc = Invalid(next(iter(errors)), "", message)
    exc.errors = errors
    return exc


# -- reading -------------------------------------------------------------------------------


def list_query(lot_id=None, *, include_inactive=False):
    """Rates by lot then id; inactive rates and rates of inactive lots only when asked for."""
    query = select(Rate).join(Lot).options(contains_eager(Rate.lot)).order_by(Rate.lot_id, Rate.id)
    if lot_id is not None:
        query = query.where(Rate.lot_id == lot_id)
    if not include_inactive:
        query = query.where(Rate.is_active.is_(True), Lot.is_active.is_(True))
    return query


def get_rate(rate_id, *, include_inactive=False):
    """The rate with this id, or NotFound (inactive ones, or a closed lot's, only when asked)."""
    rate = db.session.get(Rate, rate_id)
    if rate is None or (not include_inactive and not (rate.is_active and rate.lot.is_active)):
        raise NotFound("No such rate.")
    return rate


def published(lot, today=None):
    """The lot's active rates that have not expired, for drivers to read."""
    today = today or utcnow().astimezone(lot_zone(lot)).date()
    return [
        rate
        for rate in lot.rates
        if rate.is_active and (rate.effective_until is None or rate.effective_until >= today)
    ]


# -- writing -------------------------------------------------------------------------------


def create_rate(lot, data):
    """Add a validated rate to a lot; 409 when an active rate would be ambiguous with it."""
    validate(data)
    with write_transaction() as session:
        _lock(session, lot)
        rate = Rate(lot_id=lot.id, is_active=True, **{n: getattr(data, n) for n in EDITABLE})
        _check_unambiguous(lot, rate)
        session.add(rate)
    return rate


def update_rate(rate, changes):
    """Apply a dict of field changes, validated as a whole; 409 as for create."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid(sorted(unknown)[0], "This field cannot be changed.")
    current = RateInput(**{name: getattr(rate, name) for name in EDITABLE})
    for name, value in changes.items():
        setattr(current, name, value)
    validate(current)
    with write_transaction() as session:
        _lock(session, rate.lot)
        for name in EDITABLE:
            setattr(rate, name, getattr(current, name))
        if rate.is_active:
            with session.no_autoflush:
                _check_unambiguous(rate.lot, rate)
    return rate


def deactivate_rate(rate):
    """Stop a rate from pricing stays; the row stays for the record."""
    with write_transaction():
        rate.is_active = False
    return rate


def reactivate_rate(rate):
    """Put a deactivated rate back in the table; 409 if an active rate now clashes with it."""
    with write_transaction() as session:
        _lock(session, rate.lot)
        with session.no_autoflush:
            _check_unambiguous(rate.lot, rate)
        rate.is_active = True
    return rate


def _lock(session, lot):
    # Serialise rate changes per lot on PostgreSQL, so two clashing rates cannot both pass.
    session.execute(select(Lot.id).where(Lot.id == lot.id).with_for_update())


def _check_unambiguous(lot, rate):
    others = db.session.scalars(
        select(Rate).where(Rate.lot_id == lot.id, Rate.is_active.is_(True))
    ).all()
    for other in others:
        if other is not rate and _same_slot(other, rate) and _dates_overlap(other, rate):
            raise Conflict(
                f"Rate {other.id} ({other.name!r}) already applies to the same days, hours, "
                "spot kind and vehicle type on overlapping dates; change its dates or "
                "deactivate it first.",
                code="rate_ambiguous",
                errors={"rate": [f"Clashes with rate {other.id} ({other.name})."]},
            )


def _same_slot(a, b):
    return (
        a.weekdays == b.weekdays
        and a.band_starts == b.band_starts
        and a.band_ends == b.band_ends
        and a.spot_kind == b.spot_kind
        and a.vehicle_type == b.vehicle_type
    )


def _dates_overlap(a, b):
    starts_ok = a.effective_from is None or b.effective_until is None
    ends_ok = b.effective_from is None or a.effective_until is None
    return (starts_ok or a.effective_from <= b.effective_until) and (
        ends_ok or b.effective_from <= a.effective_until
    )


# -- words ---------------------------------------------------------------------------------


def describe(rate, currency):
    """A rate in plain words, e.g. "1.00 GBP per started hour · 18:00-06:00 · for ev spots"."""
    parts = [
        price_words(rate, currency),
        band_words(rate.weekdays, rate.band_starts, rate.band_ends),
        f"for {who}" if (who := who_words(rate)) else "",
        effective_words(rate),
        limits_words(rate, currency),
    ]
    return " · ".join(part for part in parts if part)


def price_words(rate, currency):
    """What the rate charges: "2.00 GBP per started hour", "8.00 GBP flat per day"."""
    price = money(rate.amount_cents, currency)
    if rate.kind == RateKind.FLAT:
        banded = rate.weekdays != ALL_WEEKDAYS or rate.band_starts is not None
        return f"{price} flat" + (" per band" if banded else " per day")
    if rate.unit_minutes == 60:
        return f"{price} per started hour"
    return f"{price} per started {span_words(rate.unit_minutes)}"


def who_words(rate):
    """Whom the rate is for ("ev spots and motorcycles"), or "" for everyone."""
    who = [f"{SpotKind(rate.spot_kind).value} spots"] if rate.spot_kind else []
    if rate.vehicle_type:
        kind = VehicleType(rate.vehicle_type).value
        who.append(VEHICLE_WORDS.get(kind, kind))
    return " and ".join(who)


def limits_words(rate, currency):
    """The rate's own daily maximum and grace period, or ""."""
    parts = []
    if rate.daily_max_cents is not None:
        parts.append(f"at most {money(rate.daily_max_cents, currency)} a day")
    if rate.grace_minutes is not None:
        parts.append(f"first {rate.grace_minutes} min free" if rate.grace_minutes else "no grace")
    return ", ".join(parts)


def effective_words(rate):
    """The effective dates in words ("from 1 Apr 2026", "until 30 Jun 2026"), or ""."""
    start, end = rate.effective_from, rate.effective_until
    if start and end:
        return f"{_day(start)} to {_day(end)}"
    if start:
        return f"from {_day(start)}"
    return f"until {_day(end)}" if end else ""


def _day(value):
    return f"{value.day} {value:%b %Y}"


def default_words(lot):
    """The lot's own rate, which applies whenever no rate row is in force."""
    parts = [f"{money(lot.hourly_rate_cents, lot.currency)} per started hour"]
    if lot.daily_max_cents is not None:
        parts.append(f"at most {money(lot.daily_max_cents, lot.currency)} a day")
    if lot.grace_minutes:
        parts.append(f"first {lot.grace_minutes} min free")
    return " · ".join(parts)

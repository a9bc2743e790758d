"""The demo's stays from some weeks ago up to now: walk-ins by the traffic model, regulars by habit.

Every arrival is placed on a free spot that fits the vehicle (the first free one, best
kind first) or turned away when none is free, so no spot is ever claimed twice. A stay
still running now is an open gate stay, as if the car were inside. Past stays are paid
on the way out (walk-ins at the gate, regulars online) so the revenue charts have money.
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert as sa_insert
from sqlalchemy import select

from parkapp.analytics import rollups as analytics_rollups
from parkapp.core.codes import CODE_ALPHABET
from parkapp.core.timezones import lot_zone
from parkapp.demo import traffic
from parkapp.extensions import db
from parkapp.gate.passage import TICKET_LENGTH, TICKET_PREFIX
from parkapp.lots.availability import fitting_kinds
from parkapp.lots.hours import is_open_at
from parkapp.memberships import usage
from parkapp.models import (
    GATE_METHODS,
    Booking,
    BookingSource,
    BookingStatus,
    ChargingSession,
    MeterReading,
    Payment,
    PaymentMethod,
    PaymentStatus,
    SpotStatus,
    VehicleType,
    utcnow,
)
from parkapp.pricing import quoting as pricing

NEVER = datetime.max.replace(tzinfo=None)  # a spot held by a stay still open
OCCASIONAL_SHARE = 0.15  # of the walk-ins: drivers with an account who book online
HOLDING = (BookingStatus.RESERVED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)
ARRIVED = (BookingStatus.ACTIVE, BookingStatus.COMPLETED)


@dataclass
class Regular:
    """A driver with a habit at one lot: weekdays (0 = Monday), arrival hour, hours stayed."""

    user: object
    vehicle: object
    lot: object
    weekdays: tuple = (0, 1, 2, 3, 4)
    arrive_hour: float = 8.25
    hours: float = 8.5
    keen: float = 0.85  # how likely they come on one of their days
    membership: object = None


@dataclass(order=True)
class Arrival:
    """One car coming in (walk-in when `regular` is None)."""

    starts_at: datetime
    length: timedelta = field(compare=False)
    plate: str = field(compare=False)
    regular: Regular | None = field(default=None, compare=False)
    vehicle_type: VehicleType = field(default=VehicleType.CAR, compare=False)
    is_ev: bool = field(default=False, compare=False)
    accessible: bool = field(default=False, compare=False)


@dataclass
class Stay:
    """One booking row to insert (column values), its spot's kind and its payment row."""

    row: dict
    spot_kind: str
    payment: dict | None = None
    charge: dict | None = None


def generate(rng, lots, regulars=(), days=56, now=None, ahead=6, occasional=()):
    """Stays over the last `days` days at every lot up to now, and the regulars'
    reservations for the next `ahead` days, as Stays not yet inserted (see `insert`).
    Some walk-ins are `occasional` drivers (Regulars without a habit) booking online."""
    now = now or utcnow()
    stays, busy = [], {}  # busy: a driver's stays at every lot, as (start, end)
    for lot in lots:
        arrivals = _walk_ins(rng, lot, now, days, occasional)
        arrivals += _regular_visits(rng, lot, regulars, now, days, ahead)
        stays += _place(rng, lot, sorted(arrivals), now, busy)
    return stays


def insert(stays):
    """Insert the stays with their payments and charges in a few bulk statements, and mark
    their days for the analytics rollups (a plain insert marks nothing by itself)."""
    connection = db.session.connection()
    connection.execute(sa_insert(Booking.__table__), [stay.row for stay in stays])
    codes = {stay.row["confirmation_code"] for stay in stays}
    ids = {
        code: booking_id
        for code, booking_id in db.session.execute(select(Booking.confirmation_code, Booking.id))
        if code in codes
    }
    payments = [
        {**stay.payment, "booking_id": ids[stay.row["confirmation_code"]]}
        for stay in stays
        if stay.payment
    ]
    if payments:
        connection.execute(sa_insert(Payment.__table__), payments)
    charged = [stay for stay in stays if stay.charge]
    for stay in charged:
        stay.charge["booking_id"] = ids[stay.row["confirmation_code"]]
        db.session.add(ChargingSession(**stay.charge, readings=_readings(stay.charge)))
    db.session.flush()
    analytics_rollups.mark_instants(
        db.session, [(stay.row["lot_id"], stay.row["starts_at"]) for stay in stays]
    )


def _readings(charge):
    return [
        MeterReading(wh=charge["start_wh"], read_at=charge["started_at"]),
        MeterReading(wh=charge["stop_wh"], read_at=charge["stopped_at"]),
    ]


def _local_days(lot, now, days, ahead=0):
    zone = lot_zone(lot)
    today = now.astimezone(zone).date()
    return zone, [today + timedelta(days=n) for n in range(-days, ahead + 1)]


def _walk_ins(rng, lot, now, days, occasional=()):
    zone, dates = _local_days(lot, now, days)
    spots = sum(1 for spot in lot.spots if spot.status == SpotStatus.ACTIVE)
    found = []
    for day in dates:
        weekday = day.weekday()
        factor = traffic.lot_factor(lot.name, weekday) * spots
        for hour in range(24):
            for _ in range(traffic.arrivals(rng, factor * traffic.hourly_weight(weekday, hour))):
                local = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
                start = local + timedelta(minutes=traffic.minute_in_hour(rng, hour))
                start = start.astimezone(now.tzinfo)
                if start < now and is_open_at(lot, start):
                    length = traffic.stay_length(rng, weekday, hour)
                    if occasional and rng.random() < OCCASIONAL_SHARE:
                        found.append(_visit(rng.choice(occasional), start, length))
                    else:
                        found.append(_walk_in(rng, start, length))
    return found


def _visit(regular, start, length):
    vehicle = regular.vehicle
    return Arrival(start, length, vehicle.plate, regular, vehicle.vehicle_type, vehicle.is_ev)


def _walk_in(rng, start, length):
    roll = rng.random()
    if roll < 0.05:
        return Arrival(start, length, _plate(rng), vehicle_type=VehicleType.MOTORCYCLE)
    if roll < 0.08:
        return Arrival(start, length, _plate(rng), vehicle_type=VehicleType.VAN)
    return Arrival(start, length, _plate(rng), is_ev=roll > 0.92, accessible=0.08 < roll < 0.11)


def _regular_visits(rng, lot, regulars, now, days, ahead):
    zone, dates = _local_days(lot, now, days, ahead)
    found = []
    for regular in (r for r in regulars if r.lot.id == lot.id):
        for day in dates:
            if day.weekday() not in regular.weekdays or rng.random() > regular.keen:
                continue
            minutes = regular.arrive_hour * 60 + rng.gauss(0, 12)
            local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=minutes)
            start = local.astimezone(now.tzinfo).replace(second=0, microsecond=0)
            length = timedelta(minutes=5 * round((regular.hours * 60 + rng.gauss(0, 25)) / 5))
            if start >= now and rng.random() < 0.4:
                continue  # not everyone books days ahead
            found.append(_visit(regular, start, length))
    return found


def _place(rng, lot, arrivals, now, busy):
    """Stays for the arrivals that find a free spot, in order of arrival; a driver already
    parked (here or at another lot, `busy`) at the time stays away."""
    free_at = {spot.id: None for spot in lot.spots if spot.status == SpotStatus.ACTIVE}
    by_kind = {}
    for spot in sorted(lot.spots, key=lambda s: s.label):
        if spot.id in free_at:
            by_kind.setdefault(spot.kind, []).append(spot)
    made, hours = [], MemberHours()
    for arrival in arrivals:
        ends_at = _closing(lot, arrival.starts_at, arrival.starts_at + arrival.length)
        driver = arrival.regular.user.id if arrival.regular else None
        if driver and any(
            start < ends_at and arrival.starts_at < end for start, end in busy.get(driver, ())
        ):
            continue  # a driver is in one place at a time
        spot = _free_spot(by_kind, free_at, arrival)
        if spot is None:
            continue  # full for this vehicle: it drives on
        if driver:
            busy.setdefault(driver, []).append((arrival.starts_at, ends_at))
        stay = _stay(rng, lot, spot, arrival, ends_at, now, hours)
        if stay.row["status"] in HOLDING:
            free_at[spot.id] = stay.row["ends_at"] or NEVER
        made.append(stay)
    return made


def _closing(lot, start, end):
    """A stay ends by closing time at a lot with opening hours."""
    if lot.closes_at is None or is_open_at(lot, end - timedelta(minutes=1)):
        return end
    zone = lot_zone(lot)
    local = start.astimezone(zone)
    closes = datetime.combine(local.date(), lot.closes_at, tzinfo=zone)
    return min(end, closes.astimezone(start.tzinfo)) if closes > local else end


def _free_spot(by_kind, free_at, arrival):
    kinds = fitting_kinds(arrival.vehicle_type, arrival.is_ev, arrival.accessible)
    for kind in kinds:
        for spot in by_kind.get(kind, ()):
            taken_until = free_at[spot.id]
            if taken_until is None or (
                taken_until is not NEVER and taken_until <= arrival.starts_at
            ):
                return spot
    return None


def _stay(rng, lot, spot, arrival, ends_at, now, hours):
    regular = arrival.regular
    start = arrival.starts_at
    status = _status(rng, regular, start, ends_at, now)
    done = status == BookingStatus.COMPLETED
    membership = _membership(regular, start)
    terms = hours.terms(membership, start, ends_at, status)
    price = None
    if status != BookingStatus.CANCELLED:
        price = _price(lot, spot, arrival, ends_at, terms)
    row = {
        "lot_id": lot.id,
        "spot_id": spot.id,
        "user_id": regular.user.id if regular else None,
        "vehicle_id": regular.vehicle.id if regular else None,
        "membership_id": membership.id if membership else None,
        "plate": arrival.plate,
        "vehicle_type": arrival.vehicle_type,
        "source": BookingSource.WEB if regular else BookingSource.GATE,
        "status": status,
        "starts_at": start,
        "ends_at": None if status == BookingStatus.ACTIVE and not regular else ends_at,
        "booked_ends_at": ends_at if regular else None,
        "checked_in_at": start if status in ARRIVED else None,
        "released_at": ends_at if done else None,
        "cancelled_at": start - timedelta(hours=5) if status == BookingStatus.CANCELLED else None,
        "confirmation_code": _code(10),
        "ticket_number": None if regular else TICKET_PREFIX + _code(TICKET_LENGTH),
        "price_cents": price if done else None,
        "quoted_cents": price,
        "currency": lot.currency,
        "created_at": start - timedelta(hours=rng.randint(12, 60)) if regular else start,
    }
    stay = Stay(row, spot.kind)
    if done and price:
        stay.payment = _payment(rng, row, regular, ends_at)
    return stay


def _code(length):
    """An unguessable code (demo codes must not be guessable from the seed either)."""
    return "".join(CODE_ALPHABET[b & 31] for b in secrets.token_bytes(length))


def _status(rng, regular, start, ends_at, now):
    if start >= now:
        return BookingStatus.RESERVED
    if ends_at > now:
        return BookingStatus.ACTIVE
    return _past_status(rng, regular)


def _membership(regular, start):
    membership = regular.membership if regular else None
    if membership is None or not membership.starts_at <= start < membership.ends_at:
        return None
    return membership


class MemberHours:
    """Included minutes each membership month has used, as the stays are made in order."""

    def __init__(self):
        self.used = {}

    def terms(self, membership, start, end, status):
        """The MembershipTerms a member's stay is priced with; counts its minutes."""
        if membership is None:
            return None
        period = (membership.id, usage.period_of(membership, start)[0])
        included = membership.plan.included_hours * 60
        left = max(0, included - self.used.get(period, 0))
        if status in usage.USING:
            minutes = -(-(end - start) // timedelta(minutes=1))
            self.used[period] = self.used.get(period, 0) + minutes
        return pricing.MembershipTerms(membership.plan.name, left, membership.plan.discount_percent)


def _past_status(rng, regular):
    roll = rng.random()
    if regular is None:  # a gate entry happened: it came in and left
        return BookingStatus.COMPLETED
    if roll < 0.05:
        return BookingStatus.CANCELLED
    return BookingStatus.NO_SHOW if roll < 0.08 else BookingStatus.COMPLETED


def _price(lot, spot, arrival, ends_at, membership_terms=None):
    """The stay's price from the lot's rate table and the driver's membership."""
    stay = pricing.Stay(
        lot,
        arrival.starts_at,
        ends_at,
        spot_kind=spot.kind,
        vehicle_type=arrival.vehicle_type,
        membership=membership_terms,
    )
    return pricing.quote(stay).total_cents


def _payment(rng, row, regular, paid_at):
    return {
        "user_id": row["user_id"],
        "method": PaymentMethod.ONLINE if regular else rng.choice(GATE_METHODS),
        "status": PaymentStatus.PAID,
        "amount_cents": row["price_cents"],
        "currency": row["currency"],
        "idempotency_key": f"demo-{row['confirmation_code']}",
        "receipt_number": f"R-{paid_at:%Y%m%d}-{_code(6)}",
        "created_at": paid_at,
        "paid_at": paid_at,
    }


def _plate(rng):
    """A UK-style plate: two letters, the age digits, three letters."""
    letters = "ABCDEFGHJKLMNOPRSTUVWXY"
    age = rng.choice((15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 65, 66, 67, 68, 69, 70, 71, 72, 73))
    return "".join(rng.choices(letters, k=2)) + str(age) + "".join(rng.choices(letters, k=3))

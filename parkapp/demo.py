"""Demo data: three lots in two cities, staff and a driver, weeks of booking history."""

import random
import secrets
from datetime import time, timedelta

from flask_security import hash_password
from sqlalchemy import select

from parkapp.accounts.datastore import user_datastore
from parkapp.accounts.users import ensure_roles
from parkapp.billing import discounts
from parkapp.billing.payments import new_receipt_number
from parkapp.core.codes import new_code
from parkapp.ev import stations as ev_stations
from parkapp.extensions import db
from parkapp.lots import spots
from parkapp.lots.lots import LotInput, create_lot
from parkapp.memberships import subscriptions as memberships
from parkapp.models import (
    GATE_METHODS,
    Booking,
    BookingSource,
    BookingStatus,
    Lot,
    MembershipPlan,
    Payment,
    PaymentStatus,
    SpotKind,
    Vehicle,
    utcnow,
)
from parkapp.pricing import quoting as pricing
from parkapp.pricing import rates

LOTS = [
    (
        LotInput(
            name="Harbour Central Garage",
            address="12 Quay Street",
            city="Portsmouth",
            latitude=50.7989,
            longitude=-1.0912,
            timezone="Europe/London",
            currency="GBP",
            hourly_rate_cents=250,
            daily_max_cents=1800,
            grace_minutes=10,
            amenities=("covered", "ev_charging", "accessible", "security", "toilets"),
            height_limit_cm=210,
        ),
        [
            ("Level 0", "A", SpotKind.STANDARD, 24),
            ("Level 0", "A", SpotKind.ACCESSIBLE, 4),
            ("Level 1", "B", SpotKind.COMPACT, 12),
            ("Level 1", "EV", SpotKind.EV, 6),
            ("Level 1", "M", SpotKind.MOTORCYCLE, 6),
        ],
    ),
    (
        LotInput(
            name="Station Road Car Park",
            address="3 Station Road",
            city="Portsmouth",
            latitude=50.7975,
            longitude=-1.0980,
            timezone="Europe/London",
            currency="GBP",
            opens_at=time(6, 0),
            closes_at=time(23, 0),
            hourly_rate_cents=180,
            daily_max_cents=1200,
            grace_minutes=15,
            amenities=("ev_charging", "accessible", "bike"),
        ),
        [
            ("Ground", "North", SpotKind.STANDARD, 10),
            ("Ground", "North", SpotKind.ACCESSIBLE, 2),
            ("Ground", "South", SpotKind.EV, 2),
            ("Ground", "South", SpotKind.MOTORCYCLE, 2),
        ],
    ),
    (
        LotInput(
            name="Old Town Plaza Parking",
            address="88 Market Square",
            city="Bristol",
            latitude=51.4545,
            longitude=-2.5879,
            timezone="Europe/London",
            currency="GBP",
            hourly_rate_cents=300,
            daily_max_cents=2400,
            grace_minutes=10,
            amenities=("covered", "ev_charging", "accessible", "security"),
            height_limit_cm=195,
        ),
        [
            ("P1", "Red", SpotKind.STANDARD, 40),
            ("P1", "Red", SpotKind.ACCESSIBLE, 6),
            ("P2", "Blue", SpotKind.COMPACT, 20),
            ("P2", "Green", SpotKind.EV, 10),
            ("P2", "Green", SpotKind.MOTORCYCLE, 8),
            ("P3", "Roof", SpotKind.STANDARD, 30),
        ],
    ),
]

ACCOUNTS = [
    ("admin@parkapp.example.com", "Avery Admin", "admin"),
    ("operator@parkapp.example.com", "Oli Operator", "operator"),
    ("driver@parkapp.example.com", "Dana Driver", "user"),
]


# (lot index, rate): a night rate and an EV rate at the harbour, a weekend flat in Bristol.
DEMO_RATES = [
    (0, rates.RateInput("Night", 100, band_starts=time(19, 0), band_ends=time(7, 0))),
    (0, rates.RateInput("EV bays", 300, spot_kind="ev")),
    (2, rates.RateInput("Weekend day ticket", 1200, kind="flat", weekdays=0b1100000)),
]

# (code, name, kind, value, lot index or None, max uses, max uses per driver)
DEMO_CODES = [
    ("WELCOME10", "Welcome offer", "percent", 10, None, None, 1),
    ("HARBOUR2H", "Two free hours at the harbour", "free_hours", 2, 0, 100, None),
]


def has_data():
    """Whether any lot exists already."""
    return db.session.scalar(select(Lot.id).limit(1)) is not None


def seed(seed_value=7):
    """Create everything; return [(email, password, role)] for the demo accounts."""
    rng = random.Random(seed_value)
    ensure_roles()
    accounts, users = [], []
    for email, name, role in ACCOUNTS:
        password = secrets.token_urlsafe(9)
        user = user_datastore.find_user(email=email)
        if user is None:
            user = user_datastore.create_user(
                email=email, full_name=name, password=hash_password(password), roles=[role]
            )
        else:
            user.password = hash_password(password)
        users.append(user)
        accounts.append((email, password, role))
    db.session.commit()
    lots = [_make_lot(data, layout) for data, layout in LOTS]
    for lot_index, rate in DEMO_RATES:
        rates.create_rate(lots[lot_index], rate)
    driver = users[2]
    vehicles = [
        Vehicle(user_id=driver.id, plate="AB12CDE", make="Volkswagen", model="Golf", colour="Blue"),
        Vehicle(
            user_id=driver.id,
            plate="EV70LTY",
            make="Nissan",
            model="Leaf",
            colour="White",
            is_ev=True,
        ),
    ]
    db.session.add_all(vehicles)
    db.session.commit()
    _history(rng, lots, driver, vehicles)
    _promo_codes(lots)
    _ev_stations(lots)
    _membership_plan()
    return accounts


# Chargers put on every demo ev spot in turn: (type, watts, connector, per kWh, idle/min).
DEMO_CHARGERS = [
    ("level2", 7400, "type2", 35, 10),
    ("level2", 22_000, "type2", 40, 10),
    ("dc_fast", 50_000, "ccs2", 55, 25),
    ("level1", 2300, "j1772", 25, 0),
]


def _ev_stations(lots):
    for lot in lots:
        for n, spot in enumerate(ev_stations.free_ev_spots(lot)):
            kind, watts, connector, per_kwh, idle = DEMO_CHARGERS[n % len(DEMO_CHARGERS)]
            ev_stations.create(
                ev_stations.StationInput(
                    spot_id=spot.id,
                    charger_type=kind,
                    power_w=watts,
                    connector=connector,
                    price_per_kwh_cents=per_kwh,
                    idle_fee_per_minute_cents=idle,
                    idle_grace_minutes=10,
                )
            )


def _membership_plan():
    """One plan on offer for every lot: 10 hours a month included, then 20% off."""
    if db.session.scalar(select(MembershipPlan.id).limit(1)) is None:
        memberships.create_plan(
            memberships.PlanInput(
                name="Commuter",
                description="For regular parkers: 10 hours a month free, then 20% off.",
                price_cents=4900,
                currency=LOTS[0][0].currency,
                vehicle_limit=2,
                included_hours=10,
                discount_percent=20,
            )
        )


def _promo_codes(lots):
    for code, name, kind, value, lot_index, max_uses, per_user in DEMO_CODES:
        if discounts.find(code) is None:
            lot_id = lots[lot_index].id if lot_index is not None else None
            discounts.create(
                discounts.DiscountInput(
                    code=code,
                    kind=kind,
                    value=value,
                    name=name,
                    lot_id=lot_id,
                    max_uses=max_uses,
                    max_uses_per_user=per_user,
                )
            )


def promo_code_notes():
    """One line per demo promo code, for the seed command's output."""
    lines = []
    for code, name, _kind, _value, lot_index, _max, per_user in DEMO_CODES:
        where = LOTS[lot_index][0].name if lot_index is not None else "any lot"
        once = ", once per driver" if per_user == 1 else ""
        lines.append(f"{code:<10} {name} ({where}{once})")
    return lines


def _make_lot(data, layout):
    lot = create_lot(data)
    for level, zone, kind, count in layout:
        spots.create_spots(lot, count, kind, level, zone)
    return lot


def _history(rng, lots, driver, vehicles, days=56):
    """Past stays for the driver and for walk-in plates, never overlapping on a spot."""
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for lot in lots:
        for spot in lot.spots:
            cursor = now - timedelta(days=days, hours=rng.randint(0, 12))
            while True:
                cursor += timedelta(hours=rng.randint(2, 30))
                length = timedelta(minutes=rng.choice([20, 45, 90, 150, 240, 480, 600]))
                if cursor + length >= now - timedelta(hours=1):
                    break
                own = rng.random() < 0.08
                plate = rng.choice(vehicles).plate if own else _random_plate(rng)
                _past_booking(
                    rng, lot, spot, cursor, cursor + length, driver if own else None, plate
                )
                cursor += length
    db.session.commit()


def _past_booking(rng, lot, spot, starts_at, ends_at, user, plate):
    roll = rng.random()  # 5 % cancelled, 3 % no-shows: the analytics rates show something
    status = (
        BookingStatus.CANCELLED
        if roll < 0.05
        else BookingStatus.NO_SHOW
        if roll < 0.08
        else BookingStatus.COMPLETED
    )
    done = status == BookingStatus.COMPLETED
    price = pricing.quote(pricing.Stay(lot, starts_at, ends_at, spot_kind=spot.kind)).total_cents
    booking = Booking(
        lot_id=lot.id,
        spot_id=spot.id,
        user_id=user.id if user else None,
        plate=plate,
        source=BookingSource.GATE if done and not user else BookingSource.WEB,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        booked_ends_at=ends_at,
        checked_in_at=starts_at if done else None,
        released_at=ends_at if done else None,
        cancelled_at=starts_at - timedelta(hours=2) if status == BookingStatus.CANCELLED else None,
        confirmation_code=new_code(),
        price_cents=price if done else None,
        quoted_cents=price,
        currency=lot.currency,
        created_at=starts_at - timedelta(hours=3),
    )
    db.session.add(booking)
    if done and price > 0:  # paid on the way out, so revenue charts have payments
        db.session.add(
            Payment(
                booking=booking,
                user_id=booking.user_id,
                method=rng.choice(GATE_METHODS),
                status=PaymentStatus.PAID,
                amount_cents=price,
                currency=lot.currency,
                idempotency_key=f"demo-{booking.confirmation_code}",
                receipt_number=new_receipt_number(ends_at),
                created_at=ends_at,
                paid_at=ends_at,
            )
        )


def _random_plate(rng):
    letters = "ABCDEFGHJKLMNOPRSTUVWXY"
    return (
        rng.choice(letters)
        + rng.choice(letters)
        + f"{rng.randint(10, 99)}"
        + "".join(rng.choice(letters) for _ in range(3))
    )

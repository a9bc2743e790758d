"""Demo data: three city car parks, staff, a driver and regular commuters, eight weeks of stays.

The stays follow a city car park's day (see `traffic`): weekday commuters 08:00-09:30, a
lunchtime bump, evenings, Saturday shoppers, a quiet Sunday; some cars are inside now, the
regulars have reservations ahead, a few EV stays charged, and the harbour's EV bays are full
with drivers queued for them. Seeded random: the same seed gives the same history.
"""

import random
import secrets
from datetime import time

from flask_security import hash_password
from sqlalchemy import select

from parkapp.accounts.datastore import user_datastore
from parkapp.accounts.users import ensure_roles
from parkapp.analytics import rollups as analytics_rollups
from parkapp.billing import discounts
from parkapp.demo import extras, history, people
from parkapp.ev import stations as ev_stations
from parkapp.extensions import db
from parkapp.lots import spots
from parkapp.lots.lots import LotInput, create_lot
from parkapp.memberships import subscriptions as memberships
from parkapp.models import Lot, MembershipPlan, SpotKind
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

HISTORY_DAYS = 56  # eight weeks

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


def seed(seed_value=7, days=HISTORY_DAYS):
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
    _promo_codes(lots)
    _ev_stations(lots)
    plan = _membership_plan()
    operator, driver = users[1], users[2]
    regulars = people.driver_regulars(driver, lots) + people.commuters(rng, lots, plan)
    _history(rng, lots, regulars, days, people.occasional_drivers(rng))
    leaf = regulars[1].vehicle
    extras.full_ev_bays(rng, lots[0], operator, [(driver, leaf.plate), (None, "KE19VZT")])
    analytics_rollups.refresh()
    return accounts


def _history(rng, lots, regulars, days=HISTORY_DAYS, occasional=()):
    """Past and present stays and the reservations ahead, committed."""
    stays = history.generate(rng, lots, regulars, days=days, occasional=occasional)
    extras.charging_history(rng, stays)
    history.insert(stays)
    db.session.commit()
    return stays


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
    plan = db.session.scalar(select(MembershipPlan).order_by(MembershipPlan.id).limit(1))
    if plan is None:
        plan = memberships.create_plan(
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
    return plan


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

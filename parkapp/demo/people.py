"""The demo's people beyond the three accounts: regular commuters, their cars and memberships."""

import secrets
from datetime import timedelta

from flask_security import hash_password

from parkapp.accounts.datastore import user_datastore
from parkapp.demo.history import Regular
from parkapp.extensions import db
from parkapp.memberships import subscriptions as memberships
from parkapp.models import MembershipStatus, Vehicle, VehicleType, utcnow

# (email, name, (plate, make, model, colour, is_ev), lot index, weekdays, arrival hour,
#  hours stayed, member of the Commuter plan)
COMMUTERS = [
    ("priya.shah", "Priya Shah", ("PS19KLM", "Toyota", "Corolla", "Grey", False),
     0, (0, 1, 2, 3, 4), 8.0, 9.0, True),
    ("tom.evans", "Tom Evans", ("TE68BRV", "Ford", "Focus", "Blue", False),
     1, (0, 1, 2, 3, 4), 7.6, 10.0, True),
    ("grace.okafor", "Grace Okafor", ("GO21EVX", "Tesla", "Model 3", "White", True),
     0, (0, 1, 2, 3), 8.5, 8.0, True),
    ("sam.patel", "Sam Patel", ("SP20HGT", "Kia", "Ceed", "Black", False),
     2, (0, 1, 2, 3, 4), 8.75, 8.5, True),
    ("mark.hughes", "Mark Hughes", ("MH17TPS", "Skoda", "Octavia", "Silver", False),
     2, (1, 2, 3), 9.0, 7.5, False),
    ("lena.fischer", "Lena Fischer", ("LF70NRW", "Volkswagen", "Polo", "Red", False),
     1, (0, 2, 4), 7.9, 9.5, False),
]  # fmt: skip

DRIVER_VEHICLES = [
    ("AB12CDE", "Volkswagen", "Golf", "Blue", False),
    ("EV70LTY", "Nissan", "Leaf", "White", True),
]


def _vehicle(user, plate, make, model, colour, is_ev):
    vehicle = Vehicle(
        user_id=user.id,
        plate=plate,
        make=make,
        model=model,
        colour=colour,
        is_ev=is_ev,
        vehicle_type=VehicleType.CAR,
    )
    db.session.add(vehicle)
    return vehicle


def driver_regulars(driver, lots):
    """The demo driver's cars and habits: the Golf to the harbour three weekdays,
    the Leaf to the shops on Saturday late morning and out on Friday evenings."""
    golf, leaf = (_vehicle(driver, *row) for row in DRIVER_VEHICLES)
    db.session.commit()
    return [
        Regular(driver, golf, lots[0], (0, 1, 3), arrive_hour=8.4, hours=8.5, keen=0.8),
        Regular(driver, leaf, lots[2], (5,), arrive_hour=11.0, hours=2.0, keen=0.7),
        Regular(driver, leaf, lots[0], (4,), arrive_hour=18.5, hours=3.0, keen=0.5),
    ]


def commuters(rng, lots, plan, now=None):
    """Regular commuters with one car each; most hold the Commuter plan since some weeks."""
    now = now or utcnow()
    regulars = []
    # One hash of a secret nobody is told: these drivers reset their password to log in
    # (argon2 costs most of a second a hash on a busy machine).
    password = hash_password(secrets.token_urlsafe(16))
    for login, name, car, lot_index, days, arrive, hours, member in COMMUTERS:
        email = f"{login}@parkapp.example.com"
        user = user_datastore.find_user(email=email) or user_datastore.create_user(
            email=email,
            full_name=name,
            password=password,
            roles=["user"],
        )
        db.session.commit()
        vehicle = _vehicle(user, *car)
        db.session.commit()
        joined = now - timedelta(days=rng.randint(35, 52))
        membership = _membership(user, plan, vehicle, joined, now) if member else None
        regulars.append(
            Regular(user, vehicle, lots[lot_index], days, arrive, hours, 0.9, membership)
        )
    return regulars


def _membership(user, plan, vehicle, joined, now):
    """The plan taken out at `joined` and renewed by hand each month until now; None when
    payments are unavailable (no test mode and no Stripe) or wait for Stripe."""
    try:
        membership = memberships.subscribe(user, plan.id, [vehicle.id], now=joined)
    except memberships.PaymentsUnavailable:
        return None
    while membership.status == MembershipStatus.ACTIVE and membership.ends_at < now:
        memberships.renew(membership, now=membership.ends_at - timedelta(days=1))
    return membership if membership.status == MembershipStatus.ACTIVE else None


FIRST = ("Alex", "Ben", "Chloe", "Daniel", "Ella", "Finn", "Hannah", "Isaac", "Jess", "Kofi")
LAST = ("Brown", "Clarke", "Davies", "Green", "Khan", "Lewis", "Murphy", "Wood")
CARS = (
    ("Ford", "Fiesta"), ("Vauxhall", "Corsa"), ("Toyota", "Yaris"), ("BMW", "1 Series"),
    ("Audi", "A3"), ("Renault", "Clio"), ("Hyundai", "Kona Electric"), ("MG", "MG4 EV"),
)  # fmt: skip
COLOURS = ("Black", "White", "Grey", "Silver", "Blue", "Red")


def occasional_drivers(rng, count=40):
    """Drivers with an account and one car who park now and then (shopping, a meeting)."""
    password = hash_password(secrets.token_urlsafe(16))  # nobody is told it
    drivers = []
    for n in range(count):
        first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST) + n) % len(LAST)]
        email = f"{first.lower()}.{last.lower()}{n}@parkapp.example.com"
        user = user_datastore.find_user(email=email) or user_datastore.create_user(
            email=email, full_name=f"{first} {last}", password=password, roles=["user"]
        )
        make, model = rng.choice(CARS)
        plate = "".join(rng.choices("ABCDEFGHJKLMNOPRSTUVWXY", k=2)) + f"{rng.randint(15, 24)}"
        plate += "".join(rng.choices("ABCDEFGHJKLMNOPRSTUVWXY", k=3))
        drivers.append(
            (user, (plate, make, model, rng.choice(COLOURS), model.endswith(("Electric", "EV"))))
        )
    db.session.commit()
    regulars = [Regular(user, _vehicle(user, *car), None, ()) for user, car in drivers]
    db.session.commit()
    return regulars

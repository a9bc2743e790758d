"""Every route of the app, for five identities, against the policy table in route_policy.py.

One seeded world (two drivers' bookings, vehicles, payment, export, membership, waitlist
place, charging session; a lot with a rate, discount, plan, charger...) and one request per
identity and route: URL parameters are filled with driver A's objects, bodies are empty
(a 422 still shows the route let the caller in). Read-only requests go first; a request
that would take an object away from later ones (a delete, a deactivation) gets an object
of its own.
"""

import os
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from parkapp.accounts import vehicles as vehicle_service
from parkapp.billing import bills, discounts, payments
from parkapp.booking import claims, lifecycle
from parkapp.booking.claims import BookingRequest
from parkapp.ev import charging as ev
from parkapp.ev import stations as ev_stations
from parkapp.exports import jobs as exports
from parkapp.extensions import db
from parkapp.lots import levels, spots
from parkapp.lots.lots import LotInput, create_lot
from parkapp.memberships import subscriptions as memberships
from parkapp.memberships.subscriptions import PlanInput
from parkapp.merchants import merchants as merchant_rules
from parkapp.merchants import validations as merchant_validations
from parkapp.merchants.merchants import MerchantInput
from parkapp.models import Booking, ExportJob, JobKind, OutboxMail
from parkapp.pricing import rates
from parkapp.pricing.rates import RateInput
from parkapp.waitlist import queue as waitlist
from tests.conftest import AuthActions
from tests.route_policy import ALLOWED, DENIED, HIDDEN, IDENTITIES, POLICY, RESTART, policy_for

SKIPPED_METHODS = {"HEAD", "OPTIONS"}
PHASES = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
# Requests after which the identities sign in again (they signed out or rotated tokens).
# Flask-Security signs a user out who calls /tf-validate outside a two-factor step.
SIGNS_OUT = {
    "security.logout",
    "security.two_factor_token_validation",
    "api.auth_logout",
    "api.auth_refresh",
}


def routes(app):
    """(endpoint, method, rule) for every URL rule and method, read-only ones first."""
    found = [
        (rule.endpoint, method, rule)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - SKIPPED_METHODS)
    ]
    return sorted(found, key=lambda r: (PHASES.get(r[1], 1), r[0], r[1]))


def test_every_route_has_a_policy_line_and_every_line_a_route(app):
    present = {(endpoint, method) for endpoint, method, _ in routes(app)}
    rules = {endpoint: rule.rule for endpoint, _, rule in routes(app)}
    missing = sorted(
        f"{endpoint} {method} {rules[endpoint]}"
        for endpoint, method in present
        if policy_for(endpoint, method) is None
    )
    stale = []
    for endpoint, entry in sorted(POLICY.items()):
        methods = entry if isinstance(entry, dict) else {None: entry}
        for method in methods:
            if endpoint not in rules or (method and (endpoint, method) not in present):
                stale.append(f"{endpoint} {method or ''}".strip())
    message = []
    if missing:
        message.append(
            "Routes with no line in tests/route_policy.py POLICY (say who may use each):\n  "
            + "\n  ".join(missing)
        )
    if stale:
        message.append(
            "Lines in tests/route_policy.py POLICY naming no route (remove or rename them):\n  "
            + "\n  ".join(stale)
        )
    assert not message, "\n".join(message)


# --- the seeded world --------------------------------------------------------------------


@dataclass
class World:
    """The objects URL parameters are filled with; fresh_* make one for a single route."""

    users: dict
    lot: object
    spare_lot: object
    full_lot: object
    full_lot_pages: object
    booking: object
    payment: object
    job: object
    membership: object
    membership_b: object
    vehicle: object
    plan: object
    entry: object
    charge: object
    station: object
    discount: object
    rate: object
    spot: object
    mail: object
    merchant: object = None
    validation: object = None
    made: list = field(default_factory=list)

    def fresh_vehicle(self):
        n = len(self.made)
        self.made.append(vehicle_service.add_vehicle(self.users["driver_a"], f"FRESH{n}"))
        return self.made[-1].id

    def fresh_member_vehicle(self):
        vehicle_id = self.fresh_vehicle()
        memberships.attach_vehicle(self.membership, vehicle_id)
        return vehicle_id

    def fresh_spot(self):
        created = spots.create_spots(self.spare_lot, 1, "standard", label_prefix="X")
        return created[0].id

    def fresh_level(self):
        n = len(self.made)
        self.made.append(levels.create_level(self.lot, f"Fresh level {n}"))
        return self.made[-1].id

    def fresh_zone(self):
        level_id = self.fresh_level()
        self.made.append(levels.create_zone(self.lot, level_id, "Fresh zone"))
        return self.made[-1].id

    def fresh_discount(self):
        n = len(self.made)
        self.made.append(discounts.create(discounts.DiscountInput(f"FRESH{n}", "percent", 10)))
        return self.made[-1].id

    def fresh_plan(self):
        n = len(self.made)
        self.made.append(memberships.create_plan(PlanInput(f"Fresh {n}", 1000)))
        return self.made[-1].id


def _lot(name, spot_counts):
    lot = create_lot(
        LotInput(
            name=name,
            city="Testville",
            latitude=51.5,
            longitude=-0.12,
            timezone="Europe/London",
            currency="GBP",
            hourly_rate_cents=200,
            daily_max_cents=1500,
            grace_minutes=10,
        )
    )
    for kind, count in spot_counts.items():
        spots.create_spots(lot, count, kind, "L1", "A", label_prefix=kind[:2].upper())
    return lot


def _paid_stay(driver, lot, plate):
    """A stay of three hours, released and paid online by its driver."""
    stay = claims.create_booking(driver, BookingRequest(lot.id, plate))
    stay.starts_at -= timedelta(hours=3)
    stay.checked_in_at -= timedelta(hours=3)
    db.session.commit()
    lifecycle.release(stay, driver)
    due = bills.bill(stay).due_cents
    return payments.prepay(stay, driver, amount_cents=due, idempotency_key=payments.new_key())


def seed(make_user):
    """Driver A's and B's things, a lot with everything on it, a full lot with a queue."""
    users = {
        "driver_a": make_user(email="ada.a@example.com"),
        "driver_b": make_user(email="b@example.com"),
        "operator": make_user(email="op@example.com", roles=("operator",)),
        "admin": make_user(email="admin@example.com", roles=("admin",)),
        # a driver who is also a shop's staff (the merchant, made below, validates B's stay)
        "merchant": make_user(email="clerk@example.com"),
    }  # then C, the spare driver, whose id follows the merchant's
    a, b, spare_user = users["driver_a"], users["driver_b"], make_user(email="c@example.com")
    lot = _lot("Main", {"standard": 4, "ev": 1})
    spare_lot = _lot("Spare", {"standard": 1})
    # Everyone waits at two full lots: one for the API's routes, one for the pages'.
    full_lots = [_lot("Full", {"standard": 1}), _lot("Full too", {"standard": 1})]
    for full in full_lots:
        claims.create_booking(spare_user, BookingRequest(full.id, f"FULL{full.id}"))
    entries = {
        name: [waitlist.join(user, full.id, f"WAIT{n}") for full in full_lots]
        for n, (name, user) in enumerate(users.items())
    }
    for driver, plate in ((a, "AAA111"), (b, "BBB222")):
        vehicle_service.add_vehicle(driver, plate)
    plan = memberships.create_plan(PlanInput("Commuter", 4900, vehicle_limit=3))
    vehicle = a.vehicles[0]
    membership = memberships.subscribe(a, plan.id, [vehicle.id])
    membership_b = memberships.subscribe(b, plan.id, [b.vehicles[0].id])
    station = ev_stations.create(
        ev_stations.StationInput(
            spot_id=next(s.id for s in lot.spots if s.kind.value == "ev"),
            charger_type="level2",
            power_w=7400,
            connector="type2",
            price_per_kwh_cents=35,
        )
    )
    booking = claims.create_booking(a, BookingRequest(lot.id, "AAA111", spot_kind="ev"))
    charge = ev.start(booking, station, 0, users["operator"])
    payment = _paid_stay(a, lot, "AAA222")
    paid_b = _paid_stay(b, lot, "BBB333")
    job = exports.request_export(a, JobKind.BOOKINGS_CSV)
    exports.request_export(b, JobKind.BOOKINGS_CSV)
    mail = OutboxMail(recipients="a@example.com", subject="Hello", body="Hi")
    db.session.add(mail)
    db.session.commit()
    clerk = users["merchant"]
    merchant = merchant_rules.create(
        MerchantInput("Corner Shop", "free_hours", 1, lot_ids=[lot.id], staff_user_ids=[clerk.id])
    )
    validation = merchant_validations.validate(clerk, paid_b.booking.confirmation_code)
    return World(
        users=users,
        lot=lot,
        spare_lot=spare_lot,
        full_lot=full_lots[0],
        full_lot_pages=full_lots[1],
        booking=booking,
        payment=payment,
        job=job,
        membership=membership,
        membership_b=membership_b,
        vehicle=vehicle,
        plan=plan,
        entry=entries["driver_a"][0],
        charge=charge,
        station=station,
        discount=discounts.create(discounts.DiscountInput("SAVE10", "percent", 10)),
        rate=rates.create_rate(lot, RateInput("Day", 300)),
        spot=spots.create_spots(spare_lot, 1, "standard", label_prefix="S")[0],
        mail=mail,
        merchant=merchant,
        validation=validation,
    )


# How each URL parameter is filled: an attribute of the world (its id), or a fixed value.
PARAMS = {
    "lot_id": "lot",
    "booking_id": "booking",
    "payment_id": "payment",
    "job_id": "job",
    "membership_id": "membership",
    "vehicle_id": "vehicle",
    "plan_id": "plan",
    "entry_id": "entry",
    "session_id": "charge",
    "station_id": "station",
    "discount_id": "discount",
    "rate_id": "rate",
    "spot_id": "spot",
    "mail_id": "mail",
    "level_id": "fresh_level",
    "zone_id": "fresh_zone",
    "merchant_id": "merchant",
    "validation_id": "validation",
}
FIXED = {"chart": "occupancy", "token": "not-a-real-token"}
FILENAMES = {
    "static": "css/app.css",
    "security.static": "js/webauthn.js",
    "restx_doc.static": "swagger-ui.css",
}
# Routes that would take an object away from later routes get one of their own.
OVERRIDES = {
    ("api.vehicles_vehicle_item", "DELETE"): {"vehicle_id": "fresh_vehicle"},
    ("user.delete_vehicle", "POST"): {"vehicle_id": "fresh_vehicle"},
    ("api.lots_lot_item", "DELETE"): {"lot_id": "spare_lot"},
    ("admin.deactivate_lot", "POST"): {"lot_id": "spare_lot"},
    ("admin.reactivate_lot", "POST"): {"lot_id": "spare_lot"},
    ("api.lots_spot_item", "DELETE"): {"spot_id": "fresh_spot"},
    ("admin.delete_spot", "POST"): {"spot_id": "fresh_spot"},
    ("api.discounts_discount_item", "DELETE"): {"discount_id": "fresh_discount"},
    ("api.memberships_plan_item", "DELETE"): {"plan_id": "fresh_plan"},
    ("admin.withdraw_plan", "POST"): {"plan_id": "fresh_plan"},
    ("api.waitlist_lot_waitlist", "GET"): {"lot_id": "full_lot"},
    ("api.waitlist_lot_waitlist", "POST"): {"lot_id": "full_lot"},
    ("api.waitlist_lot_waitlist", "DELETE"): {"lot_id": "full_lot"},
    ("user.join_waitlist", "POST"): {"lot_id": "full_lot_pages"},
    ("user.leave_waitlist", "POST"): {"lot_id": "full_lot_pages"},
    ("user.detach_vehicle", "POST"): {"vehicle_id": "fresh_member_vehicle"},
}


def url_for_rule(world, endpoint, method, rule):
    """The rule's path with every parameter filled in."""
    overrides = OVERRIDES.get((endpoint, method), {})
    values = {}
    for name in rule.arguments:
        source = overrides.get(name) or PARAMS.get(name)
        if name == "filename":
            values[name] = FILENAMES[endpoint]
        elif name == "user_id":
            values[name] = world.users["merchant"].id + 1  # the spare driver, C
        elif name == "code":
            values[name] = world.booking.confirmation_code
        elif name in FIXED:
            values[name] = FIXED[name]
        elif source and source.startswith("fresh_"):
            values[name] = getattr(world, source)()
        elif source:
            values[name] = getattr(world, source).id
        else:
            raise AssertionError(f"{endpoint}: no way to fill <{name}>; add it to PARAMS")
    return rule.build(values, append_unknown=False)[1]


# --- identities and requests ---------------------------------------------------------------


class Identities:
    """A test client per identity, signed in to the pages, with API tokens."""

    def __init__(self, app, world):
        self.app, self.world = app, world
        self.clients, self.tokens = {"anonymous": app.test_client()}, {}
        self.sign_in()

    def sign_in(self):
        for name, user in self.world.users.items():
            client = self.clients[name] = self.app.test_client()
            auth = AuthActions(client)
            assert auth.login(user.email).status_code == 200
            self.tokens[name] = auth.tokens(user.email)
            if user.is_operator:  # the booth serves the main lot
                with client.session_transaction() as session:
                    session["gate_lot_id"] = self.world.lot.id

    def headers(self, name, endpoint):
        if name == "anonymous":
            return {}
        kind = "refresh_token" if endpoint == "api.auth_refresh" else "access_token"
        return {"Authorization": f"Bearer {self.tokens[name][kind]}"}


def outcome(response):
    """What the answer says about access: allowed, login, 401, 403, 404 or error."""
    status = response.status_code
    if status >= 500:
        return f"error {status}"
    if status in (401, 403, 404):
        return str(status)
    if 300 <= status < 400 and urlsplit(response.location or "").path == "/login":
        return "login"
    return ALLOWED


def expected(rule_policy, identity, api):
    """The outcome the policy asks for."""
    wanted = rule_policy.expect(identity)
    if wanted == HIDDEN:
        return "404"
    if wanted == RESTART:
        return "login"
    if wanted == DENIED:
        if identity == "anonymous":
            return "401" if api else "login"
        return "403"
    return ALLOWED


def request(identities, identity, endpoint, method, url):
    """One request as the identity: the API with its token, pages with its session."""
    client = identities.clients[identity]
    api = url.startswith("/api/")
    kwargs = {"headers": identities.headers(identity, endpoint)} if api else {}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json" if api else "data"] = {}
    response = client.open(url, method=method, **kwargs)
    body = response.get_data()
    response.close()  # downloads stream their file
    return response, body


def secrets_of(driver):
    """What only the driver and staff may read: email, plates, codes, receipt numbers."""
    db.session.rollback()
    found = {driver.email, *(v.plate for v in driver.vehicles)}
    for booking in db.session.scalars(select(Booking).where(Booking.user_id == driver.id)):
        found.update({booking.confirmation_code, booking.plate})
        found.update(p.receipt_number for p in booking.payments)
    return {value for value in found if value}


@pytest.fixture
def eager_tasks(app):
    """Celery tasks run inline; the export files they write are removed afterwards."""
    celery = app.extensions["celery"]
    celery.conf.task_always_eager = True
    yield
    celery.conf.task_always_eager = False
    db.session.rollback()
    for path in db.session.scalars(select(ExportJob.file_path)):
        if path and os.path.exists(path):
            os.remove(path)


def test_every_route_answers_each_identity_as_its_policy_says(app, make_user, eager_tasks):
    world = seed(make_user)
    identities = Identities(app, world)
    markers = secrets_of(world.users["driver_a"])
    failures, checked = [], 0
    for endpoint, method, rule in routes(app):
        rule_policy = policy_for(endpoint, method)
        if rule_policy is None:
            continue  # reported by the table test
        url = url_for_rule(world, endpoint, method, rule)
        api = url.startswith("/api/")
        # Refused identities first, so an allowed one cannot change what they see.
        order = sorted(IDENTITIES, key=lambda name: rule_policy.expect(name) == ALLOWED)
        for identity in order:
            response, body = request(identities, identity, endpoint, method, url)
            got, want = outcome(response), expected(rule_policy, identity, api)
            checked += 1
            where = f"{endpoint} {method} {url} as {identity}"
            if got != want:
                failures.append(
                    f"{where} ({rule_policy.name}): "
                    f"expected {want}, got {got} ({response.status_code})"
                )
            if identity in ("anonymous", "driver_b", "merchant"):
                leaked = sorted(m for m in markers if m.encode() in body)
                if leaked:
                    failures.append(f"{where}: shows driver A's {', '.join(leaked)}")
        if endpoint in SIGNS_OUT:
            identities.sign_in()
        db.session.rollback()  # see what the requests committed
    print(f"{checked} requests checked")
    assert not failures, f"{len(failures)} of {checked} answers break the policy:\n  " + (
        "\n  ".join(failures)
    )


# --- ids inside bodies and query strings ---------------------------------------------------

MISSING = 2**31 - 1  # an id no row has
X = object()  # where a body puts the id under test; URLs say {x}


def body_checks(world):
    """(method, url, body, kind of id) as driver B sends them, naming an id in {x} or X."""
    mine = world.membership_b.id
    return [
        ("POST", "/api/v1/payments", {"booking_id": X, "method": "online", "amount_cents": 1}),
        ("POST", "/api/v1/discounts/validate", {"booking_id": X, "code": "SAVE10"}),
        ("GET", "/api/v1/payments?booking_id={x}", None),
        ("GET", "/api/v1/ev-charging?booking_id={x}", None),
        ("POST", "/api/v1/ev-charging", {"booking_id": X}),
        ("POST", "/api/v1/memberships", {"plan_id": world.plan.id, "vehicle_ids": [X]}),
        ("POST", f"/api/v1/memberships/{mine}/vehicles", {"vehicle_id": X}),
        ("DELETE", f"/api/v1/memberships/{mine}/vehicles/{{x}}", None),
        ("POST", f"/memberships/{mine}/vehicles", {f"membership{mine}-vehicle_id": X}),
        ("POST", f"/memberships/{mine}/vehicles/{{x}}/remove", {}),
    ]


def _with_id(body, real):
    if body is X:
        return real
    if isinstance(body, list):
        return [_with_id(v, real) for v in body]
    if isinstance(body, dict):
        return {k: _with_id(v, real) for k, v in body.items()}
    return body


def _answer(identities, method, url, body):
    """(status, error code, list total) of driver B's request."""
    api = url.startswith("/api/")
    kwargs = {"headers": identities.headers("driver_b", "")} if api else {}
    if body is not None:
        kwargs["json" if api else "data"] = body
    response = identities.clients["driver_b"].open(url, method=method, **kwargs)
    data = response.get_json(silent=True) or {}
    db.session.rollback()
    return response.status_code, data.get("code"), data.get("total")


def test_driver_b_naming_driver_a_ids_in_a_body_is_answered_as_for_a_missing_id(
    app, make_user, eager_tasks
):
    world = seed(make_user)
    identities = Identities(app, world)
    differences = []
    for method, url, body in body_checks(world):
        real = world.vehicle.id if "vehicle" in url else world.booking.id
        own, missing = (
            _answer(identities, method, url.format(x=value), _with_id(body, value))
            for value in (real, MISSING)
        )
        if own != missing or (200 <= own[0] < 300 and own[2] is None):
            differences.append(f"{method} {url} {body}: A's id {own}, a missing id {missing}")
    assert not differences, "Driver B learns about driver A's objects:\n  " + "\n  ".join(
        differences
    )

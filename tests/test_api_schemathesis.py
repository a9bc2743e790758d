"""Schemathesis over every operation of /api/v1/swagger.json, in process, as an admin, an
operator and a driver, with all its checks: no server error, and every answer (status,
content type, headers, body) as the spec documents it.

Data: before each operation the database holds one of everything (lots with levels, zones
and spots, a rate, a discount, a plan and membership, bookings, a payment, an EV station
and charging session, a waitlist entry, an export). Half the generated cases have their
ids (path and body) pointed at those rows, so the deep paths run and not only their 404s.
An operation whose cases changed something (a write answered below 400) gets fresh data
before the next one, so one operation's deletes do not starve the others.

PARKAPP_FUZZ_EXAMPLES (default 6) bounds the examples per operation, mode and role.
"""

import os
from collections import Counter

import pytest
import schemathesis
from flask import current_app, g
from flask_security import hash_password
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.core.parameters import ParameterLocation

from parkapp.accounts import tokens
from parkapp.accounts.datastore import user_datastore
from parkapp.accounts.users import ensure_roles
from parkapp.extensions import db
from parkapp.lots import spots as spot_service
from parkapp.lots.lots import LotInput, create_lot
from tests.conftest import PASSWORD, _empty_tables, hours_from_now, iso

EXAMPLES = int(os.environ.get("PARKAPP_FUZZ_EXAMPLES", "6"))
ROLES = ("admin", "operator", "driver")
API = "/api/v1"
PLATE, EV_PLATE = "SEED1AB", "SEEDEV1"


def _ok(response, status=(200, 201, 202)):
    assert response.status_code in status, (response.request.path, response.get_json())
    return response.get_json()


def seed(client, password):
    """One of everything; returns {name: value} for steering and {role: token}."""
    ensure_roles()
    users = {
        role: user_datastore.create_user(
            email=f"{role}@example.com",
            password=password,
            full_name=f"Seed {role}",
            roles=["user" if role == "driver" else role],
        )
        for role in ROLES
    }
    db.session.commit()
    expiry = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    token = {role: tokens.issue_pair(user, expiry)["access_token"] for role, user in users.items()}
    as_ = {role: {"Authorization": f"Bearer {token[role]}"} for role in ROLES}

    lot = create_lot(
        LotInput(
            name="Seed Lot",
            city="Seedville",
            latitude=51.5,
            longitude=-0.12,
            timezone="Europe/London",
            currency="GBP",
            hourly_rate_cents=200,
            daily_max_cents=1500,
            grace_minutes=0,
        )
    )
    standard = spot_service.create_spots(lot, 3, "standard", "L1", "A", label_prefix="S")
    ev_spots = spot_service.create_spots(lot, 2, "ev", "L2", "E", label_prefix="E")
    small = create_lot(LotInput(name="Seed Small", city="Seedville", currency="GBP"))
    spot_service.create_spots(small, 1, "standard", label_prefix="X")  # no level: full soon
    lot_id, small_id, spot_id, ev_spot_id = lot.id, small.id, standard[2].id, ev_spots[0].id
    driver_id = users["driver"].id

    post = lambda role, path, body: client.post(f"{API}{path}", json=body, headers=as_[role])  # noqa: E731
    rate = _ok(
        post(
            "admin",
            "/rates",
            {
                "lot_id": lot_id,
                "name": "Night",
                "kind": "flat",
                "amount_cents": 500,
                "band_starts": "18:00",
                "band_ends": "06:00",
            },
        )
    )
    discount = _ok(post("admin", "/discounts", {"code": "SEED10", "kind": "percent", "value": 10}))
    plan = _ok(
        post(
            "admin",
            "/membership-plans",
            {
                "name": "Seed plan",
                "duration_months": 1,
                "price_cents": 4900,
                "currency": "GBP",
                "vehicle_limit": 2,
                "included_hours": 10,
                "discount_percent": 20,
            },
        )
    )
    vehicle = _ok(post("driver", "/vehicles", {"plate": PLATE}))
    # the membership covers another car: the seeded booking of PLATE keeps a price to pay
    covered = _ok(post("driver", "/vehicles", {"plate": "MEMBER 1"}))
    membership = _ok(
        post("driver", "/memberships", {"plan_id": plan["id"], "vehicle_ids": [covered["id"]]})
    )
    stay = {"starts_at": iso(hours_from_now(30)), "ends_at": iso(hours_from_now(32))}
    booking = _ok(post("driver", "/bookings", {"lot_id": lot_id, "vehicle_plate": PLATE, **stay}))
    payment = _ok(
        post(
            "driver",
            "/payments",
            {
                "booking_id": booking["id"],
                "method": "online",
                "amount_cents": booking["quote"]["total_cents"],
            },
        )
    )
    station = _ok(
        post(
            "admin",
            "/ev-stations",
            {
                "spot_id": ev_spot_id,
                "charger_type": "level2",
                "power_w": 7400,
                "connector": "type2",
                "price_per_kwh_cents": 35,
            },
        )
    )
    entry = _ok(
        post(
            "operator", "/gate/entry", {"lot_id": lot_id, "license_plate": EV_PLATE, "is_ev": True}
        )
    )
    charge = _ok(
        post(
            "operator",
            "/ev-charging",
            {"booking_id": entry["booking"]["id"], "station_id": station["id"], "start_wh": 0},
        )
    )
    _ok(post("operator", "/gate/entry", {"lot_id": small_id, "license_plate": "FULL1"}))
    queued = _ok(post("driver", f"/lots/{small_id}/waitlist", {"vehicle_plate": PLATE}))
    job = _ok(post("driver", "/exports", {"kind": "bookings_csv"}))
    db.session.remove()

    ids = {
        "lot_id": lot_id,
        "spot_id": spot_id,
        "booking_id": booking["id"],
        "code": booking["confirmation_code"],
        "discount_id": discount["id"],
        "discount_code": "SEED10",
        "entry_id": queued["id"],
        "job_id": job["id"],
        "membership_id": membership["id"],
        "payment_id": payment["id"],
        "plan_id": plan["id"],
        "rate_id": rate["id"],
        "session_id": charge["id"],
        "station_id": station["id"],
        "vehicle_id": vehicle["id"],
        "user_id": driver_id,
        "plate": PLATE,
        "vehicle_plate": PLATE,
        "license_plate": EV_PLATE,
        "ticket_number": entry["ticket_number"],
        "full_lot": small_id,  # not a parameter name: for test_seeded_data_is_reachable
    }
    return ids, token


def steer(case, ids):
    """Point the case's ids (path, query, body) at the seeded rows, where they are not
    the part a negative case made invalid on purpose."""

    def negative(location):
        return case.meta is not None and case.meta.is_negative_at(location)

    for location, values in (
        (ParameterLocation.PATH, case.path_parameters),
        (ParameterLocation.QUERY, case.query),
        (ParameterLocation.BODY, case.body),
    ):
        if isinstance(values, dict) and not negative(location):
            for name in list(values):
                if name in ids:
                    values[name] = ids[name]


class Run:
    """Counts and failures of one role's pass over the whole spec."""

    def __init__(self):
        self.cases = Counter()
        self.failures = {}
        self.dirty = False
        self.reseeds = 0


def fuzz(operation, run, state):
    """Generate bounded positive and negative cases for one operation and check each."""
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=strategy, steered=st.booleans())
    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case, steered):
        if steered:
            steer(case, state["ids"])
        # Sent as the run's explicit credentials, so the auth checks probe without them; a
        # case that left out its required headers on purpose goes without.
        dropped = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
        auth = {} if dropped else {"Authorization": f"Bearer {state['token']}"}
        run.cases[operation.label] += 1
        try:
            response = case.call(headers=auth)
            if operation.method.upper() != "GET" and response.status_code < 400:
                run.dirty = True
            case.validate_response(response, headers=auth)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group
            run.failures.setdefault(operation.label, f"{type(exc).__name__}: {exc}"[:3000])
        finally:
            db.session.remove()

    check()


def fresh_globals(wsgi_app):
    """Each request starts with an empty g, as in production (the test's app context
    stays pushed and Flask would reuse it, carrying the last request's user along)."""

    def call(environ, start_response):
        vars(g).clear()
        return wsgi_app(environ, start_response)

    return call


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_its_swagger_documents(app, client, role, monkeypatch):
    monkeypatch.setattr(app, "wsgi_app", fresh_globals(app.wsgi_app))
    monkeypatch.setitem(app.config, "STREAM_SECONDS", 1)  # an event stream ends, and quickly
    password = hash_password(PASSWORD)
    schema = schemathesis.openapi.from_wsgi(f"{API}/swagger.json", app)
    # Every check runs. Valid-by-schema data may still break a rule no schema can state (an
    # end before its start, a plate's letters, a lot's longest stay): 422 is its answer.
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
    )
    run = Run()
    state = {}

    def reseed():
        run.reseeds += 1
        db.session.remove()
        _empty_tables()
        ids, token = seed(client, password)
        state.update(ids=ids, token=token[role])

    reseed()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if run.dirty:
            reseed()
            run.dirty = False
        fuzz(operation, run, state)

    total = sum(run.cases.values())
    print(
        f"\nschemathesis as {role}: {len(operations)} operations, {total} cases, "
        f"{len(run.failures)} failing operations, {run.reseeds} fresh seeds"
    )
    report = "\n\n".join(f"{label}\n{text}" for label, text in sorted(run.failures.items()))
    assert not run.failures, report
    assert len(operations) >= 89 and total >= len(operations) * EXAMPLES


def test_seeded_data_is_reachable(app, client):
    """The seed itself works (a broken seed would make the fuzzing shallow, not fail)."""
    ids, token = seed(client, hash_password(PASSWORD))
    headers = {"Authorization": f"Bearer {token['driver']}"}
    for path in (
        f"/bookings/{ids['booking_id']}",
        f"/payments/{ids['payment_id']}",
        f"/memberships/{ids['membership_id']}",
        f"/exports/{ids['job_id']}",
        f"/lots/{ids['full_lot']}/waitlist",
    ):
        assert client.get(f"{API}{path}", headers=headers).status_code == 200, path
    assert ids["ticket_number"].startswith("T-")

"""API contract: the Swagger spec lists API.md's operations, responses match their documented
models, every error has API.md's body, and no input (wrong types, huge ids, junk) gives a 500."""

import re
from datetime import timedelta

import pytest

from parkapp.models import utcnow
from tests.conftest import hours_from_now, iso

API = "/api/v1"
HUGE_ID = 99999999999999999999

# API.md's core operations that this part of the API implements.
CONTRACT = {
    "/auth/register": {"post"},
    "/auth/token": {"post"},
    "/auth/refresh": {"post"},
    "/auth/logout": {"post"},
    "/auth/me": {"get"},
    "/lots": {"get", "post"},
    "/lots/{lot_id}": {"get", "patch", "delete"},
    "/lots/{lot_id}/spots": {"get", "post"},
    "/spots/{spot_id}": {"patch", "delete"},
    "/vehicles": {"get", "post"},
    "/vehicles/{vehicle_id}": {"get", "patch", "delete"},
    "/quotes": {"post"},
    "/bookings": {"get", "post"},
    "/bookings/{booking_id}": {"get"},
    "/bookings/by-code/{code}": {"get"},
    "/bookings/{booking_id}/check-in": {"post"},
    "/bookings/{booking_id}/release": {"post"},
    "/bookings/{booking_id}/cancel": {"post"},
    "/reports/dashboard": {"get"},
}
PUBLIC = {
    ("/ev-stations", "get"),
    ("/ev-stations/{station_id}", "get"),
    ("/lots", "get"),
    ("/lots/{lot_id}", "get"),
    ("/lots/{lot_id}/spots", "get"),
    ("/lots/{lot_id}/stream", "get"),
    ("/membership-plans", "get"),
    ("/membership-plans/{plan_id}", "get"),
    ("/quotes", "post"),
    ("/vehicle-types", "get"),
    ("/auth/register", "post"),
    ("/auth/token", "post"),
    ("/lots/{lot_id}/levels", "get"),
    ("/lots/{lot_id}/levels/{level_id}", "get"),
    ("/lots/{lot_id}/zones", "get"),
    ("/lots/{lot_id}/zones/{zone_id}", "get"),
    ("/open/occupancy", "get"),
    ("/lots/{lot_id}/stream", "get"),
}
PY_TYPES = {
    "integer": int,
    "number": (int, float),
    "string": str,
    "boolean": bool,
    "object": dict,
    "array": list,
}


@pytest.fixture
def spec(client):
    response = client.get(f"{API}/swagger.json")
    assert response.status_code == 200
    return response.get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def properties(spec, name):
    """A definition's properties, following RESTX's allOf inheritance."""
    definition = spec["definitions"][name]
    found = dict(definition.get("properties", {}))
    for part in definition.get("allOf", []):
        if "$ref" in part:
            found.update(properties(spec, part["$ref"].rsplit("/", 1)[1]))
        found.update(part.get("properties", {}))
    return found


def conforms(spec, schema, value, where="body"):
    """Assert a value has only documented fields of the documented types (null is allowed)."""
    if value is None:
        return
    if "$ref" in schema:
        assert isinstance(value, dict), f"{where}: expected an object"
        documented = properties(spec, schema["$ref"].rsplit("/", 1)[1])
        undocumented = set(value) - set(documented)
        assert not undocumented, f"{where}: undocumented fields {undocumented}"
        for key, item in value.items():
            conforms(spec, documented[key], item, f"{where}.{key}")
        return
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    kinds = [kind for kind in kinds if kind != "null"]
    if kinds:
        assert any(
            isinstance(value, PY_TYPES[kind])
            and not (kind in ("integer", "number") and isinstance(value, bool))
            for kind in kinds
        ), f"{where}: {value!r} is not {kinds}"
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            conforms(spec, schema["items"], item, f"{where}[{n}]")


def assert_error_body(response):
    assert response.status_code >= 400
    body = response.get_json()
    assert set(body) == {"message", "code", "errors"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["code"], str) and re.fullmatch(r"[a-z_]+", body["code"])
    assert isinstance(body["errors"], dict)
    assert all(
        isinstance(problems, list) and all(isinstance(p, str) for p in problems)
        for problems in body["errors"].values()
    )


class Caller:
    """Make a request, check its status, and check the body against the spec's documented response."""

    def __init__(self, client, spec, headers):
        self.client, self.spec, self.headers = client, spec, headers

    def __call__(self, method, template, status, params=None, **kwargs):
        path = template.format(**(params or {}))
        kwargs.setdefault("headers", self.headers)
        response = self.client.open(f"{API}{path}", method=method.upper(), **kwargs)
        assert response.status_code == status, (method, path, response.get_json())
        documented = self.spec["paths"][template][method]["responses"]
        assert str(status) in documented, f"{method} {template} does not document {status}"
        schema = documented[str(status)].get("schema")
        body = response.get_json() if response.data else None
        if schema is not None:
            conforms(self.spec, schema, body, f"{method} {template} {status}")
        if status >= 400:
            assert_error_body(response)
        return body


# -- the spec -------------------------------------------------------------------------------


def test_the_spec_lists_every_operation_of_the_contract(spec):
    listed = {}
    for path, method, _ in operations(spec):
        listed.setdefault(path, set()).add(method)
    for path, methods in CONTRACT.items():
        assert methods <= listed.get(path, set()), (
            f"{path} lacks {methods - listed.get(path, set())}"
        )


def test_every_operation_is_summarised_and_documents_its_errors(spec):
    for path, method, operation in operations(spec):
        if path.startswith("/auth"):
            continue  # documented by the auth namespace, checked by behaviour in test_api_auth
        assert operation.get("summary"), f"{method} {path} has no summary"
        responses = operation["responses"]
        assert any(code.startswith("2") for code in responses), f"{method} {path}"
        for code, response in responses.items():
            if code.startswith("4"):
                assert response["schema"] == {"$ref": "#/definitions/Error"}, (
                    f"{method} {path} {code}"
                )
        if (path, method) not in PUBLIC:
            assert "401" in responses, f"{method} {path} does not document 401"
            assert operation.get("security") != [], f"{method} {path} claims to be public"


def test_request_bodies_are_documented_models(spec):
    for path, method, operation in operations(spec):
        if method in ("post", "patch") and path.startswith(
            ("/lots", "/spots", "/vehicles", "/quotes")
        ):
            bodies = [p for p in operation.get("parameters", []) if p["in"] == "body"]
            if path.endswith(("/check-in", "/release", "/cancel")):
                continue
            assert bodies and "$ref" in bodies[0]["schema"], f"{method} {path} has no body model"


# -- responses match the documented models --------------------------------------------------


def test_a_whole_session_answers_as_documented(
    client, spec, auth, admin, operator, make_user, make_lot
):
    lot = make_lot(spots={"standard": 2, "ev": 1})
    admin_call = Caller(client, spec, auth.headers(admin.email))
    driver = make_user(email="driver@example.com")
    call = Caller(client, spec, auth.headers(driver.email))
    stranger = Caller(client, spec, auth.headers(make_user(email="x@example.com").email))
    anonymous = Caller(client, spec, {})
    ids = {"lot_id": lot.id}

    # lots and spots
    anonymous("get", "/lots", 200, query_string={"lat": 51.5, "lon": -0.1})
    anonymous(
        "get", "/lots", 200, query_string={"starts_at": iso(hours_from_now(1)), "spot_kind": "ev"}
    )
    anonymous("get", "/lots", 422, query_string={"lat": 51.5})
    anonymous("get", "/lots/{lot_id}", 200, ids)
    anonymous("get", "/lots/{lot_id}", 404, {"lot_id": 424242})
    anonymous("get", "/lots/{lot_id}/spots", 200, ids)
    anonymous("post", "/lots", 401, json={"name": "Nope"})
    call("post", "/lots", 403, json={"name": "Nope"})
    made = admin_call(
        "post", "/lots", 201, json={"name": "New", "opens_at": "06:00", "closes_at": "23:00"}
    )
    admin_call("post", "/lots", 409, json={"name": "new"})
    admin_call("post", "/lots", 422, json={"name": 5})
    admin_call(
        "patch",
        "/lots/{lot_id}",
        200,
        {"lot_id": made["id"]},
        json={"latitude": 1.5, "longitude": 2},
    )
    new_spots = admin_call(
        "post",
        "/lots/{lot_id}/spots",
        201,
        {"lot_id": made["id"]},
        json={"count": 2, "kind": "compact"},
    )
    admin_call(
        "patch",
        "/spots/{spot_id}",
        200,
        {"spot_id": new_spots[0]["id"]},
        json={"status": "maintenance"},
    )
    admin_call("delete", "/spots/{spot_id}", 204, {"spot_id": new_spots[1]["id"]})
    admin_call("delete", "/lots/{lot_id}", 204, {"lot_id": made["id"]})

    # vehicles
    vehicle = call("post", "/vehicles", 201, json={"plate": "AB12CDE"})
    call("post", "/vehicles", 409, json={"plate": "AB12CDE"})
    call("get", "/vehicles", 200)
    call("get", "/vehicles/{vehicle_id}", 200, {"vehicle_id": vehicle["id"]})
    call(
        "patch", "/vehicles/{vehicle_id}", 200, {"vehicle_id": vehicle["id"]}, json={"make": "Kia"}
    )
    stranger("get", "/vehicles/{vehicle_id}", 404, {"vehicle_id": vehicle["id"]})

    # quotes and bookings
    stay = {
        "lot_id": lot.id,
        "starts_at": iso(hours_from_now(2)),
        "ends_at": iso(hours_from_now(4)),
    }
    anonymous("post", "/quotes", 200, json=stay)
    anonymous("post", "/quotes", 422, json={**stay, "ends_at": stay["starts_at"]})
    reserved = call("post", "/bookings", 201, json={**stay, "vehicle_plate": "AB12CDE"})
    call("post", "/bookings", 409, json={**stay, "vehicle_plate": "AB12CDE"})
    start = (utcnow() - timedelta(seconds=20)).replace(microsecond=0)
    soon = call(
        "post",
        "/bookings",
        201,
        json={
            "lot_id": lot.id,
            "vehicle_plate": "CD34EFG",
            "starts_at": iso(start),
            "ends_at": iso(start + timedelta(hours=1)),
        },
    )
    call("get", "/bookings", 200)
    admin_call("get", "/bookings", 200, query_string={"status": "reserved"})
    call("get", "/bookings/{booking_id}", 200, {"booking_id": reserved["id"]})
    stranger("get", "/bookings/{booking_id}", 404, {"booking_id": reserved["id"]})
    Caller(client, spec, auth.headers(operator.email))(
        "get", "/bookings/by-code/{code}", 200, {"code": reserved["confirmation_code"]}
    )
    call("post", "/bookings/{booking_id}/check-in", 409, {"booking_id": reserved["id"]})
    call("post", "/bookings/{booking_id}/check-in", 200, {"booking_id": soon["id"]})
    call("post", "/bookings/{booking_id}/release", 200, {"booking_id": soon["id"]})
    call("post", "/bookings/{booking_id}/release", 409, {"booking_id": soon["id"]})
    call("post", "/bookings/{booking_id}/cancel", 200, {"booking_id": reserved["id"]})
    call("post", "/bookings/{booking_id}/cancel", 409, {"booking_id": reserved["id"]})
    admin_call("get", "/reports/dashboard", 200)
    call("get", "/reports/dashboard", 403)
    anonymous("get", "/reports/dashboard", 401)


# -- errors ---------------------------------------------------------------------------------


def test_framework_errors_have_the_error_body_too(client, auth, driver):
    headers = auth.headers(driver.email)
    for response in (
        client.post(
            f"{API}/bookings", data="{not json", content_type="application/json", headers=headers
        ),
        client.post(f"{API}/bookings", data="plate=AB12", headers=headers),  # not JSON at all
        client.put(f"{API}/lots"),
        client.get(f"{API}/no-such-thing"),
        client.get(f"{API}/lots/{HUGE_ID}"),
        client.post(f"{API}/bookings", json=[], headers=headers),
    ):
        assert_error_body(response)
    assert (
        client.post(
            f"{API}/bookings", data="{not json", content_type="application/json", headers=headers
        ).status_code
        == 400
    )


def test_an_enormous_id_is_404_on_every_path(client, spec, auth, admin):
    headers = auth.headers(admin.email)
    for path, method, _ in operations(spec):
        if "_id}" not in path:
            continue
        url = API + re.sub(r"\{\w+_id\}", str(HUGE_ID), path)
        response = client.open(url, method=method.upper(), json={}, headers=headers)
        assert response.status_code == 404, f"{method} {url}"
        assert_error_body(response)


# -- no input gives a 500 -------------------------------------------------------------------

WRONG_VALUES = [
    None,
    True,
    -1,
    10**30,
    1.5,
    float("nan"),
    "",
    "x" * 3000,
    "nul\x00",
    "2030-01-01T10:00:00",
    "9999-12-31T23:59:59-12:00",
    [],
    {"a": 1},
]


def _charging_session(make_lot, staff):
    """A charger on an ev spot charging a gate stay, for the endpoints that need their ids."""
    from parkapp.ev import charging as ev
    from parkapp.ev import stations as ev_stations
    from parkapp.gate import passage as gate

    ev_lot = make_lot(spots={"ev": 1})
    station = ev_stations.create(
        ev_stations.StationInput(ev_lot.spots[0].id, "level2", 7400, "type2", 35)
    )
    stay, _ = gate.enter(ev_lot.id, "EV12FZZ", operator=staff, is_ev=True)
    return ev.start(stay, station, 0, staff)


def _membership(client, auth, make_user):
    """A plan and a driver's membership of it: (plan id, membership id, driver headers)."""
    from parkapp.memberships import subscriptions as memberships

    plan = memberships.create_plan(memberships.PlanInput("Fuzz", 100))
    member = make_user(email="member@example.com")
    driver_headers = auth.headers(member.email)
    vehicle = client.post(
        f"{API}/vehicles", json={"plate": "ME12MBR"}, headers=driver_headers
    ).get_json()
    membership = memberships.subscribe(member, plan.id, [vehicle["id"]])
    return plan.id, membership.id, driver_headers


def test_wrong_typed_and_junk_bodies_never_give_a_server_error(
    client, spec, auth, admin, make_lot, make_user
):
    lot = make_lot()
    admin_headers = auth.headers(admin.email)
    headers = admin_headers
    vehicle = client.post(f"{API}/vehicles", json={"plate": "AD12MIN"}, headers=headers).get_json()
    discount = client.post(
        f"{API}/discounts", json={"code": "FUZZ1", "kind": "percent", "value": 5}, headers=headers
    ).get_json()
    rate = client.post(
        f"{API}/rates",
        json={"lot_id": lot.id, "name": "Fuzz", "kind": "hourly", "amount_cents": 100},
        headers=headers,
    ).get_json()
    charge = _charging_session(make_lot, admin)
    clerk = make_user(email="fuzz.clerk@example.com")  # validations are merchant staff's
    till = {"name": "Fuzz Till", "give_kind": "full_fee", "staff_user_ids": [clerk.id]}
    assert client.post(f"{API}/merchants", json=till, headers=headers).status_code == 201
    clerk_headers = auth.headers(clerk.email)
    merchant = client.post(  # another, for the fuzzed changes
        f"{API}/merchants", json={"name": "Fuzz Shop", "give_kind": "full_fee"}, headers=headers
    ).get_json()
    plan_id, membership_id, driver_headers = _membership(client, auth, make_user)
    # Only its driver changes a booking: the driver's own reservation, checked with their token.
    own_booking = client.post(
        f"{API}/bookings",
        json={
            "lot_id": lot.id,
            "vehicle_plate": "FZ12OWN",
            "starts_at": iso(hours_from_now(30)),
            "ends_at": iso(hours_from_now(32)),
        },
        headers=driver_headers,
    ).get_json()["id"]
    ids = {
        "lot_id": lot.id,
        "spot_id": lot.spots[0].id,
        "station_id": charge.station_id,
        "session_id": charge.id,
        "booking_id": own_booking,
        "vehicle_id": vehicle["id"],
        "discount_id": discount["id"],
        "rate_id": rate["id"],
        "plan_id": plan_id,
        "membership_id": membership_id,
        "level_id": lot.levels[0].id,
        "zone_id": lot.levels[0].zones[0].id,
        "user_id": admin.id,
        "merchant_id": merchant["id"],
    }
    valid = {
        "lot_id": lot.id,
        "vehicle_plate": "AB12CDE",
        "plate": "XY12ZZZ",
        "name": "Fuzz",
        "count": 1,
        "kind": "standard",
        "status": "active",
        "starts_at": iso(hours_from_now(2)),
        "ends_at": iso(hours_from_now(3)),
    }
    for path, method, operation in operations(spec):
        bodies = [p for p in operation.get("parameters", []) if p["in"] == "body"]
        if not bodies or path.startswith("/auth"):
            continue
        fields = properties(spec, bodies[0]["schema"]["$ref"].rsplit("/", 1)[1])
        url = API + path.format(**ids)
        # The body is checked after the token's role: memberships are the driver's.
        drivers = path.startswith("/memberships") or path == "/bookings/{booking_id}"
        headers = driver_headers if drivers else admin_headers
        if path == "/validations":
            headers = clerk_headers
        base = {name: valid[name] for name in fields if name in valid}
        for name in fields:
            for value in WRONG_VALUES:
                response = client.open(
                    url, method=method.upper(), json={**base, name: value}, headers=headers
                )
                assert response.status_code < 500, (method, path, name, value, response.get_json())
                if response.status_code >= 400:
                    assert_error_body(response)
        for body in ("[]", '"text"', "0", "null", "NaN", "{"):
            response = client.open(
                url,
                method=method.upper(),
                data=body,
                content_type="application/json",
                headers=headers,
            )
            assert response.status_code in (400, 422), (method, path, body)
            assert_error_body(response)


LOOKUPS = {"/gate/fee"}
JUNK_QUERY = ["\x00", "nan", "inf", "-1", str(HUGE_ID), "", "a" * 1000, "2030-01-01", "é"]


def test_junk_query_parameters_never_give_a_server_error(client, spec, auth, admin, lot):
    headers = auth.headers(admin.email)
    for path, method, operation in operations(spec):
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        if method != "get" or not names:
            continue
        url = API + path.format(lot_id=lot.id)
        # A lookup by what people type (a ticket, a plate) finds nothing: 404 is the answer.
        expected = (200, 403, 404, 422) if path in LOOKUPS else (200, 403, 422)
        for name in names:
            for value in JUNK_QUERY:
                response = client.get(url, query_string={name: value}, headers=headers)
                assert response.status_code in expected, (
                    path,
                    name,
                    value,
                    response.get_json(),
                )
    for junk in ("%00", "é", "a" * 500, "AB CD"):
        response = client.get(f"{API}/bookings/by-code/{junk}", headers=headers)
        assert response.status_code == 404


def test_requests_arriving_together_wait_for_the_completed_spec(app, monkeypatch):
    """The first requests of a gthread worker validated against a spec being completed (500)."""
    import threading

    from parkapp.api import spec as spec_module
    from parkapp.api.restx import api

    monkeypatch.setattr(api, "_schema", None)
    monkeypatch.setattr(api, "_completed", None, raising=False)
    started, real_complete = threading.Event(), spec_module.complete

    def slow_complete(generated):
        started.set()
        threading.Event().wait(0.5)  # another request arrives meanwhile
        return real_complete(generated)

    monkeypatch.setattr(spec_module, "complete", slow_complete)
    seen = []

    def read():
        with app.test_request_context():
            responses = api.__schema__["paths"]["/bookings"]["post"]["responses"]
            seen.append("413" in responses)  # as the reader got it, not after

    first = threading.Thread(target=read)
    first.start()
    assert started.wait(timeout=10)
    read()  # the second reader, while the first completes the spec
    first.join(timeout=10)
    assert seen == [True, True]  # completed before either reader got it

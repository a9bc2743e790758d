"""Chargers under concurrent requests: real HTTP against gunicorn on PostgreSQL.

One session per station and per stay, one stop per session, and meter readings that never
go backwards in the table, however the requests interleave.
"""

import os
import threading
from collections import Counter

import pytest
import requests
from sqlalchemy import text

from parkapp.ev import charging as ev
from parkapp.ev import stations as ev_stations
from parkapp.extensions import db
from parkapp.gate import passage as gate
from tests.live_server import LiveServer
from tests.test_race import bearer, fresh_snapshot

CLIENTS = 16
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="HTTP races need PostgreSQL (set DATABASE_URL=postgresql://...); SQLite serialises "
    "writers under its write lock",
)


@pytest.fixture(scope="module")
def live_server(app):
    """gunicorn (4 workers x 8 threads) on the test database, for this module."""
    with LiveServer(os.environ["DATABASE_URL"], workers=4, threads=8) as server:
        yield server


def race(server, requests_):
    """POST every (path, body, headers) at the same moment; [(status, json)]."""
    barrier = threading.Barrier(len(requests_))
    results = [None] * len(requests_)

    def client(i, path, body, headers):
        with requests.Session() as http:
            barrier.wait()
            try:
                response = http.post(
                    f"{server.url}/api/v1{path}", json=body, headers=headers, timeout=120
                )
                results[i] = (response.status_code, response.json())
            except (requests.RequestException, ValueError) as exc:
                results[i] = ("no answer", repr(exc))

    threads = [
        threading.Thread(target=client, args=(i, *request)) for i, request in enumerate(requests_)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


@pytest.fixture
def charging_setup(make_lot, operator):
    lot = make_lot(spots={"ev": 1})
    station = ev_stations.create(
        ev_stations.StationInput(
            spot_id=lot.spots[0].id,
            charger_type="dc_fast",
            power_w=50_000,
            connector="ccs2",
            price_per_kwh_cents=50,
        )
    )
    stay, _ = gate.enter(lot.id, "EV12RCE", operator=operator, is_ev=True)
    return station, stay


def test_many_starts_at_once_make_exactly_one_session(live_server, operator, charging_setup):
    station, stay = charging_setup
    body = {"booking_id": stay.id, "station_id": station.id, "start_wh": 1000}
    results = race(live_server, [("/ev-charging", body, bearer(operator))] * CLIENTS)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: CLIENTS - 1}, f"{statuses}\n{live_server.log(2000)}"
    assert {b["code"] for s, b in results if s == 409} <= {"already_charging", "charger_busy"}
    fresh_snapshot()
    assert db.session.scalar(text("SELECT count(*) FROM charging_sessions")) == 1


def test_many_stops_at_once_stop_once_and_readings_never_go_backwards(
    live_server, operator, charging_setup
):
    station, stay = charging_setup
    charge = ev.start(stay, station, 1000, operator)
    readings = [
        (f"/ev-charging/{charge.id}/readings", {"wh": 1000 + 500 * i}, bearer(operator))
        for i in range(CLIENTS)
    ]
    results = race(live_server, readings)
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {200, 422} and statuses[200] >= 1, statuses
    fresh_snapshot()
    stored = db.session.scalars(
        text("SELECT wh FROM meter_readings WHERE session_id = :id ORDER BY id"),
        {"id": charge.id},
    ).all()
    assert stored == sorted(stored) and len(stored) == 1 + statuses[200]
    last = db.session.scalar(
        text("SELECT last_wh FROM charging_sessions WHERE id = :id"), {"id": charge.id}
    )
    assert last == stored[-1]

    stops = [
        (f"/ev-charging/{charge.id}/stop", {"stop_wh": 100_000 + i}, bearer(operator))
        for i in range(CLIENTS)
    ]
    results = race(live_server, stops)
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: CLIENTS - 1}, f"{statuses}\n{live_server.log(2000)}"
    winner = next(body for status, body in results if status == 200)
    fresh_snapshot()
    row = db.session.execute(
        text("SELECT status, stop_wh FROM charging_sessions WHERE id = :id"), {"id": charge.id}
    ).one()
    assert tuple(row) == ("finished", winner["stop_wh"])

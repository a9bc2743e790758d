"""Many vehicles at the gates at once: real HTTP against gunicorn on PostgreSQL.

Thirty entries race for the ten spots of one lot: exactly ten get a ticket, each on its own
spot, and the rest hear the lot is full; the table itself is checked with SQL.
"""

import os
import threading
from collections import Counter

import pytest
import requests
from sqlalchemy import text

from parkapp.extensions import db
from tests.live_server import LiveServer
from tests.test_race import bearer, holding_per_spot, overlapping_pairs

SPOTS, CLIENTS = 10, 30
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="HTTP races need PostgreSQL (set DATABASE_URL=postgresql://...); "
    "SQLite serialises every writer, so nothing races there",
)


@pytest.fixture(scope="module")
def live_server(app):
    """gunicorn (4 workers x 8 threads) on the test database, for this module."""
    with LiveServer(os.environ["DATABASE_URL"], workers=4, threads=8) as server:
        yield server


def enter_all(server, bodies, headers):
    """POST every body to /api/v1/gate/entry at the same moment; [(status, json)]."""
    barrier = threading.Barrier(len(bodies))
    results = [None] * len(bodies)

    def client(i, body):
        with requests.Session() as http:
            barrier.wait()
            try:
                response = http.post(
                    f"{server.url}/api/v1/gate/entry", json=body, headers=headers, timeout=120
                )
                results[i] = (response.status_code, response.json())
            except (requests.RequestException, ValueError) as exc:
                results[i] = ("no answer", repr(exc))

    threads = [threading.Thread(target=client, args=(i, b)) for i, b in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def test_thirty_vehicles_at_the_gates_of_a_ten_spot_lot(live_server, make_lot, operator):
    lot = make_lot(spots={"standard": SPOTS})
    bodies = [
        {"lot_id": lot.id, "license_plate": f"GATE{i:02d}", "gate": f"G{i % 3}"}
        for i in range(CLIENTS)
    ]
    results = enter_all(live_server, bodies, bearer(operator))

    statuses = Counter(status for status, _ in results)
    detail = f"{statuses}\n{[r for r in results if r[0] not in (201, 409)][:3]}"
    assert statuses == {201: SPOTS, 409: CLIENTS - SPOTS}, f"{detail}\n{live_server.log(2000)}"
    assert {body["code"] for status, body in results if status == 409} == {"lot_full"}
    admitted = [body for status, body in results if status == 201]
    assert len({body["ticket_number"] for body in admitted}) == SPOTS
    assert len({body["spot"]["id"] for body in admitted}) == SPOTS

    db.session.rollback()  # read what the server committed
    assert sorted(holding_per_spot(lot.id).values()) == [1] * SPOTS
    assert overlapping_pairs(lot.id) == 0
    tickets = db.session.execute(
        text(
            "SELECT count(*), count(DISTINCT ticket_number), count(DISTINCT spot_id) "
            "FROM bookings WHERE lot_id = :lot AND status = 'active' AND source = 'gate'"
        ),
        {"lot": lot.id},
    ).one()
    assert tuple(tickets) == (SPOTS, SPOTS, SPOTS)

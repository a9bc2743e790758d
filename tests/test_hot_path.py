"""The booking hot path's cost in SQL statements, and list endpoints free of N+1 queries."""

import itertools
from datetime import timedelta

import pytest

from parkapp.extensions import db
from tests.conftest import api_book, hours_from_now, iso

# One park-now + release cycle through the API. PostgreSQL: the user (with roles) per
# request, and the token revocation check when Redis does not hold the revocations; book: lot with rates, vehicle (+ membership hint), plate check,
# locked candidate spot (+ level, zone), savepoint, analytics mark, INSERT, release
# savepoint; release: booking locked with lot, rates, spot, level, zone (+ payment and
# charging hints), analytics mark, UPDATE, waitlist check. SQLite (a looser bound) adds
# BEGIN statements, the re-read of the locked spot (no exclusion constraint there) and
# the reloads after committing the read transaction before BEGIN IMMEDIATE.
CYCLE_STATEMENTS = 12
REVOCATION_CHECKS = 2  # one per request, in the database without Redis
SQLITE_AT_MOST = 25


def _cycle(client, headers, lot, plate="HOT1"):
    booked = api_book(client, headers, lot, vehicle_plate=plate, starts_at=None, ends_at=None)
    assert booked.status_code == 201, booked.get_json()
    released = client.post(f"/api/v1/bookings/{booked.get_json()['id']}/release", headers=headers)
    assert released.status_code == 200, released.get_json()
    return booked.get_json(), released.get_json()


def test_book_and_release_cycle_runs_a_fixed_number_of_statements(
    app, client, driver_headers, make_lot, count_queries
):
    lot = make_lot(spots={"standard": 5})
    _cycle(client, driver_headers, lot)  # the vehicle exists from now on, as for a regular
    db.session.remove()  # each request starts with an empty session, as under gunicorn
    with count_queries() as statements:
        booked, released = _cycle(client, driver_headers, lot)
    if db.engine.dialect.name == "sqlite":
        assert len(statements) <= SQLITE_AT_MOST, statements.listing()
    else:
        expected = CYCLE_STATEMENTS + (0 if app.config["REDIS_URL"] else REVOCATION_CHECKS)
        assert len(statements) == expected, (
            f"one book + release cycle ran {len(statements)} statements, not "
            f"{expected}:\n" + statements.listing()
        )
    # The answers still carry what they did: spot details, quote, final price.
    assert booked["spot"]["level"] == "L1" and booked["spot"]["zone"] == "A"
    assert booked["quote"]["open_ended"] is True and booked["quote"]["total_cents"] == 200
    assert released["status"] == "completed" and released["price"]["amount_cents"] >= 0


def test_booked_answer_matches_a_fresh_read(client, driver_headers, make_lot):
    """Built from what the request loaded, the answer equals GET of the same booking."""
    lot = make_lot(spots={"standard": 2})
    booked = api_book(client, driver_headers, lot)
    assert booked.status_code == 201
    db.session.remove()
    fresh = client.get(f"/api/v1/bookings/{booked.get_json()['id']}", headers=driver_headers)
    assert fresh.get_json() == booked.get_json()


def test_a_spot_lost_to_a_race_is_retried_with_savepoints(
    client, driver_headers, make_user, make_lot, auth, monkeypatch
):
    """PostgreSQL inserts without a savepoint; a refused INSERT reruns the whole booking."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: its exclusion constraint refuses the INSERT")
    from sqlalchemy import select

    from parkapp.lots import availability
    from parkapp.models import Booking, Spot, SpotStatus

    lot = make_lot(spots={"standard": 2})
    taken = api_book(client, auth.headers(make_user().email), lot, vehicle_plate="RACE1")
    assert taken.status_code == 201
    real = availability.free_spots_query
    calls = []

    def stale_snapshot(lot_id, *args, **kwargs):  # as if the booking above committed just now
        calls.append(lot_id)
        if len(calls) > 1:
            return real(lot_id, *args, **kwargs)
        return (
            select(Spot)
            .where(Spot.lot_id == lot_id, Spot.status == SpotStatus.ACTIVE)
            .order_by(Spot.id != taken.get_json()["spot"]["id"], Spot.id)
        )

    monkeypatch.setattr(availability, "free_spots_query", stale_snapshot)
    booked = api_book(client, driver_headers, lot, vehicle_plate="RACE2")
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["spot"]["id"] != taken.get_json()["spot"]["id"]
    assert len(calls) == 2  # the stale candidate, then the fresh one in a new transaction
    db.session.remove()
    assert db.session.scalar(select(db.func.count(Booking.id))) == 2


PLATES = itertools.count()


# -- no N+1 -------------------------------------------------------------------------------


def _grows(client, url, headers, add_rows, count_queries):
    """(statements with few rows, statements with many rows) for GET url."""
    db.session.remove()
    with count_queries() as few:
        assert client.get(url, headers=headers).status_code == 200
    add_rows()
    db.session.remove()
    with count_queries() as many:
        response = client.get(url, headers=headers)
        assert response.status_code == 200
    return few, many


def _bookings(client, make_user, make_lot, auth, count):
    for _ in range(count):
        n = next(PLATES)
        user = make_user()
        headers = auth.headers(user.email)
        lot = make_lot(spots={"standard": 1})
        response = api_book(
            client,
            headers,
            lot,
            vehicle_plate=f"NP{n:04d}",
            starts_at=iso(hours_from_now(2 + n)),
            ends_at=iso(hours_from_now(3 + n)),
        )
        assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("url", ["/api/v1/bookings", "/api/v1/bookings?status=reserved"])
def test_admin_booking_list_queries_do_not_grow(
    client, admin_headers, auth, make_user, make_lot, count_queries, url
):
    _bookings(client, make_user, make_lot, auth, 1)
    few, many = _grows(
        client,
        url,
        admin_headers,
        lambda: _bookings(client, make_user, make_lot, auth, 8),
        count_queries,
    )
    assert len(many) == len(few), many.listing()


def test_driver_booking_list_queries_do_not_grow(client, driver_headers, make_lot, count_queries):
    lot = make_lot(spots={"standard": 12})

    def more():
        for n in range(1, 10):
            start = hours_from_now(10 * n)
            response = api_book(
                client,
                driver_headers,
                lot,
                vehicle_plate=f"DR{n:04d}",
                starts_at=iso(start),
                ends_at=iso(start + timedelta(hours=1)),
            )
            assert response.status_code == 201, response.get_json()

    api_book(client, driver_headers, lot, vehicle_plate="DR0000")
    for url in ("/api/v1/bookings", "/api/v1/vehicles"):
        db.session.remove()
        with count_queries() as few:
            assert client.get(url, headers=driver_headers).status_code == 200
        few_count = len(few)
        if url == "/api/v1/bookings":
            more()
        db.session.remove()
        with count_queries() as many:
            assert client.get(url, headers=driver_headers).status_code == 200
        assert len(many) == few_count, many.listing()


def test_lot_list_and_spots_queries_do_not_grow(client, make_lot, count_queries):
    lot = make_lot(spots={"standard": 1})
    for url, add in (
        ("/api/v1/lots", lambda: [make_lot(spots={"standard": 3, "ev": 1}) for _ in range(8)]),
        (
            f"/api/v1/lots/{lot.id}/spots",
            lambda: __import__("parkapp.lots.spots", fromlist=["create_spots"]).create_spots(
                db.session.get(type(lot), lot.id), 20, "standard", "L2", "B", label_prefix="X"
            ),
        ),
    ):
        few, many = _grows(client, url, {}, add, count_queries)
        assert len(many) == len(few), f"{url}\n" + many.listing()


# -- a dead connection --------------------------------------------------------------------


def test_dead_connection_answers_503_and_the_next_request_recovers(client, driver_headers):
    """No ping per checkout: a request on a killed connection fails cleanly, then it heals."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: its backends can be terminated")
    from sqlalchemy import create_engine, text

    assert client.get("/api/v1/bookings", headers=driver_headers).status_code == 200
    db.session.remove()  # the pooled connection is idle now
    killer = create_engine(db.engine.url)
    with killer.connect() as conn:
        killed = conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    killer.dispose()
    assert killed >= 1
    first = client.get("/api/v1/bookings", headers=driver_headers)
    assert first.status_code == 503, first.get_data(as_text=True)
    assert first.get_json()["code"] == "database_unavailable"
    assert first.headers["Retry-After"] == "1"
    db.session.remove()
    assert client.get("/api/v1/bookings", headers=driver_headers).status_code == 200

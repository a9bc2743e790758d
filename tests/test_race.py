"""Many clients at once never double-book: real HTTP against gunicorn on PostgreSQL.

Every race starts its clients on a barrier so the requests reach the server together, then
checks the answers (one winner, clean 409s, no 5xx) and the table itself with SQL.
"""

import os
import threading
from collections import Counter
from datetime import timedelta

import pytest
import requests
from flask_jwt_extended import create_access_token
from sqlalchemy import text

from parkapp.booking import claims
from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.booking.lifecycle import release
from parkapp.core.exceptions import Conflict
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, User, Vehicle, VehicleType
from tests.conftest import hours_from_now, iso
from tests.live_server import LiveServer

CLIENTS = 50
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="HTTP races need PostgreSQL (set DATABASE_URL=postgresql://...); "
    "SQLite serialises writers, which test_service_race_for_the_last_spot covers",
)


@pytest.fixture(scope="module")
def live_server(app):
    """gunicorn (4 workers x 8 threads) on the test database, for this module."""
    if not ON_POSTGRES:
        pytest.skip("the live server runs on PostgreSQL only")
    with LiveServer(os.environ["DATABASE_URL"], workers=4, threads=8) as server:
        yield server


def bearer(user):
    """An access token signed with the testing secret the server shares."""
    return {"Authorization": f"Bearer {create_access_token(identity=user.fs_uniquifier)}"}


def race(server, bodies_and_headers):
    """POST every (body, headers) to /api/v1/bookings at the same moment; [(status, json)]."""
    barrier = threading.Barrier(len(bodies_and_headers))
    results = [None] * len(bodies_and_headers)

    def client(i, body, headers):
        with requests.Session() as http:
            barrier.wait()
            try:
                response = http.post(
                    f"{server.url}/api/v1/bookings", json=body, headers=headers, timeout=120
                )
                results[i] = (response.status_code, _json(response))
            except requests.RequestException as exc:
                results[i] = ("no answer", repr(exc))

    threads = [
        threading.Thread(target=client, args=(i, body, headers))
        for i, (body, headers) in enumerate(bodies_and_headers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def _json(response):
    try:
        return response.json()
    except ValueError:
        return response.text[:300]


def assert_one_winner(results, server):
    statuses = Counter(status for status, _ in results)
    detail = f"{statuses}; unexpected: {[r for r in results if r[0] not in (201, 409)][:3]}"
    assert statuses == {201: 1, 409: len(results) - 1}, f"{detail}\n{server.log(2000)}"
    for status, body in results:
        if status == 409:
            assert body["code"] in {"lot_full", "spot_unavailable", "vehicle_busy"}, body


def holding_per_spot(lot_id):
    """{spot_id: number of reserved/active bookings} for one lot, read with SQL."""
    rows = db.session.execute(
        text(
            "SELECT spot_id, count(*) FROM bookings WHERE lot_id = :lot "
            "AND status IN ('reserved', 'active') GROUP BY spot_id"
        ),
        {"lot": lot_id},
    )
    return dict(rows.all())


def overlapping_pairs(lot_id):
    """Pairs of holding bookings on the same spot whose intervals overlap (must be none)."""
    return db.session.scalar(
        text(
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.spot_id = b.spot_id AND a.id < b.id "
            "WHERE a.lot_id = :lot AND a.status IN ('reserved', 'active') "
            "AND b.status IN ('reserved', 'active') "
            "AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')"
        ),
        {"lot": lot_id},
    )


def fresh_snapshot():
    """End this session's transaction so the next read sees what the clients committed."""
    db.session.rollback()


def drivers(make_user, count):
    return [make_user() for _ in range(count)]


@postgres_only
def test_last_free_spot_goes_to_exactly_one_of_many_park_now_clients(
    live_server, make_user, make_lot
):
    lot = make_lot(spots={"standard": 3})
    early = make_user()
    for n in range(2):  # two of the three spots are taken already
        create_booking(early, BookingRequest(lot_id=lot.id, plate=f"EARLY{n}"))
    users = drivers(make_user, CLIENTS)
    results = race(
        live_server,
        [
            ({"lot_id": lot.id, "vehicle_plate": f"RACE{i}"}, bearer(user))
            for i, user in enumerate(users)
        ],
    )
    assert_one_winner(results, live_server)
    fresh_snapshot()
    assert sorted(holding_per_spot(lot.id).values()) == [1, 1, 1]
    winner = next(body for status, body in results if status == 201)
    assert holding_per_spot(lot.id)[winner["spot"]["id"]] == 1


@postgres_only
def test_overlapping_reservations_of_one_chosen_spot_have_one_winner(
    live_server, make_user, make_lot
):
    lot = make_lot(spots={"standard": 2})
    spot = min(lot.spots, key=lambda s: s.label)
    base = hours_from_now(2)
    # Every interval contains [base + 49 min, base + 2 h), so each pair overlaps.
    bodies = [
        {
            "lot_id": lot.id,
            "spot_id": spot.id,
            "vehicle_plate": f"RES{i}",
            "starts_at": iso(base + timedelta(minutes=i)),
            "ends_at": iso(base + timedelta(hours=2, minutes=i)),
        }
        for i in range(CLIENTS)
    ]
    users = drivers(make_user, CLIENTS)
    results = race(
        live_server, [(body, bearer(user)) for body, user in zip(bodies, users, strict=True)]
    )
    assert_one_winner(results, live_server)
    fresh_snapshot()
    assert holding_per_spot(lot.id) == {spot.id: 1}
    assert overlapping_pairs(lot.id) == 0


@postgres_only
@pytest.mark.parametrize("known_vehicle", [True, False], ids=["known-vehicle", "new-vehicle"])
def test_one_vehicle_booking_many_spots_at_once_gets_one(
    live_server, driver, make_lot, known_vehicle
):
    lot = make_lot(spots={"standard": CLIENTS})
    if known_vehicle:
        db.session.add(Vehicle(user_id=driver.id, plate="SAME1", vehicle_type=VehicleType.CAR))
        db.session.commit()
    headers = bearer(driver)
    results = race(
        live_server,
        [
            ({"lot_id": lot.id, "spot_id": spot.id, "vehicle_plate": "SAME1"}, headers)
            for spot in lot.spots
        ],
    )
    assert_one_winner(results, live_server)
    fresh_snapshot()
    assert sum(holding_per_spot(lot.id).values()) == 1
    assert db.session.scalar(text("SELECT count(*) FROM vehicles WHERE plate = 'SAME1'")) == 1


@postgres_only
def test_many_clients_booking_any_spot_spread_out_over_free_spots(live_server, make_user, make_lot):
    lot = make_lot(spots={"standard": CLIENTS + 30})
    users = drivers(make_user, CLIENTS)
    results = race(
        live_server,
        [
            ({"lot_id": lot.id, "vehicle_plate": f"ANY{i}"}, bearer(user))
            for i, user in enumerate(users)
        ],
    )
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: CLIENTS}, f"{statuses}\n{live_server.log(2000)}"
    spot_ids = [body["spot"]["id"] for _, body in results]
    assert len(set(spot_ids)) == CLIENTS
    fresh_snapshot()
    per_spot = holding_per_spot(lot.id)
    assert len(per_spot) == CLIENTS and set(per_spot.values()) == {1}
    assert overlapping_pairs(lot.id) == 0


# --- the service layer under threads (any database; SQLite relies on BEGIN IMMEDIATE) -------


def _book_in_thread(
    app, barrier, user_id, lot_id, plate, spot_id, outcomes, starts=None, ends=None
):
    with app.app_context():
        user = db.session.get(User, user_id)
        barrier.wait()
        try:
            booking = create_booking(
                user,
                BookingRequest(
                    lot_id=lot_id, plate=plate, spot_id=spot_id, starts_at=starts, ends_at=ends
                ),
            )
            outcomes.append(("booked", booking.spot_id))
        except Conflict as exc:
            outcomes.append(("conflict", exc.code))
        except Exception as exc:  # any other error is a failure to report
            outcomes.append(("error", repr(exc)))
        finally:
            db.session.remove()


@pytest.mark.parametrize("chosen", [False, True], ids=["any-spot", "chosen-spot"])
def test_service_race_for_the_last_spot(app, make_user, make_lot, chosen):
    threads_count = 12
    lot = make_lot(spots={"standard": 1})
    spot_id = lot.spots[0].id if chosen else None
    user_ids = [make_user().id for _ in range(threads_count)]
    barrier, outcomes = threading.Barrier(threads_count), []
    threads = [
        threading.Thread(
            target=_book_in_thread, args=(app, barrier, uid, lot.id, f"THR{i}", spot_id, outcomes)
        )
        for i, uid in enumerate(user_ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    kinds = Counter(kind for kind, _ in outcomes)
    assert kinds == {"booked": 1, "conflict": threads_count - 1}, outcomes
    fresh_snapshot()
    assert holding_per_spot(lot.id) == {lot.spots[0].id: 1}


def _release_in_thread(app, booking_id, user_id, outcomes):
    with app.app_context():
        try:
            booking = db.session.get(Booking, booking_id)
            outcomes.append(release(booking, db.session.get(User, user_id)).status)
        except Exception as exc:  # reported by the assertion below
            outcomes.append(repr(exc))
        finally:
            db.session.remove()


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="row lock modes are PostgreSQL's (SQLite has one database-wide write lock)",
)
def test_release_does_not_wait_for_a_booker_holding_the_spot(app, make_user, make_lot, monkeypatch):
    """A booker's spot lock once blocked a release's foreign-key check: a deadlock under load."""
    lot = make_lot(spots={"standard": 1})
    spot_id = lot.spots[0].id
    parker = make_user()
    parked = create_booking(
        parker, BookingRequest(lot_id=lot.id, plate="PARKED1", ends_at=hours_from_now(1))
    )
    spot_locked, go_on = threading.Event(), threading.Event()
    real_insert = claims._insert

    def insert_after_a_pause(session, booking, spot, *args):
        spot_locked.set()  # the booker holds its lock on the spot from here until commit
        go_on.wait(timeout=60)
        return real_insert(session, booking, spot, *args)

    monkeypatch.setattr(claims, "_insert", insert_after_a_pause)
    booked, released = [], []
    booker_id = make_user().id
    booker = threading.Thread(
        target=_book_in_thread,
        args=(
            app,
            threading.Barrier(1),
            booker_id,
            lot.id,
            "LATER1",
            spot_id,
            booked,
            hours_from_now(2),
            hours_from_now(3),
        ),
    )
    booker.start()
    assert spot_locked.wait(timeout=60)
    releaser = threading.Thread(
        target=_release_in_thread, args=(app, parked.id, parker.id, released)
    )
    releaser.start()
    releaser.join(timeout=30)  # a bound for a blocked release, not a speed requirement
    finished_while_locked = not releaser.is_alive()
    go_on.set()
    booker.join(timeout=60)
    releaser.join(timeout=60)
    assert finished_while_locked, "release waited for the booker's lock on the spot"
    assert released == [BookingStatus.COMPLETED]
    assert booked == [("booked", spot_id)]

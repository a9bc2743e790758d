"""Freed spots reach the waitlist fairly under real concurrency: gunicorn on PostgreSQL.

Two stays released at the same moment give two different entries an offer, one each;
the same stay released by many clients at once frees its spot once and makes one offer.
"""

import os
import threading
from collections import Counter
from datetime import timedelta

import pytest
import requests
from flask_jwt_extended import create_access_token
from sqlalchemy import func, select

from parkapp.booking import claims, lifecycle
from parkapp.booking.claims import BookingRequest
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from parkapp.waitlist import offers as waitlist_offers
from parkapp.waitlist import queue as waitlist
from parkapp.waitlist import upkeep as waitlist_upkeep
from tests.live_server import LiveServer

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="HTTP races need PostgreSQL; SQLite serialises writers "
    "(test_waitlist covers concurrent announcements and joins there)",
)
ROUNDS = 5


@pytest.fixture(scope="module")
def live_server(app):
    """gunicorn (4 workers x 8 threads) on the test database, for this module."""
    with LiveServer(os.environ["DATABASE_URL"], workers=4, threads=8) as server:
        yield server


def bearer(user):
    return {"Authorization": f"Bearer {create_access_token(identity=user.fs_uniquifier)}"}


def post_together(urls_and_headers):
    """POST to every (url, headers) at the same moment; the status codes in order."""
    barrier = threading.Barrier(len(urls_and_headers))
    results = [None] * len(urls_and_headers)

    def client(i, url, headers):
        with requests.Session() as http:
            barrier.wait()
            try:
                results[i] = http.post(url, headers=headers, timeout=120).status_code
            except requests.RequestException as exc:
                results[i] = repr(exc)

    threads = [
        threading.Thread(target=client, args=(i, url, headers))
        for i, (url, headers) in enumerate(urls_and_headers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def full_lot_with_queue(make_lot, make_user, spots, waiting):
    """A lot whose `spots` standard spots are all taken, and `waiting` drivers queued."""
    lot = make_lot(spots={"standard": spots})
    stays = []
    for i in range(spots):
        parker = make_user()
        stays.append(claims.create_booking(parker, BookingRequest(lot.id, f"PARK{i}")))
    entries = [waitlist.join(make_user(), lot.id, f"WAIT{i}") for i in range(waiting)]
    return lot, stays, entries


def offers(lot_id):
    """{entry id: offered spot id} for the lot's offered entries, read fresh."""
    db.session.rollback()
    rows = db.session.execute(
        select(WaitlistEntry.id, WaitlistEntry.offered_spot_id).where(
            WaitlistEntry.lot_id == lot_id, WaitlistEntry.status == WaitlistStatus.OFFERED
        )
    )
    return dict(rows.all())


def holds_per_spot(lot_id):
    """{spot id: number of reserved or active bookings} (each spot must hold at most one)."""
    return dict(
        db.session.execute(
            select(Booking.spot_id, func.count(Booking.id))
            .where(Booking.lot_id == lot_id, Booking.status.in_(["reserved", "active"]))
            .group_by(Booking.spot_id)
        ).all()
    )


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_spots_released_at_once_go_to_two_different_entries(
    live_server, make_lot, make_user, round_
):
    lot, stays, entries = full_lot_with_queue(make_lot, make_user, spots=2, waiting=3)
    requests_ = [
        (f"{live_server.url}/api/v1/bookings/{stay.id}/release", bearer(stay.user))
        for stay in stays
    ]

    assert post_together(requests_) == [200, 200], live_server.log(2000)

    offered = offers(lot.id)
    assert sorted(offered) == sorted(e.id for e in entries[:2]), live_server.log(2000)
    assert sorted(offered.values()) == sorted(s.spot_id for s in stays)
    assert db.session.get(WaitlistEntry, entries[2].id).status == WaitlistStatus.WAITING
    assert holds_per_spot(lot.id) == {stays[0].spot_id: 1, stays[1].spot_id: 1}


@pytest.mark.slow
def test_one_stay_released_by_many_clients_at_once_is_offered_once(
    live_server, make_lot, make_user
):
    lot, stays, entries = full_lot_with_queue(make_lot, make_user, spots=1, waiting=3)
    url = f"{live_server.url}/api/v1/bookings/{stays[0].id}/release"

    results = post_together([(url, bearer(stays[0].user))] * 12)

    assert Counter(results) == {200: 1, 409: 11}, live_server.log(2000)
    assert offers(lot.id) == {entries[0].id: stays[0].spot_id}
    assert holds_per_spot(lot.id) == {stays[0].spot_id: 1}
    assert (
        db.session.scalar(
            select(func.count(Booking.id)).where(
                Booking.lot_id == lot.id, Booking.status == BookingStatus.RESERVED
            )
        )
        == 1
    )


@pytest.mark.slow
def test_an_offer_expiring_while_another_spot_frees_never_double_holds(
    app, live_server, make_lot, make_user
):
    """The minute task expiring an offer races a release over HTTP: one claim per spot."""
    lot, stays, entries = full_lot_with_queue(make_lot, make_user, spots=2, waiting=4)
    lifecycle.release(stays[0], stays[0].user)
    expired_at = db.session.get(WaitlistEntry, entries[0].id).offer_expires_at + timedelta(
        seconds=1
    )
    release_url = f"{live_server.url}/api/v1/bookings/{stays[1].id}/release"
    headers = bearer(stays[1].user)
    barrier, outcomes = threading.Barrier(2), []

    def expire():
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(("expired", waitlist_upkeep.expire_offers(now=expired_at)))
            finally:
                db.session.remove()

    def release():
        with requests.Session() as http:
            barrier.wait()
            outcomes.append(
                ("release", http.post(release_url, headers=headers, timeout=120).status_code)
            )

    threads = [threading.Thread(target=expire), threading.Thread(target=release)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == [("expired", 1), ("release", 200)], live_server.log(2000)
    offered = offers(lot.id)
    assert sorted(offered) == [entries[1].id, entries[2].id]
    assert sorted(offered.values()) == sorted(s.spot_id for s in stays)
    assert holds_per_spot(lot.id) == {stays[0].spot_id: 1, stays[1].spot_id: 1}


def test_a_second_spot_goes_to_the_next_entry_while_the_first_offer_is_being_made(
    app, make_lot, make_user, monkeypatch
):
    """Deterministic: offer A holds its entry's row lock; offer B must skip it, not wait."""
    lot, stays, entries = full_lot_with_queue(make_lot, make_user, spots=2, waiting=3)
    for stay in stays:  # free both spots without the hook; the offers come below
        db.session.execute(
            db.update(Booking)
            .where(Booking.id == stay.id)
            .values(status=BookingStatus.COMPLETED, ends_at=db.func.now())
        )
    db.session.commit()
    lot_id, spot_ids = lot.id, [s.spot_id for s in stays]
    entry_locked, finish_first = threading.Event(), threading.Event()
    real_hold = waitlist_offers._hold_booking

    def slow_hold(entry, spot, now, expires):
        if threading.current_thread().name == "first":
            entry_locked.set()
            finish_first.wait(timeout=30)
        return real_hold(entry, spot, now, expires)

    monkeypatch.setattr(waitlist_offers, "_hold_booking", slow_hold)
    results = {}

    def offer(name, spot_id):
        with app.app_context():
            try:
                results[name] = [e.id for e in waitlist_offers.offer_next(lot_id, spot_id)]
            finally:
                db.session.remove()

    first = threading.Thread(target=offer, args=("first", spot_ids[0]), name="first")
    second = threading.Thread(target=offer, args=("second", spot_ids[1]), name="second")
    first.start()
    assert entry_locked.wait(timeout=30)
    second.start()
    second.join(timeout=10)
    finished_while_first_held_its_lock = not second.is_alive()
    finish_first.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert finished_while_first_held_its_lock
    assert results == {"first": [entries[0].id], "second": [entries[1].id]}
    assert offers(lot_id) == {entries[0].id: spot_ids[0], entries[1].id: spot_ids[1]}

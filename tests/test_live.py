"""Live availability: versions bumped on commit, cached counts, ETags, pub/sub, and search."""

import os
import socket
import threading
import time
from datetime import timedelta

import pytest
import redis
from sqlalchemy import text

from parkapp import create_app
from parkapp.booking import upkeep
from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.lots import live
from parkapp.models import Booking, BookingStatus, utcnow
from tests.conftest import PASSWORD, api_book

AVAIL = "/lots/availability"
needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="versions and the counts cache live in Redis; without it every request counts afresh",
)


def version(lot):
    return live.versions([lot.id])[str(lot.id)]


def park_now(client, headers, lot, plate="LIVE1"):
    response = api_book(client, headers, lot, vehicle_plate=plate, starts_at=None, ends_at=None)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def counts(client, *lots):
    response = client.get(f"{AVAIL}?ids={','.join(str(lot.id) for lot in lots)}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@needs_redis
def test_the_version_moves_on_booking_release_and_gate_entry(
    client, make_lot, driver_headers, operator
):
    lot = make_lot(spots={"standard": 3})
    other = make_lot()
    before, other_before = version(lot), version(other)

    booking = park_now(client, driver_headers, lot)
    after_booking = version(lot)
    assert after_booking > before
    assert version(other) == other_before  # another lot's cache stays warm

    response = client.post(f"/api/v1/bookings/{booking['id']}/release", headers=driver_headers)
    assert response.status_code == 200, response.get_json()
    after_release = version(lot)
    assert after_release > after_booking

    gate.enter(lot.id, "GATE1", operator=operator)
    assert version(lot) > after_release


@needs_redis
def test_a_rolled_back_change_does_not_move_the_version(make_lot):
    lot = make_lot()
    before = version(lot)
    lot.name = "Renamed but never saved"
    db.session.flush()
    db.session.rollback()
    assert version(lot) == before


@needs_redis
def test_a_bulk_update_of_bookings_moves_every_version(client, make_lot, driver_headers):
    lot = make_lot()
    park_now(client, driver_headers, lot)
    every = live.versions([lot.id])[live.EVERY_LOT]
    db.session.execute(
        db.update(Booking).where(Booking.lot_id == lot.id).values(status=BookingStatus.COMPLETED)
    )
    db.session.commit()
    assert live.versions([lot.id])[live.EVERY_LOT] > every
    assert counts(client, lot)[str(lot.id)]["available_now"] == 2


def test_a_no_show_expired_by_upkeep_frees_the_spot_at_once(client, lot, driver_headers):
    booking = api_book(client, driver_headers, lot).get_json()
    with db.engine.begin() as conn:  # behind the app's back: as if booked hours ago
        conn.execute(
            text("UPDATE bookings SET starts_at = :s, ends_at = :e WHERE id = :id"),
            {
                "s": utcnow() - timedelta(hours=2),
                "e": utcnow() + timedelta(hours=1),
                "id": booking["id"],
            },
        )
    db.session.rollback()  # end the test's read snapshot, as a new request or task would
    assert counts(client, lot)[str(lot.id)]["available_now"] == 1

    assert upkeep.expire_no_shows() == 1
    assert counts(client, lot)[str(lot.id)]["available_now"] == 2


def test_counts_by_kind_and_unknown_or_inactive_lots_left_out(client, make_lot, driver_headers):
    lot = make_lot(spots={"standard": 2, "ev": 1})
    closed = make_lot()
    closed.is_active = False
    db.session.commit()
    park_now(client, driver_headers, lot)

    doc = counts(client, lot, closed)
    assert set(doc) == {str(lot.id)}
    assert doc[str(lot.id)] == {
        "available_now": 2,
        "total_spots": 3,
        "by_kind": {
            "ev": {"total": 1, "available": 1},
            "standard": {"total": 2, "available": 1},
        },
    }


@pytest.mark.parametrize("ids", ["", "1,x", "-1", ",".join(["1"] * 101), "1" * 12])
def test_bad_ids_are_refused_with_422(client, ids):
    response = client.get(f"{AVAIL}?ids={ids}", headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["ids"]


def test_etag_answers_304_until_a_booking_changes_the_counts(client, lot, driver_headers):
    first = client.get(f"{AVAIL}?ids={lot.id}")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"

    again = client.get(f"{AVAIL}?ids={lot.id}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""

    park_now(client, driver_headers, lot)
    changed = client.get(f"{AVAIL}?ids={lot.id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.get_json()[str(lot.id)]["available_now"] == 1


@needs_redis
def test_counts_are_cached_and_a_booking_invalidates_them_at_once(client, lot, driver_headers):
    assert counts(client, lot)[str(lot.id)]["available_now"] == 2
    # A change behind the app's back (no commit through the session) is not seen while the
    # cached counts last: the page really reads the cache.
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE spots SET status = 'maintenance' WHERE lot_id = :id"), {"id": lot.id}
        )
    assert counts(client, lot)[str(lot.id)]["available_now"] == 2
    page = client.get("/", query_string={"q": lot.name})
    assert b"<span data-free>2</span> of <span data-total>2</span> free" in page.data

    with db.engine.begin() as conn:
        conn.execute(text("UPDATE spots SET status = 'active' WHERE lot_id = :id"), {"id": lot.id})
    park_now(client, driver_headers, lot)  # committed through the session: seen at once
    assert counts(client, lot)[str(lot.id)]["available_now"] == 1
    page = client.get("/", query_string={"q": lot.name})
    assert b"<span data-free>1</span> of <span data-total>2</span> free" in page.data
    api = client.get("/api/v1/lots", query_string={"q": lot.name}).get_json()
    assert api["items"][0]["available_now"] == 1


def test_pages_show_live_counts_without_javascript(client, make_lot, driver_headers):
    lot = make_lot(spots={"standard": 2, "ev": 1})
    park_now(client, driver_headers, lot)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert f'data-live data-lot-id="{lot.id}" data-kind="standard"' in page
    assert '<span data-free>1</span> <span class="muted">/ <span data-total>2</span>' in page
    listing = client.get("/?kind=ev").get_data(as_text=True)
    assert f'data-live data-lot-id="{lot.id}" data-kind="ev"' in listing
    assert "<span data-free>1</span> of <span data-total>1</span> free" in listing


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down_app(app):
    """A second app whose Redis (cache, versions, pub/sub) points at a closed port."""
    return create_app("testing", {"REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0"})


def test_redis_down_fails_open(redis_down_app, make_lot, make_user):
    with redis_down_app.app_context():
        lot = make_lot()
        make_user(email="down@example.com")
        client = redis_down_app.test_client()
        token = client.post(
            "/api/v1/auth/token", json={"email": "down@example.com", "password": PASSWORD}
        ).get_json()["access_token"]
        started = time.monotonic()
        park_now(client, {"Authorization": f"Bearer {token}"}, lot)
        assert counts(client, lot)[str(lot.id)]["available_now"] == 1
        assert client.get("/").status_code == 200
        assert client.get(f"/lots/{lot.id}").status_code == 200
        assert client.get("/api/v1/lots").get_json()["items"][0]["available_now"] == 1
        assert live.versions([lot.id]) is None
        assert time.monotonic() - started < 10


@needs_redis
def test_a_subscriber_hears_the_lot_of_a_booking(app, client, lot, driver_headers):
    url = app.config["REDIS_URL"]
    subscriber = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe(live.CHANNEL)
    heard = []

    def listen():
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not heard:
            message = subscriber.get_message(timeout=0.2)
            if message:
                heard.append(message["data"].decode())

    thread = threading.Thread(target=listen)
    thread.start()
    park_now(client, driver_headers, lot)
    thread.join()
    subscriber.close()
    assert heard == [str(lot.id)]


def test_search_near_a_point_lists_lots_by_distance_with_km_and_free_counts(client, make_lot):
    far = make_lot(name="Far Park", latitude=51.60, longitude=-0.12)
    near = make_lot(name="Near Park", latitude=51.51, longitude=-0.12)
    make_lot(name="Nowhere Park", latitude=None, longitude=None)

    page = client.get("/?lat=51.5&lon=-0.12").get_data(as_text=True)
    assert page.index("Near Park") < page.index("Far Park")
    assert "Nowhere Park" not in page
    assert "<strong>1.1 km</strong>" in page and "<strong>11.1 km</strong>" in page
    assert f'data-live data-lot-id="{near.id}"' in page and f'data-lot-id="{far.id}"' in page
    assert 'id="lot-map"' not in page and "leaflet" not in page  # no tile server: no map


def test_the_map_appears_only_with_a_tile_server(app, client, make_lot):
    make_lot(name="Mapped Park", latitude=51.51, longitude=-0.12)
    app.config["MAP_TILE_URL"] = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    try:
        page = client.get("/?lat=51.5&lon=-0.12").get_data(as_text=True)
    finally:
        app.config["MAP_TILE_URL"] = ""
    assert 'id="lot-map"' in page
    assert "vendor/leaflet/leaflet.js" in page and "js/map.js" in page
    assert '"name": "Mapped Park"' in page and "unpkg" not in page and "cdn" not in page.lower()


@pytest.mark.skipif(
    bool(os.environ.get("REDIS_URL")),
    reason="with Redis the versions tell every process (test_counts_are_cached_...)",
)
def test_without_redis_a_change_in_another_process_is_seen_at_once(client, lot):
    """Without Redis nothing is cached, so a booking made elsewhere shows on the next request."""
    assert counts(client, lot)[str(lot.id)]["available_now"] == 2
    with db.engine.begin() as conn:  # as another gunicorn worker's commit would
        conn.execute(
            text("UPDATE spots SET status = 'maintenance' WHERE lot_id = :id"), {"id": lot.id}
        )
    db.session.rollback()  # end the test's read snapshot, as a new request would
    assert counts(client, lot)[str(lot.id)]["available_now"] == 0

"""GET /api/v1/lots/<id>/stream: availability at once, then within a second of each change."""

import json
import os
import threading
import time

import pytest
import requests
from flask_jwt_extended import create_access_token

from parkapp.extensions import db
from tests.conftest import api_book
from tests.live_server import LiveServer

API = "/api/v1"
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
WITH_REDIS = bool(os.environ.get("REDIS_URL"))


def parse(text):
    """The (event, data) pairs of a server-sent event stream's text."""
    found = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def read_events(chunks, count, seconds):
    """Read chunks until `count` events arrived or `seconds` passed."""
    text, deadline = "", time.monotonic() + seconds
    for chunk in chunks:
        text += chunk.decode() if isinstance(chunk, bytes) else chunk
        if len(parse(text)) >= count or time.monotonic() > deadline:
            break
    return parse(text)


@pytest.fixture
def short_streams(app, monkeypatch):
    monkeypatch.setitem(app.config, "STREAM_SECONDS", 5)
    monkeypatch.setitem(app.config, "STREAM_HEARTBEAT_SECONDS", 1)


def test_the_stream_starts_with_the_lots_availability(client, lot, short_streams):
    response = client.get(f"{API}/lots/{lot.id}/stream", buffered=False)

    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    first = read_events(response.response, 1, 5)
    response.close()
    assert first[0][0] == "availability"
    data = first[0][1]
    assert data["lot_id"] == lot.id and data["available_now"] == 2
    assert data["by_kind"]["standard"] == {"total": 2, "available": 2}


def test_a_booking_is_pushed_within_a_second(client, lot, driver_headers, short_streams):
    response = client.get(f"{API}/lots/{lot.id}/stream", buffered=False)
    chunks = iter(response.response)
    assert read_events(chunks, 1, 5)[0][1]["available_now"] == 2

    booked = api_book(client, driver_headers, lot, starts_at=None, ends_at=None)
    assert booked.status_code == 201
    db.session.rollback()
    started = time.monotonic()
    pushed = read_events(chunks, 1, 5)
    response.close()

    assert pushed and pushed[0][1]["available_now"] == 1
    assert time.monotonic() - started < 2.0  # the stream looks every second; CI load adds a little


def test_an_unknown_lot_is_404_and_too_many_streams_503(client, lot, app, monkeypatch):
    assert client.get(f"{API}/lots/999999/stream").status_code == 404
    monkeypatch.setitem(app.config, "STREAM_MAX_PER_PROCESS", 0)
    busy = client.get(f"{API}/lots/{lot.id}/stream")
    assert busy.status_code == 503 and busy.get_json()["code"] == "streams_busy"


@pytest.mark.skipif(not (ON_POSTGRES and WITH_REDIS), reason="needs PostgreSQL and Redis")
def test_a_change_made_on_another_server_reaches_the_stream(app, lot, driver):
    """Two gunicorn servers (as two hosts): a booking on one is pushed by the other's stream."""
    env = {"REDIS_URL": os.environ["REDIS_URL"], "STREAM_SECONDS": "10"}
    url = os.environ["DATABASE_URL"]
    token = create_access_token(identity=driver.fs_uniquifier)
    with (
        LiveServer(url, workers=2, threads=8, env=env) as watcher,
        LiveServer(url, workers=2, threads=8, env=env) as booker,
        requests.get(f"{watcher.url}{API}/lots/{lot.id}/stream", stream=True, timeout=15) as sse,
    ):
        chunks = sse.iter_content(chunk_size=None)
        assert read_events(chunks, 1, 5)[0][1]["available_now"] == 2
        results = {}

        def book():
            results["at"] = time.monotonic()
            results["response"] = requests.post(
                f"{booker.url}{API}/bookings",
                json={"lot_id": lot.id, "vehicle_plate": "SSE1"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=15,
            )

        thread = threading.Thread(target=book)
        thread.start()
        pushed = read_events(chunks, 1, 8)
        arrived = time.monotonic()
        thread.join()

    assert results["response"].status_code == 201, results["response"].text
    assert pushed and pushed[0][1]["available_now"] == 1
    assert arrived - results["at"] < 1.0 + results["response"].elapsed.total_seconds()

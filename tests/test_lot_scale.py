"""Big lots: the lot page a level and zone at a time, interval counts cached exactly, the
range-overlap rule on PostgreSQL, and the availability index."""

import os
import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from parkapp.extensions import db
from parkapp.lots import availability, live
from parkapp.lots import spots as spot_service
from parkapp.lots.lots import LotInput, create_lot
from parkapp.lots.spots import SPOTS_PER_PAGE
from parkapp.models import Booking, Spot, utcnow
from tests.conftest import api_book, iso

needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="without Redis nothing is cached"
)


def page_text(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def labels(html):
    return re.findall(r'<span class="code">([^<]+)</span>', html)


@pytest.fixture
def big_lot(make_lot):
    """A lot with a level of two zones (A more than a page), and spots on no level."""
    lot = make_lot(spots={"standard": 1})  # L1 / A: ST1
    spot_service.create_spots(lot, SPOTS_PER_PAGE + 9, "standard", "L1", "A", label_prefix="A")
    spot_service.create_spots(lot, 3, "ev", "L1", "B", label_prefix="B")
    spot_service.create_spots(lot, 2, "compact", label_prefix="X")  # no level, no zone
    return lot


def test_lot_page_lists_spots_by_level_and_zone_a_page_at_a_time(client, big_lot):
    html = page_text(client.get(f"/lots/{big_lot.id}"))
    groups = re.findall(r'group=([0-9a-z-]+)#spots">([^<]+)</a></td>\s*<td>([^<]+)</td>', html)
    assert [(name, zone) for _, name, zone in groups] == [
        ("L1", "A"),
        ("L1", "B"),
        ("No level", "—"),
    ]
    first = labels(html)
    assert len(first) == SPOTS_PER_PAGE and first[:3] == ["A1", "A2", "A3"]  # A2 before A10
    assert "Page 1 of 2" in html

    following = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    second = labels(page_text(client.get(following)))
    assert len(second) == 10 and second[-1] == "ST1" and not set(first) & set(second)

    no_level = next(key for key, name, _ in groups if name == "No level")
    html = page_text(client.get(f"/lots/{big_lot.id}?group={no_level}"))
    assert labels(html) == ["X1", "X2"] and "No level" in html and "2 of 2 free now" in html
    # a page past the end shows the last page rather than nothing
    assert labels(page_text(client.get(f"/lots/{big_lot.id}?group={no_level}&page=9"))) == [
        "X1",
        "X2",
    ]


def test_a_lot_whose_spots_have_no_level_shows_them_all(client):
    lot = create_lot(LotInput(name="Flat Lot"))
    spot_service.create_spots(lot, 2, "standard", label_prefix="N")
    html = page_text(client.get(f"/lots/{lot.id}"))
    assert (
        labels(html) == ["N1", "N2"] and '<table class="spot-groups"' not in html
    )  # one group: no table


def test_booking_a_spot_listed_on_another_page_of_the_grid(client, auth, driver, big_lot):
    auth.login()
    wanted = db.session.scalar(db.select(Spot).where(Spot.lot_id == big_lot.id, Spot.label == "X2"))
    html = page_text(client.get(f"/lots/{big_lot.id}"))
    assert f'<option value="{wanted.id}"' not in html  # the form offers the page's spots
    response = client.post(
        f"/lots/{big_lot.id}",
        data={"plate": "PAGE2", "spot": str(wanted.id), "when": "now", "book": "1"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    booking = db.session.scalar(db.select(Booking).where(Booking.plate == "PAGE2"))
    assert booking.spot_id == wanted.id


def test_the_overlap_rule_at_the_edges_of_intervals(make_lot, driver):
    lot = make_lot(spots={"standard": 1})
    spot = lot.spots[0]
    start = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    db.session.add(
        Booking(
            lot_id=lot.id,
            spot_id=spot.id,
            plate="EDGE1",
            status="reserved",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            confirmation_code="EDGE0001",
            currency="GBP",
        )
    )
    db.session.commit()
    hour = timedelta(hours=1)

    def free(begin, end):
        return availability.available_by_lot([lot.id], begin, end).get(lot.id, 0)

    assert free(start - hour, start) == 1  # ends where the booking starts
    assert free(start + 2 * hour, start + 3 * hour) == 1  # starts where it ends
    assert free(start + hour, start + 3 * hour) == 0
    assert free(start - hour, None) == 0  # open-ended from before it
    assert free(start + 2 * hour, None) == 1
    assert availability.counts_by_kind(lot.id, start, start + hour) == {spot.kind: (1, 0)}


@needs_redis
def test_interval_counts_are_cached_until_a_change_to_the_lot(client, lot, driver_headers):
    start, end = utcnow() + timedelta(days=2), utcnow() + timedelta(days=3)
    assert sum(f for _, f in live.lot_counts(lot.id, start, end).values()) == 2
    # behind the app's back (no commit through a session, no version bump): still cached
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE spots SET status = 'maintenance' WHERE lot_id = :id"), {"id": lot.id}
        )
    assert sum(f for _, f in live.lot_counts(lot.id, start, end).values()) == 2
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE spots SET status = 'active' WHERE lot_id = :id"), {"id": lot.id})

    booked = api_book(
        client,
        driver_headers,
        lot,
        starts_at=iso(start + timedelta(hours=1)),
        ends_at=iso(start + timedelta(hours=2)),
    )
    assert booked.status_code == 201, booked.get_json()
    assert sum(f for _, f in live.lot_counts(lot.id, start, end).values()) == 1
    api = client.get(
        f"/api/v1/lots/{lot.id}", query_string={"starts_at": iso(start), "ends_at": iso(end)}
    )
    assert api.get_json()["available"] == 1
    listed = client.get(
        "/api/v1/lots", query_string={"q": lot.name, "starts_at": iso(start), "ends_at": iso(end)}
    )
    assert listed.get_json()["items"][0]["available"] == 1


@needs_redis
def test_a_change_committed_while_counting_is_not_hidden_by_the_cache(
    client, lot, driver_headers, monkeypatch
):
    counted = live._count

    def count_then_book(*args, **kwargs):
        fresh = counted(*args, **kwargs)
        if not booked:  # another request books between the count and the cache write
            response = api_book(client, driver_headers, lot, starts_at=None, ends_at=None)
            assert response.status_code == 201, response.get_json()
            booked.append(response)
        return fresh

    booked = []
    monkeypatch.setattr(live, "_count", count_then_book)
    assert live.totals([lot.id])[lot.id] == (2, 2)  # counted before the booking
    assert booked
    assert live.totals([lot.id])[lot.id] == (2, 1)


def test_postgresql_has_the_partial_index_of_holding_bookings_by_lot():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("GiST and ranges are PostgreSQL's; SQLite's lots are small")
    definition = db.session.scalar(
        text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_bookings_holding_lot_range'")
    )
    assert "gist (lot_id, tstzrange(starts_at, ends_at, '[)'::text))" in definition
    assert "WHERE ((status)::text = ANY" in definition


def test_level_and_zone_counts_follow_a_booking_at_once(client, big_lot, driver_headers):
    spot = db.session.scalar(db.select(Spot).where(Spot.lot_id == big_lot.id, Spot.label == "X1"))
    group = f"/lots/{big_lot.id}?group=none-none"
    assert "2 of 2 free now" in page_text(client.get(group))
    booked = api_book(
        client, driver_headers, big_lot, spot_id=spot.id, starts_at=None, ends_at=None
    )
    assert booked.status_code == 201, booked.get_json()
    html = page_text(client.get(group))
    assert "1 of 2 free now" in html
    assert re.search(r'<span class="code">X1</span>.*?badge bad', html, re.S)

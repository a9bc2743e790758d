"""The open occupancy feed: public lots, free spots, status, ETag, CORS and caching."""

import re
from datetime import datetime, timedelta

from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.models import utcnow
from tests.conftest import api_book

FEED = "/api/v1/open/occupancy"


def test_the_feed_lists_public_lots_with_free_spots_and_status(
    client, make_lot, operator, admin_headers
):
    now = utcnow()
    busy = make_lot(name="Busy", spots={"standard": 2}, address="1 High St")
    full = make_lot(name="Full", spots={"standard": 1})
    closed = make_lot(
        name="Night closed",
        timezone="UTC",
        opens_at=(now + timedelta(hours=2)).time(),
        closes_at=(now + timedelta(hours=3)).time(),
    )
    hidden = make_lot(name="Private")
    gone = make_lot(name="Gone")
    gone.is_active = False
    db.session.commit()
    stay, _ = gate.enter(busy.id, "AB12CDE", operator=operator)
    gate.enter(full.id, "XY99ZZZ", operator=operator)
    left_out = client.patch(
        f"/api/v1/lots/{hidden.id}", json={"open_data": False}, headers=admin_headers
    )
    assert left_out.status_code == 200 and left_out.get_json()["open_data"] is False

    answer = client.get(FEED)  # no token
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Cache-Control"].startswith("public, max-age=")
    body = answer.get_json()
    by_name = {lot["name"]: lot for lot in body["items"]}
    assert set(by_name) == {"Busy", "Full", "Night closed"} and body["total"] == 3
    first = by_name["Busy"]
    assert (first["total_spots"], first["free_spots"], first["status"]) == (2, 1, "open")
    assert first["address"] == "1 High St" and first["latitude"] == 51.5
    assert first["opening_hours"]["osm"] == "24/7"
    updated = datetime.fromisoformat(first["updated_at"])
    assert stay.starts_at <= updated <= utcnow()
    assert (by_name["Full"]["free_spots"], by_name["Full"]["status"]) == (0, "full")
    night = by_name["Night closed"]
    assert night["status"] == "closed"
    assert night["opening_hours"]["opens_at"] == closed.opens_at.strftime("%H:%M")
    assert night["opening_hours"]["osm"].startswith("Mo-Su ")


def test_the_etag_answers_304_until_occupancy_changes(client, lot, driver_headers):
    first = client.get(FEED)
    etag = first.headers["ETag"]
    again = client.get(FEED, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["Access-Control-Allow-Origin"] == "*"
    parked = api_book(client, driver_headers, lot, starts_at=None, ends_at=None)
    assert parked.status_code == 201
    changed = client.get(FEED, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["items"][0]["free_spots"] == 1


def test_a_browser_preflight_is_allowed_from_any_origin(client, lot):
    answer = client.options(
        FEED,
        headers={"Origin": "https://maps.example", "Access-Control-Request-Method": "GET"},
    )
    assert answer.status_code in (200, 204)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in answer.headers["Access-Control-Allow-Methods"]


def test_admins_leave_a_lot_out_from_the_lot_form(client, auth, admin, lot):
    from tests.test_pages_admin import LOT_FIELDS

    auth.login(admin.email)
    fields = dict(LOT_FIELDS, name=lot.name)
    answer = client.post(f"/admin/lots/{lot.id}/edit", data=dict(fields, leave_out_of_feed="y"))
    assert answer.status_code == 302
    db.session.expire_all()
    assert lot.open_data is False
    assert client.get(FEED).get_json()["total"] == 0
    edit = client.get(f"/admin/lots/{lot.id}/edit").get_data(as_text=True)
    assert re.search(r'<input checked id="leave_out_of_feed"', edit)
    client.post(f"/admin/lots/{lot.id}/edit", data=fields)  # the box unticked
    db.session.expire_all()
    assert lot.open_data is True and client.get(FEED).get_json()["total"] == 1

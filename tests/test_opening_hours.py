"""Opening hours: closed lots refuse bookings and entries, stays end by closing unless the
lot allows overnight stays, drivers leave through the booth after closing, pages say so."""

from datetime import UTC, datetime, time, timedelta

import pytest

from parkapp.core.exceptions import WrongState
from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.lots import hours
from parkapp.models import Booking, BookingStatus, utcnow
from tests.conftest import api_book, iso
from tests.test_pages_user import book_form, field_errors, local, text

API = "/api/v1"


def now_minute():
    return utcnow().replace(second=0, microsecond=0)


def open_until(make_lot, minutes, **fields):
    """A UTC lot that opened an hour ago and closes `minutes` from now."""
    now = now_minute()
    return make_lot(
        timezone="UTC",
        opens_at=(now - timedelta(hours=1)).time(),
        closes_at=(now + timedelta(minutes=minutes)).time(),
        **fields,
    )


def closed_now(make_lot, **fields):
    now = now_minute()
    return make_lot(
        timezone="UTC",
        opens_at=(now + timedelta(hours=2)).time(),
        closes_at=(now + timedelta(hours=3)).time(),
        **fields,
    )


def test_a_booking_across_closing_time_is_refused_unless_the_lot_allows_overnight(
    client, make_lot, driver_headers, admin_headers
):
    lot = open_until(make_lot, 90)
    now = now_minute()
    crossing = {
        "starts_at": iso(now + timedelta(minutes=10)),
        "ends_at": iso(now + timedelta(hours=3)),
    }
    refused = api_book(client, driver_headers, lot, **crossing)
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "crosses_closing" and "ends_at" in body["errors"]
    assert "does not allow overnight" in body["message"]
    inside = api_book(
        client,
        driver_headers,
        lot,
        vehicle_plate="IN1SIDE",
        starts_at=iso(now + timedelta(minutes=10)),
        ends_at=iso(now + timedelta(minutes=90)),  # ends exactly at closing: fine
    )
    assert inside.status_code == 201
    quote = client.post(
        f"{API}/quotes", json={"lot_id": lot.id, **crossing}, headers=driver_headers
    )
    assert quote.status_code == 422 and quote.get_json()["code"] == "crosses_closing"

    changed = client.patch(
        f"{API}/lots/{lot.id}", json={"allow_overnight": True}, headers=admin_headers
    )
    assert changed.status_code == 200 and changed.get_json()["allow_overnight"] is True
    assert api_book(client, driver_headers, lot, **crossing).status_code == 201


def test_a_closed_lot_refuses_park_now_reservations_and_gate_entries(
    client, make_lot, driver_headers, operator
):
    lot = closed_now(make_lot)
    now = now_minute()
    parked = api_book(client, driver_headers, lot, starts_at=None, ends_at=None)
    assert parked.status_code == 409 and parked.get_json()["code"] == "lot_closed"
    assert "opens at" in parked.get_json()["message"]
    later = api_book(
        client,
        driver_headers,
        lot,
        starts_at=iso(now + timedelta(hours=4)),
        ends_at=iso(now + timedelta(hours=5)),
    )
    assert later.status_code == 422
    assert later.get_json()["code"] == "lot_closed" and "starts_at" in later.get_json()["errors"]
    with pytest.raises(WrongState) as refused:
        gate.enter(lot.id, "AB12CDE", operator=operator)
    assert refused.value.code == "lot_closed"


def test_after_closing_a_driver_leaves_through_the_booth_only(
    client, make_lot, driver_headers, operator_headers
):
    lot = open_until(make_lot, 120)
    parked = api_book(client, driver_headers, lot, starts_at=None, ends_at=None)
    assert parked.status_code == 201
    booking_id = parked.get_json()["id"]
    now = now_minute()  # the lot closes: its hours now lie ahead
    lot.opens_at, lot.closes_at = (
        (now + timedelta(hours=2)).time(),
        (now + timedelta(hours=3)).time(),
    )
    db.session.commit()

    mine = client.post(f"{API}/bookings/{booking_id}/release", headers=driver_headers)
    assert mine.status_code == 409
    assert mine.get_json()["code"] == "closed_use_booth" and "booth" in mine.get_json()["message"]
    assert db.session.get(Booking, booking_id).status == BookingStatus.ACTIVE
    booth = client.post(
        f"{API}/gate/exit", json={"license_plate": "AB12CDE"}, headers=operator_headers
    )
    assert booth.status_code == 200 and booth.get_json()["exit"] == "allowed"


def test_closing_and_opening_are_found_in_local_time_across_dst():
    class London:
        timezone, opens_at, closes_at = "Europe/London", time(7, 0), time(22, 0)
        allow_overnight = False

    spring = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # British Summer Time began at 01:00 UTC
    assert hours.next_closing(London, spring) == datetime(2026, 3, 29, 21, 0, tzinfo=UTC)
    assert hours.next_opening(London, spring) == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    winter = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)
    assert hours.next_opening(London, winter) == datetime(2026, 1, 11, 7, 0, tzinfo=UTC)

    class Night:  # open across midnight
        timezone, opens_at, closes_at = "UTC", time(18, 0), time(2, 0)

    late = datetime(2026, 1, 10, 23, 0, tzinfo=UTC)
    assert hours.is_open_at(Night, late)
    assert hours.next_closing(Night, late) == datetime(2026, 1, 11, 2, 0, tzinfo=UTC)


def test_notices_say_closing_soon_or_when_the_lot_opens(make_lot):
    now = now_minute()
    soon = open_until(make_lot, 30)
    assert hours.notice(soon, now) == "Closing in 30 min"
    later = open_until(make_lot, 300)
    assert hours.notice(later, now) is None
    shut = closed_now(make_lot)
    assert hours.notice(shut, now) == f"Closed · opens at {shut.opens_at:%H:%M}"
    assert hours.notice(make_lot(opens_at=None, closes_at=None), now) is None


def test_pages_show_the_notice_and_the_error_next_to_the_end_field(client, auth, driver, make_lot):
    lot = open_until(make_lot, 30, name="Early Close")
    shut = closed_now(make_lot, name="Shut Now")
    for page in (client.get(f"/lots/{lot.id}"), client.get("/?q=Early")):
        assert "Closing in 30 min" in text(page) or "Closing in 29 min" in text(page)
    assert f"Closed · opens at {shut.opens_at:%H:%M}" in text(client.get(f"/lots/{shut.id}"))
    auth.login()
    now = now_minute()
    response = client.post(
        f"/lots/{lot.id}",
        data=book_form(
            when="later",
            starts=local(now + timedelta(minutes=5), lot),
            ends=local(now + timedelta(hours=2), lot),
        ),
    )
    assert response.status_code == 422
    assert "does not allow overnight stays" in " ".join(field_errors(response, "ends"))

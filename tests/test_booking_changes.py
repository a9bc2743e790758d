"""Changing a booking's times through PATCH /bookings/{id}: same spot, another spot, or 409."""

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from parkapp.billing import bills as billing
from parkapp.booking import changes
from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.core.exceptions import Conflict
from parkapp.extensions import db
from parkapp.models import Booking, Refund, User
from tests.conftest import api_book, hours_from_now, iso, reservation

API = "/api/v1"


def patch(client, headers, booking, **fields):
    return client.patch(f"{API}/bookings/{booking.id}", json=fields, headers=headers)


def fresh(booking):
    db.session.rollback()
    return db.session.get(Booking, booking.id)


def fixed_stay(client, headers, lot, hours=2, plate="ST12AYS"):
    """A park-now stay with a fixed end `hours` from now."""
    response = api_book(
        client,
        headers,
        lot,
        vehicle_plate=plate,
        starts_at=None,
        ends_at=iso(hours_from_now(hours)),
    )
    assert response.status_code == 201, response.get_json()
    return db.session.get(Booking, response.get_json()["id"])


def test_a_reservation_moves_its_end_on_the_same_spot_and_owes_the_difference(
    client, driver_headers, lot
):
    booking = reservation(client, driver_headers, lot, 30, 32)  # 2 h: 4.00 GBP
    spot, end = booking.spot_id, booking.ends_at + timedelta(hours=1)
    response = patch(client, driver_headers, booking, ends_at=iso(end))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["spot"]["id"] == spot and body["ends_at"] == iso(end)
    assert body["quote"]["total_cents"] == 600
    assert body["price_difference"] == {"amount_cents": 200, "currency": "GBP"}
    assert body["refund"] == {"amount_cents": 0, "currency": "GBP"}
    booking = fresh(booking)
    assert (booking.quoted_cents, booking.booked_ends_at) == (600, end)
    assert billing.bill(booking).due_cents == 600


def test_a_reservation_moves_to_another_spot_of_its_kind_when_its_own_is_taken(
    client, driver_headers, other_headers, lot
):
    mine = reservation(client, driver_headers, lot, 30, 32)
    theirs = reservation(client, other_headers, lot, 40, 42, plate="OT43HER")
    if theirs.spot_id != mine.spot_id:  # put their later stay on my spot
        theirs.spot_id = mine.spot_id
        db.session.commit()
    start = theirs.starts_at - timedelta(hours=1)
    response = patch(
        client, driver_headers, mine, starts_at=iso(start), ends_at=iso(start + timedelta(hours=2))
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["spot"]["id"] != theirs.spot_id
    assert response.get_json()["price_difference"]["amount_cents"] == 0
    assert fresh(mine).starts_at == start


def test_no_free_spot_of_its_kind_is_409_and_nothing_changes(
    client, driver_headers, other_headers, make_lot
):
    lot = make_lot(spots={"standard": 1, "ev": 1})
    mine = reservation(client, driver_headers, lot, 30, 32)
    end = mine.ends_at
    reservation(client, other_headers, lot, 40, 42, plate="OT43HER")
    response = patch(client, driver_headers, mine, ends_at=iso(end + timedelta(hours=9)))
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "lot_full"
    mine = fresh(mine)
    assert (mine.ends_at, mine.booked_ends_at, mine.quoted_cents) == (end, end, 400)


def test_an_active_stay_extends_its_end_but_cannot_move_its_start(client, driver_headers, lot):
    stay = fixed_stay(client, driver_headers, lot, hours=2)
    moved = patch(client, driver_headers, stay, starts_at=iso(hours_from_now(1)))
    assert moved.status_code == 422
    assert list(moved.get_json()["errors"]) == ["starts_at"]
    past = patch(client, driver_headers, stay, ends_at=iso(hours_from_now(-1)))
    assert past.status_code == 422 and "ends_at" in past.get_json()["errors"]
    longer = patch(client, driver_headers, stay, ends_at=iso(stay.ends_at + timedelta(hours=1)))
    assert longer.status_code == 200, longer.get_json()
    assert longer.get_json()["status"] == "active"
    assert longer.get_json()["price_difference"]["amount_cents"] == 200


def test_an_active_stay_is_not_extended_into_the_next_booking_of_its_spot(
    client, driver_headers, other_headers, make_lot
):
    lot = make_lot(spots={"standard": 1})
    stay = fixed_stay(client, driver_headers, lot, hours=2)
    reservation(client, other_headers, lot, 3, 5, plate="OT43HER")
    end = stay.ends_at
    response = patch(client, driver_headers, stay, ends_at=iso(end + timedelta(hours=2)))
    assert response.status_code == 409 and response.get_json()["code"] == "spot_unavailable"
    assert fresh(stay).ends_at == end


def test_an_open_ended_stay_has_no_end_to_move(client, driver_headers, lot):
    response = api_book(client, driver_headers, lot, starts_at=None, ends_at=None)
    stay = db.session.get(Booking, response.get_json()["id"])
    response = patch(client, driver_headers, stay, ends_at=iso(hours_from_now(3)))
    assert response.status_code == 409 and response.get_json()["code"] == "open_ended"


def test_only_the_owner_changes_a_booking(
    client, driver_headers, other_headers, operator_headers, admin_headers, lot
):
    booking = reservation(client, driver_headers, lot)
    end = booking.ends_at
    for headers in (other_headers, operator_headers, admin_headers):
        response = patch(client, headers, booking, ends_at=iso(end + timedelta(hours=1)))
        assert response.status_code == 404, response.get_json()
    assert fresh(booking).ends_at == end


def test_a_change_needs_a_time_and_rejects_other_fields(client, driver_headers, lot):
    booking = reservation(client, driver_headers, lot)
    assert patch(client, driver_headers, booking).status_code == 422
    assert patch(client, driver_headers, booking, spot_id=1).status_code == 422
    naive = patch(client, driver_headers, booking, ends_at="2030-01-01T10:00:00")
    assert naive.status_code == 422


def test_a_paid_reservation_made_shorter_in_time_is_refunded_the_difference(
    client, driver_headers, lot
):
    booking = reservation(client, driver_headers, lot, 30, 33)  # 6.00 GBP
    paid = client.post(
        f"{API}/payments",
        json={"booking_id": booking.id, "method": "online", "amount_cents": 600},
        headers=driver_headers,
    )
    assert paid.status_code == 201, paid.get_json()
    response = patch(
        client, driver_headers, booking, ends_at=iso(booking.starts_at + timedelta(hours=1))
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["price_difference"] == {"amount_cents": -400, "currency": "GBP"}
    assert body["refund"] == {"amount_cents": 400, "currency": "GBP"}
    assert billing.bill(fresh(booking)).due_cents == 0
    assert db.session.scalar(select(func.sum(Refund.amount_cents))) == 400


def test_no_refund_for_a_shorter_booking_when_the_lot_never_refunds(
    client, driver_headers, make_lot
):
    lot = make_lot(refund_hours_before=None)
    booking = reservation(client, driver_headers, lot, 30, 33)
    client.post(
        f"{API}/payments",
        json={"booking_id": booking.id, "method": "online", "amount_cents": 600},
        headers=driver_headers,
    )
    response = patch(
        client, driver_headers, booking, ends_at=iso(booking.starts_at + timedelta(hours=1))
    )
    assert response.status_code == 200
    assert response.get_json()["refund"]["amount_cents"] == 0
    assert db.session.scalar(select(func.count(Refund.id))) == 0


def test_moving_a_reservation_into_the_past_or_beyond_the_limit_is_422(client, driver_headers, lot):
    booking = reservation(client, driver_headers, lot)
    past = patch(client, driver_headers, booking, starts_at=iso(hours_from_now(-2)))
    assert past.status_code == 422 and "starts_at" in past.get_json()["errors"]
    far = patch(
        client, driver_headers, booking, ends_at=iso(hours_from_now(30) + timedelta(days=40))
    )
    assert far.status_code == 422 and "ends_at" in far.get_json()["errors"]


# -- the booking page --------------------------------------------------------------------


def local(booking, at):
    """A datetime-local value in the booking's lot zone."""
    from parkapp.core.timezones import lot_zone

    return at.astimezone(lot_zone(booking.lot)).strftime("%Y-%m-%dT%H:%M")


def test_the_booking_page_changes_times_with_errors_next_to_the_fields(
    client, auth, driver, driver_headers, lot
):
    booking = reservation(client, driver_headers, lot, 30, 32)
    auth.login()
    page = client.get(f"/bookings/{booking.id}")
    assert b"Change times" in page.data and b"+30 min" in page.data and b"+1 h" in page.data
    assert f"/bookings/{booking.id}/calendar.ics".encode() in page.data
    assert f"/bookings/{booking.id}/qr.svg".encode() in page.data
    wrong = client.post(
        f"/bookings/{booking.id}/change",
        data={
            "starts": local(booking, booking.starts_at),
            "ends": local(booking, booking.starts_at - timedelta(hours=1)),
        },
    )
    assert wrong.status_code == 422
    html = wrong.data.decode()
    ends_field = html.split('name="ends"', 1)[1].split("</div>", 1)[0]
    assert "The end must be after the start." in ends_field
    new_end = booking.ends_at.replace(second=0, microsecond=0) + timedelta(hours=1)
    done = client.post(
        f"/bookings/{booking.id}/change",
        data={"starts": local(booking, booking.starts_at), "ends": local(booking, new_end)},
        follow_redirects=True,
    )
    assert done.status_code == 200 and b"Booking changed." in done.data
    booking = fresh(booking)
    assert booking.ends_at == new_end


def test_one_click_extends_a_stay_and_others_get_404(
    client, auth, driver, driver_headers, make_user, lot
):
    stay = fixed_stay(client, driver_headers, lot, hours=1)
    end = stay.ends_at
    auth.login()
    extended = client.post(
        f"/bookings/{stay.id}/extend", data={"minutes": "30"}, follow_redirects=True
    )
    assert b"Booking changed." in extended.data and b"more to pay" in extended.data
    assert fresh(stay).ends_at == end + timedelta(minutes=30)
    odd = client.post(f"/bookings/{stay.id}/extend", data={"minutes": "45"}, follow_redirects=True)
    assert b"Extend by one of: 30, 60 minutes." in odd.data
    auth.logout()
    make_user(email="someone@example.com")
    auth.login("someone@example.com")
    assert client.post(f"/bookings/{stay.id}/extend", data={"minutes": "30"}).status_code == 404
    assert (
        client.post(f"/bookings/{stay.id}/change", data={"ends": "2030-01-01T10:00"}).status_code
        == 404
    )
    assert client.get(f"/bookings/{stay.id}/calendar.ics").status_code == 404
    assert fresh(stay).ends_at == end + timedelta(minutes=30)


# -- racing changes ----------------------------------------------------------------------


def _change_in_thread(app, barrier, booking_id, user_id, start, end, outcomes):
    with app.app_context():
        try:
            booking = db.session.get(Booking, booking_id)
            user = db.session.get(User, user_id)
            barrier.wait()
            changes.change_times(booking, user, start, end)
            outcomes.append("changed")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # reported by the assertion below
            outcomes.append(repr(exc))
        finally:
            db.session.remove()


def test_drivers_racing_to_move_into_the_last_free_spot_get_it_once(app, make_user, make_lot):
    lot = make_lot(spots={"standard": 2})
    start, end = hours_from_now(50), hours_from_now(52)
    blocker = make_user()
    create_booking(
        blocker, BookingRequest(lot_id=lot.id, plate="BLOCK1", starts_at=start, ends_at=end)
    )
    racers = []
    for i in range(8):
        user = make_user()
        at = hours_from_now(60 + 3 * i)
        booking = create_booking(
            user,
            BookingRequest(
                lot_id=lot.id, plate=f"RACE{i}", starts_at=at, ends_at=at + timedelta(hours=1)
            ),
        )
        racers.append((booking.id, user.id))
    barrier, outcomes = threading.Barrier(len(racers)), []
    threads = [
        threading.Thread(
            target=_change_in_thread,
            args=(app, barrier, booking_id, user_id, start, end, outcomes),
        )
        for booking_id, user_id in racers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert Counter(outcomes) == {"changed": 1, "conflict": len(racers) - 1}, outcomes
    db.session.rollback()
    in_interval = db.session.scalars(
        select(Booking.spot_id).where(Booking.starts_at == start, Booking.ends_at == end)
    ).all()
    assert sorted(in_interval) == sorted({spot.id for spot in lot.spots})

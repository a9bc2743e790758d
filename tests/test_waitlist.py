"""The FIFO waitlist: join, leave, positions, offers in order, mail, expiry, accept, 409s."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from parkapp.accounts import vehicles as vehicle_service
from parkapp.booking import claims, lifecycle, upkeep
from parkapp.booking.claims import BookingRequest
from parkapp.core.exceptions import Conflict, Invalid, LotFull, NotFound, WrongState
from parkapp.extensions import db
from parkapp.models import (
    Booking,
    BookingStatus,
    SpotKind,
    User,
    VehicleType,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)
from parkapp.waitlist import offers as waitlist_offers
from parkapp.waitlist import queue as waitlist
from parkapp.waitlist import upkeep as waitlist_upkeep

# --- helpers ----------------------------------------------------------------------------


def park(user, lot, plate, kind=None):
    """A park-now stay for the user's vehicle."""
    return claims.create_booking(user, BookingRequest(lot.id, plate, spot_kind=kind))


@pytest.fixture
def full_lot(make_lot, make_user):
    """A lot with two standard spots, both taken by open stays; (lot, [stay, stay])."""
    lot = make_lot(spots={"standard": 2})
    stays = [park(make_user(), lot, f"FILL{i}") for i in range(2)]
    return lot, stays


@pytest.fixture
def queue(full_lot, make_user):
    """Three drivers queued in order at the full lot: (lot, stays, [entries])."""
    lot, stays = full_lot
    entries = []
    for i in range(3):
        user = make_user(email=f"waiter{i}@example.com")
        entries.append(waitlist.join(user, lot.id, f"WAIT{i}"))
    return lot, stays, entries


def reload(entry):
    db.session.rollback()  # a fresh snapshot: other sessions and threads have committed
    return db.session.get(WaitlistEntry, entry.id)


def statuses(entries):
    return [reload(e).status for e in entries]


# --- joining, positions, leaving --------------------------------------------------------


def test_drivers_queue_in_order_and_see_their_position(queue):
    _, _, entries = queue

    assert [str(waitlist.position(e)) for e in entries] == ["1st of 3", "2nd of 3", "3rd of 3"]


def test_leaving_moves_everyone_behind_up(queue):
    lot, _, entries = queue

    waitlist.leave(entries[0].user, lot.id)

    assert reload(entries[0]).status == WaitlistStatus.LEFT
    assert [str(waitlist.position(e)) for e in entries[1:]] == ["1st of 2", "2nd of 2"]
    # the one-query positions of a list page agree with each entry's own
    assert {k: str(v) for k, v in waitlist.positions(entries[1:]).items()} == {
        entries[1].id: "1st of 2",
        entries[2].id: "2nd of 2",
    }
    assert waitlist.positions([]) == {}


def test_ordinals_read_naturally():
    assert [waitlist.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
    ]


def test_a_driver_cannot_queue_twice_for_the_same_lot(full_lot, driver):
    lot, _ = full_lot
    waitlist.join(driver, lot.id, "AB12CDE")

    with pytest.raises(Conflict) as exc:
        waitlist.join(driver, lot.id, "OTHER1")

    assert exc.value.code == "already_waiting"
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 1


def test_a_vehicle_cannot_be_queued_twice_by_two_drivers(full_lot, driver, make_user):
    lot, _ = full_lot
    waitlist.join(driver, lot.id, "AB12CDE")

    with pytest.raises(Conflict):
        waitlist.join(make_user(), lot.id, "ab12 cde")


def test_a_driver_may_queue_again_after_leaving(full_lot, driver):
    lot, _ = full_lot
    waitlist.join(driver, lot.id, "AB12CDE")
    waitlist.leave(driver, lot.id)

    entry = waitlist.join(driver, lot.id, "AB12CDE")

    assert entry.status == WaitlistStatus.WAITING


def test_joining_a_lot_with_free_spots_says_book_instead(make_lot, driver):
    lot = make_lot(spots={"standard": 1})

    with pytest.raises(Conflict) as exc:
        waitlist.join(driver, lot.id, "AB12CDE")

    assert exc.value.code == "spots_free"
    assert "book one instead" in exc.value.message
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0


def test_joining_for_a_full_kind_is_allowed_while_other_kinds_are_free(make_lot, make_user):
    lot = make_lot(spots={"standard": 1, "ev": 1})
    park(make_user(), lot, "EV1", kind="ev")

    entry = waitlist.join(make_user(), lot.id, "CAR1", "ev")

    assert entry.spot_kind == SpotKind.EV
    assert waitlist.full_kinds(lot.id) == [SpotKind.EV]


def test_joining_an_unknown_lot_is_404(driver):
    with pytest.raises(NotFound):
        waitlist.join(driver, 999, "AB12CDE")


def test_twenty_concurrent_joins_of_one_driver_make_one_entry(app, full_lot, driver):
    lot, _ = full_lot
    lot_id, user_id = lot.id, driver.id  # threads must not touch this session's objects
    barrier = threading.Barrier(20)
    outcomes = []

    def join():
        with app.app_context():
            barrier.wait()
            try:
                waitlist.join(db.session.get(User, user_id), lot_id, "AB12CDE")
                outcomes.append("joined")
            except Conflict as exc:
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=join) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == ["already_waiting"] * 19 + ["joined"]
    db.session.rollback()
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 1


# --- offers ------------------------------------------------------------------------------


def test_spots_are_offered_in_fifo_order_as_they_free_up(queue):
    _, stays, entries = queue

    lifecycle.release(stays[0], stays[0].user)
    first = reload(entries[0])
    assert statuses(entries) == [WaitlistStatus.OFFERED] + [WaitlistStatus.WAITING] * 2
    assert first.offered_spot_id == stays[0].spot_id
    assert str(waitlist.position(entries[1])) == "1st of 2"

    lifecycle.release(stays[1], stays[1].user)

    assert statuses(entries) == [WaitlistStatus.OFFERED] * 2 + [WaitlistStatus.WAITING]
    assert reload(entries[1]).offered_spot_id == stays[1].spot_id
    assert str(waitlist.position(entries[2])) == "1st of 1"


def test_an_offer_holds_the_spot_with_a_reservation_nobody_else_can_take(queue, make_user, app):
    lot, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)
    entry = reload(entries[0])

    hold = db.session.get(Booking, entry.booking_id)
    assert hold.status == BookingStatus.RESERVED
    assert hold.spot_id == stays[0].spot_id and hold.user_id == entry.user_id
    minutes = app.config["WAITLIST_OFFER_MINUTES"]
    assert hold.ends_at == entry.offer_expires_at == hold.starts_at + timedelta(minutes=minutes)
    with pytest.raises(LotFull):
        park(make_user(), lot, "SNEAKY1")


def test_one_freed_spot_is_offered_once_however_often_it_is_announced(queue):
    lot, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)

    assert waitlist_offers.offer_next(lot.id, stays[0].spot_id) == []
    assert waitlist_offers.offer_next(lot.id) == []

    assert statuses(entries) == [WaitlistStatus.OFFERED] + [WaitlistStatus.WAITING] * 2


def test_concurrent_announcements_of_one_spot_make_one_offer(app, queue):
    lot, stays, entries = queue
    lot_id, spot_id = lot.id, stays[0].spot_id
    # Free the spot without the hook, then let ten workers announce it at once.
    db.session.execute(
        db.update(Booking)
        .where(Booking.id == stays[0].id)
        .values(status=BookingStatus.COMPLETED, ends_at=utcnow())
    )
    db.session.commit()
    barrier = threading.Barrier(10)
    offered = []

    def announce():
        with app.app_context():
            barrier.wait()
            try:
                offered.extend(e.id for e in waitlist_offers.offer_next(lot_id, spot_id))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=announce) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert offered == [entries[0].id]
    assert statuses(entries) == [WaitlistStatus.OFFERED] + [WaitlistStatus.WAITING] * 2


def test_a_spot_goes_to_the_first_entry_whose_kind_fits(make_lot, make_user):
    lot = make_lot(spots={"standard": 1, "ev": 1})
    car = park(make_user(), lot, "CAR0")
    park(make_user(), lot, "EV0", kind="ev")
    ev_waiter = waitlist.join(make_user(), lot.id, "EVW1", "ev")
    any_waiter = waitlist.join(make_user(), lot.id, "ANY1")

    lifecycle.release(car, car.user)

    assert statuses([ev_waiter, any_waiter]) == [WaitlistStatus.WAITING, WaitlistStatus.OFFERED]


def test_the_offer_email_arrives_once(queue, mailbox):
    lot, stays, entries = queue

    lifecycle.release(stays[0], stays[0].user)
    assert waitlist_upkeep.remail_offers() == 0  # already sent: not again

    (message,) = mailbox.to("waiter0@example.com")
    assert lot.name in message["Subject"]
    text = _plain(message)
    assert db.session.get(Booking, reload(entries[0]).booking_id).spot.label in text
    assert "WAIT0" in text
    assert mailbox.to("waiter1@example.com") == []


def test_an_opted_out_driver_gets_the_offer_without_mail(queue, mailbox):
    from parkapp.accounts.users import set_booking_mail

    _, stays, entries = queue
    set_booking_mail(entries[0].user, False)
    lifecycle.release(stays[0], stays[0].user)
    assert reload(entries[0]).status == WaitlistStatus.OFFERED
    assert mailbox.to("waiter0@example.com") == []


def _plain(message):
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    return ""


def test_an_offer_not_taken_in_time_expires_and_passes_to_the_next(queue, mailbox):
    _, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)
    first = reload(entries[0])
    hold_id = first.booking_id

    assert waitlist_upkeep.expire_offers(now=first.offer_expires_at - timedelta(seconds=1)) == 0
    assert waitlist_upkeep.expire_offers(now=first.offer_expires_at + timedelta(seconds=1)) == 1

    assert statuses(entries) == [
        WaitlistStatus.EXPIRED,
        WaitlistStatus.OFFERED,
        WaitlistStatus.WAITING,
    ]
    assert db.session.get(Booking, hold_id).status == BookingStatus.CANCELLED
    assert reload(entries[1]).offered_spot_id == stays[0].spot_id
    assert len(mailbox.to("waiter1@example.com")) == 1


def test_the_minute_task_expires_offers(app, queue):
    _, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)
    expires = reload(entries[0]).offer_expires_at

    result = waitlist_upkeep.run(now=expires + timedelta(seconds=1))

    assert result["expired"] == 1
    assert statuses(entries)[:2] == [WaitlistStatus.EXPIRED, WaitlistStatus.OFFERED]
    beat = app.extensions["celery"].conf.beat_schedule["waitlist-offers"]
    assert beat["task"] == "parkapp.tasks.upkeep.waitlist_upkeep"


def test_a_hold_is_never_marked_no_show(app, queue, monkeypatch):
    _, stays, entries = queue
    monkeypatch.setitem(app.config, "WAITLIST_OFFER_MINUTES", 120)
    lifecycle.release(stays[0], stays[0].user)
    hold_id = reload(entries[0]).booking_id

    assert upkeep.expire_no_shows(now=utcnow() + timedelta(minutes=90)) == 0

    assert db.session.get(Booking, hold_id).status == BookingStatus.RESERVED


def test_accepting_turns_the_hold_into_an_active_open_stay(queue):
    _, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)
    entry = reload(entries[0])

    stay = waitlist.accept(entry.id, entry.user)

    assert stay.id == entry.booking_id and stay.spot_id == stays[0].spot_id
    assert stay.status == BookingStatus.ACTIVE and stay.ends_at is None
    assert stay.checked_in_at is not None and stay.plate == "WAIT0"
    assert reload(entry).status == WaitlistStatus.ASSIGNED
    # The stay is a normal one: releasing it offers the spot to the next in line.
    lifecycle.release(stay, entry.user)
    assert statuses(entries)[1] == WaitlistStatus.OFFERED


def test_an_expired_offer_cannot_be_accepted(queue):
    _, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)
    entry = reload(entries[0])
    waitlist_upkeep.expire_offers(now=entry.offer_expires_at + timedelta(seconds=1))

    with pytest.raises(WrongState):
        waitlist.accept(entry.id, entry.user)


def test_declining_passes_the_spot_on_and_leaves_the_queue(queue):
    _, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)

    waitlist.decline(entries[0].id, entries[0].user)

    assert statuses(entries) == [
        WaitlistStatus.LEFT,
        WaitlistStatus.OFFERED,
        WaitlistStatus.WAITING,
    ]


def test_cancelling_the_hold_on_the_bookings_page_counts_as_declining(queue):
    _, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)
    hold = db.session.get(Booking, reload(entries[0]).booking_id)

    lifecycle.cancel(hold, entries[0].user)

    assert statuses(entries)[:2] == [WaitlistStatus.LEFT, WaitlistStatus.OFFERED]


def test_nobody_else_can_accept_or_decline_an_offer(queue, make_user):
    _, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)

    with pytest.raises(NotFound):
        waitlist.accept(entries[0].id, entries[1].user)
    with pytest.raises(NotFound):
        waitlist.decline(entries[0].id, make_user())


def test_another_drivers_offer_is_404_on_the_pages(client, auth, queue):
    _, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)
    auth.login(entries[1].user.email)
    for action in ("accept", "decline"):
        assert client.post(f"/waitlist/{entries[0].id}/{action}").status_code == 404
    assert reload(entries[0]).status == WaitlistStatus.OFFERED


def test_a_cancelled_reservation_and_a_no_show_free_spots_for_the_queue(make_lot, make_user):
    lot = make_lot(spots={"standard": 2})
    start = utcnow() + timedelta(minutes=1)
    owner = make_user()
    kept = [
        claims.create_booking(
            owner,
            BookingRequest(lot.id, plate, starts_at=start, ends_at=start + timedelta(days=2)),
        )
        for plate in ("RES1", "RES2")
    ]
    # The lot is full for parking now only once the reservations block the open future.
    entries = [waitlist.join(make_user(), lot.id, f"W{i}") for i in range(2)]

    lifecycle.cancel(kept[0], owner)
    assert statuses(entries) == [WaitlistStatus.OFFERED, WaitlistStatus.WAITING]

    grace = timedelta(minutes=60)
    assert upkeep.expire_no_shows(now=start + grace) == 1
    assert statuses(entries) == [WaitlistStatus.OFFERED] * 2


# --- API ---------------------------------------------------------------------------------


def test_api_join_see_position_and_leave(client, auth, full_lot, driver):
    lot, _ = full_lot
    headers = auth.headers()
    url = f"/api/v1/lots/{lot.id}/waitlist"

    assert client.get(url, headers=headers).status_code == 404
    created = client.post(url, json={"vehicle_plate": "ab12 cde"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["status"] == "waiting" and body["vehicle_plate"] == "AB12CDE"
    assert body["position"] == {"place": 1, "total": 1, "text": "1st of 1"}
    assert client.get(url, headers=headers).get_json()["id"] == body["id"]

    again = client.post(url, json={"vehicle_plate": "AB12CDE"}, headers=headers)
    assert again.status_code == 409 and again.get_json()["code"] == "already_waiting"

    left = client.delete(url, headers=headers)
    assert left.status_code == 204 and left.data == b""
    gone = client.delete(url, headers=headers)
    assert gone.status_code == 404 and gone.get_json()["code"] == "not_found"


def test_api_join_errors(client, auth, make_lot, driver):
    lot = make_lot(spots={"standard": 1})
    headers = auth.headers()

    free = client.post(
        f"/api/v1/lots/{lot.id}/waitlist", json={"vehicle_plate": "AB1"}, headers=headers
    )
    unknown = client.post(
        "/api/v1/lots/999/waitlist", json={"vehicle_plate": "AB1"}, headers=headers
    )
    bad_kind = client.post(
        f"/api/v1/lots/{lot.id}/waitlist",
        json={"vehicle_plate": "AB1", "spot_kind": "helipad"},
        headers=headers,
    )
    anonymous = client.post(f"/api/v1/lots/{lot.id}/waitlist", json={"vehicle_plate": "AB1"})

    assert free.status_code == 409 and free.get_json()["code"] == "spots_free"
    assert free.get_json()["message"] == (
        f"{lot.name} has a free spot for this vehicle right now, so there is no need to queue: "
        "book one instead."
    )
    assert unknown.status_code == 404
    assert bad_kind.status_code == 422 and "spot_kind" in bad_kind.get_json()["errors"]
    assert anonymous.status_code == 401


def test_api_offer_accept_and_decline(client, auth, queue):
    lot, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)
    lifecycle.release(stays[1], stays[1].user)
    first, second = (auth.headers(f"waiter{i}@example.com") for i in range(2))

    offer = client.get(f"/api/v1/lots/{lot.id}/waitlist", headers=first).get_json()
    assert offer["status"] == "offered" and offer["position"] is None
    assert offer["offer"]["spot"]["id"] == stays[0].spot_id

    not_yours = client.post(f"/api/v1/waitlist/{entries[0].id}/accept", headers=second)
    accepted = client.post(f"/api/v1/waitlist/{entries[0].id}/accept", headers=first)
    twice = client.post(f"/api/v1/waitlist/{entries[0].id}/accept", headers=first)
    declined = client.post(f"/api/v1/waitlist/{entries[1].id}/decline", headers=second)

    assert not_yours.status_code == 404
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "active" and accepted.get_json()["ends_at"] is None
    assert twice.status_code == 409
    assert declined.status_code == 200 and declined.get_json()["status"] == "left"
    assert statuses(entries)[2] == WaitlistStatus.OFFERED


# --- pages -------------------------------------------------------------------------------


def test_lot_page_offers_the_waitlist_only_when_full(client, auth, make_lot, make_user, driver):
    lot = make_lot(spots={"standard": 1})
    auth.login()
    assert b"Join the waitlist" not in client.get(f"/lots/{lot.id}").data

    park(make_user(), lot, "FILL1")

    assert b"Join the waitlist" in client.get(f"/lots/{lot.id}").data


def test_driver_joins_accepts_and_leaves_through_the_pages(client, auth, full_lot, driver):
    lot, stays = full_lot
    auth.login()

    joined = client.post(
        f"/lots/{lot.id}/waitlist",
        data={"waitlist-plate": "AB12CDE", "waitlist-spot_kind": ""},
        follow_redirects=True,
    )
    assert joined.status_code == 200
    assert b"1st of 1" in joined.data and b"Leave the waitlist" in joined.data
    assert b"1st of 1" in client.get(f"/lots/{lot.id}").data

    lifecycle.release(stays[0], stays[0].user)
    page = client.get("/waitlist")
    assert b"held for you" in page.data and b"Accept" in page.data and b"Decline" in page.data

    entry = db.session.scalar(select(WaitlistEntry))
    accepted = client.post(f"/waitlist/{entry.id}/accept", follow_redirects=True)
    assert accepted.status_code == 200
    assert b"is yours from now" in accepted.data
    assert b"not on any waitlist" in client.get("/waitlist").data


def test_joining_a_free_lot_from_the_page_sends_the_driver_to_the_booking_form(
    client, auth, make_lot, driver
):
    lot = make_lot(spots={"standard": 1})
    auth.login()

    response = client.post(f"/lots/{lot.id}/waitlist", data={"waitlist-plate": "AB12CDE"})
    page = client.get(response.headers["Location"])

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/lots/{lot.id}#book")
    assert b"no need to queue: book one instead" in page.data
    assert b'id="book"' in page.data
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0


def test_leaving_from_the_page(client, auth, full_lot, driver):
    lot, _ = full_lot
    waitlist.join(driver, lot.id, "AB12CDE")
    auth.login()

    page = client.post(f"/lots/{lot.id}/waitlist/leave", follow_redirects=True)

    assert b"You left the waitlist" in page.data
    assert db.session.scalar(select(WaitlistEntry.status)) == WaitlistStatus.LEFT


def test_the_nav_links_to_the_waitlist_for_signed_in_drivers(client, auth, driver):
    assert b'href="/waitlist"' not in client.get("/").data

    auth.login()

    assert b'<a href="/waitlist">Waitlist</a>' in client.get("/").data


# --- checking in to a hold is accepting the offer ----------------------------------------


def offered(queue):
    """Free the first stay of the queue's lot: (first entry, now offered; its hold)."""
    _, stays, entries = queue
    lifecycle.release(stays[0], stays[0].user)
    entry = reload(entries[0])
    return entry, db.session.get(Booking, entry.booking_id)


def assert_offer_taken(entry, hold_id):
    """The hold became an open stay from now and the entry is assigned."""
    db.session.rollback()
    stay = db.session.get(Booking, hold_id)
    assert stay.status == BookingStatus.ACTIVE
    assert stay.ends_at is None and stay.booked_ends_at is None  # not the offer's end
    assert stay.checked_in_at is not None and stay.starts_at == stay.checked_in_at
    assert db.session.get(WaitlistEntry, entry.id).status == WaitlistStatus.ASSIGNED


def test_checking_in_to_a_hold_on_my_bookings_accepts_the_offer(client, auth, queue):
    entry, hold = offered(queue)
    auth.login(entry.user.email)

    page = client.post(f"/bookings/{hold.id}/check-in", follow_redirects=True)

    assert b"Checked in. Spot" in page.data
    assert_offer_taken(entry, hold.id)
    # The offer's window passing later changes nothing: the stay runs until released.
    assert waitlist_upkeep.expire_offers(now=entry.offer_expires_at + timedelta(minutes=1)) == 0
    assert db.session.get(Booking, hold.id).status == BookingStatus.ACTIVE


def test_api_check_in_to_a_hold_accepts_the_offer(client, auth, queue):
    entry, hold = offered(queue)

    response = client.post(
        f"/api/v1/bookings/{hold.id}/check-in", headers=auth.headers(entry.user.email)
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "active" and response.get_json()["ends_at"] is None
    assert_offer_taken(entry, hold.id)


def test_a_driver_with_an_offer_is_checked_in_to_it_at_the_gate(client, auth, operator, queue):
    lot, _, _ = queue
    entry, hold = offered(queue)

    response = client.post(
        "/api/v1/gate/entry",
        json={"lot_id": lot.id, "license_plate": "wait0"},
        headers=auth.headers(operator.email),
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["booking"]["id"] == hold.id
    assert_offer_taken(entry, hold.id)


def test_an_operator_checks_in_a_vehicle_queued_at_the_gate_to_its_hold(
    client, auth, operator, full_lot
):
    lot, stays = full_lot
    entry = waitlist.join(None, lot.id, "GATE 1", vehicle_type="car")
    lifecycle.release(stays[0], stays[0].user)
    hold_id = reload(entry).booking_id

    response = client.post(
        f"/api/v1/bookings/{hold_id}/check-in", headers=auth.headers(operator.email)
    )

    assert response.status_code == 200, response.get_json()
    assert_offer_taken(entry, hold_id)


def test_checking_in_to_a_hold_after_the_offer_ran_out_is_refused(queue):
    entry, hold = offered(queue)
    # The offer ran out a moment ago and the minute task has not run yet.
    db.session.execute(
        db.update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id)
        .values(offer_expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()

    with pytest.raises(WrongState) as exc:
        lifecycle.check_in(hold, entry.user)

    assert exc.value.code == "offer_expired"
    assert db.session.get(Booking, hold.id).status == BookingStatus.RESERVED


# --- the offered spot fits the vehicle ---------------------------------------------------


def own_vehicle(user, plate, vehicle_type="car", **flags):
    vehicle = vehicle_service.add_vehicle(user, plate, vehicle_type)
    for name, value in flags.items():
        setattr(vehicle, name, value)
    db.session.commit()
    return vehicle


def test_a_hold_carries_the_drivers_vehicle_type(make_lot, make_user):
    lot = make_lot(spots={"standard": 1})
    stay = park(make_user(), lot, "FILL1")
    van_driver = make_user()
    own_vehicle(van_driver, "VAN1", "van")
    entry = waitlist.join(van_driver, lot.id, "VAN1")

    lifecycle.release(stay, stay.user)

    assert entry.vehicle_type == VehicleType.VAN
    hold = db.session.get(Booking, reload(entry).booking_id)
    assert hold.vehicle_type == VehicleType.VAN and hold.vehicle.plate == "VAN1"


def test_a_van_queued_at_the_gate_is_never_offered_a_compact_spot(make_lot, make_user):
    lot = make_lot(spots={"standard": 1, "compact": 1})
    standard = park(make_user(), lot, "FILL1", kind="standard")
    compact = park(make_user(), lot, "FILL2", kind="compact")
    van = waitlist.join(None, lot.id, "VAN 1", vehicle_type="van")
    car = waitlist.join(make_user(), lot.id, "CAR1")

    lifecycle.release(compact, compact.user)
    assert statuses([van, car]) == [WaitlistStatus.WAITING, WaitlistStatus.OFFERED]

    lifecycle.release(standard, standard.user)
    van = reload(van)
    assert van.status == WaitlistStatus.OFFERED and van.offered_spot_id == standard.spot_id
    hold = db.session.get(Booking, van.booking_id)
    assert (hold.vehicle_type, hold.user_id, hold.plate) == (VehicleType.VAN, None, "VAN1")


def test_a_van_may_queue_while_only_compact_spots_are_free(make_lot, make_user):
    lot = make_lot(spots={"standard": 1, "compact": 1})
    park(make_user(), lot, "FILL1", kind="standard")

    van = waitlist.join(None, lot.id, "VAN1", vehicle_type="van")
    with pytest.raises(Conflict) as car:
        waitlist.join(None, lot.id, "CAR1")

    assert (van.vehicle_type, van.is_ev, van.accessible) == (VehicleType.VAN, False, False)
    assert car.value.code == "spots_free"


def test_a_freed_motorcycle_spot_skips_the_cars_ahead_in_the_queue(make_lot, make_user):
    lot = make_lot(spots={"standard": 1, "motorcycle": 1})
    park(make_user(), lot, "FILL1")
    bike_stay = park(make_user(), lot, "FILL2", kind="motorcycle")
    car = waitlist.join(make_user(), lot.id, "CAR1")
    bike = waitlist.join(None, lot.id, "MOTO1", vehicle_type="motorcycle")

    lifecycle.release(bike_stay, bike_stay.user)

    assert statuses([car, bike]) == [WaitlistStatus.WAITING, WaitlistStatus.OFFERED]


def test_an_accessible_spot_goes_only_to_a_vehicle_with_a_permit(make_lot, make_user):
    lot = make_lot(spots={"standard": 1, "accessible": 1})
    park(make_user(), lot, "FILL1")
    blue_stay = park(make_user(), lot, "FILL2", kind="accessible")
    car = waitlist.join(make_user(), lot.id, "CAR1")
    gate_car = waitlist.join(None, lot.id, "CAR2", vehicle_type="car", is_ev=True)
    holder = make_user()
    own_vehicle(holder, "BLUE1", accessible=True)
    permit = waitlist.join(holder, lot.id, "BLUE1")

    lifecycle.release(blue_stay, blue_stay.user)

    assert permit.accessible is True
    assert statuses([car, gate_car, permit]) == [
        WaitlistStatus.WAITING,
        WaitlistStatus.WAITING,
        WaitlistStatus.OFFERED,
    ]


def test_a_gate_entry_with_an_unknown_vehicle_type_is_422(full_lot):
    lot, _ = full_lot

    with pytest.raises(Invalid) as exc:
        waitlist.join(None, lot.id, "X1", vehicle_type="hovercraft")

    assert exc.value.field == "vehicle_type"


def test_the_lot_page_offers_any_kind_to_a_van_while_only_compact_spots_are_free(
    client, auth, make_lot, make_user, driver
):
    lot = make_lot(spots={"standard": 1, "compact": 1})
    park(make_user(), lot, "FILL1", kind="standard")
    van = own_vehicle(driver, "VAN1", "van")
    auth.login()

    page = client.get(f"/lots/{lot.id}")

    assert waitlist.full_kinds(lot.id) == [SpotKind.STANDARD]
    assert waitlist.full_kinds(lot.id, vehicles=[van]) == [None, SpotKind.STANDARD]
    assert b"Join the waitlist" in page.data and b"Any kind" in page.data


def test_api_joining_for_a_kind_with_free_spots_names_the_kind(client, auth, make_lot, driver):
    lot = make_lot(spots={"standard": 1, "ev": 1})
    park(driver, lot, "EV1", kind="ev")

    response = client.post(
        f"/api/v1/lots/{lot.id}/waitlist",
        json={"vehicle_plate": "CAR1", "spot_kind": "standard"},
        headers=auth.headers(),
    )

    assert response.status_code == 409
    assert response.get_json()["code"] == "spots_free"
    assert "has a free standard spot" in response.get_json()["message"]
    assert "book one instead" in response.get_json()["message"]

"""Staff see the stays inside a lot (with the fee so far) and move cars between spots."""

from datetime import timedelta

from sqlalchemy import select

from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.models import Booking, BookingStatus, Spot, SpotStatus
from tests.conftest import api_book, hours_from_now, iso

API = "/api/v1"


def spots_of(lot):
    return {s.label: s for s in db.session.scalars(select(Spot).where(Spot.lot_id == lot.id))}


def enter(lot, plate, operator, hours_ago=0):
    booking, _ = gate.enter(lot.id, plate, operator=operator)
    if hours_ago:
        booking.starts_at -= timedelta(hours=hours_ago, minutes=1)
        booking.checked_in_at = booking.starts_at
        db.session.commit()
    return booking


def test_staff_list_the_stays_inside_with_spot_and_fee_so_far(
    client, make_lot, operator, operator_headers, admin_headers
):
    lot, other = make_lot(spots={"standard": 3}), make_lot(spots={"standard": 1})
    first = enter(lot, "AB12 CDE", operator, hours_ago=2)  # 3 started hours: 6.00 GBP
    enter(lot, "XY99ZZZ", operator)
    enter(other, "OTHER1", operator)
    left = enter(lot, "GONE11", operator)
    gate.leave(left, operator=operator)  # within the grace period: free, and out

    body = client.get(f"{API}/gate/sessions?lot_id={lot.id}", headers=operator_headers).get_json()
    assert body["total"] == 2 and [s["plate"] for s in body["items"]] == ["AB12CDE", "XY99ZZZ"]
    item = body["items"][0]
    assert item["booking_id"] == first.id and item["ticket_number"] == first.ticket_number
    assert item["spot"]["label"] == first.spot.label
    assert (item["level"], item["zone"]) == ("L1", "A")
    assert item["since"] == first.checked_in_at.isoformat()
    assert item["fee_so_far"] == {"amount_cents": 600, "currency": "GBP"}
    assert item["due"]["amount_cents"] == 600 and item["paid"]["amount_cents"] == 0
    # the fee is the gate's own bill
    assert item["fee_so_far"]["amount_cents"] == gate.fee(first).total_cents

    found = client.get(
        f"{API}/gate/sessions?lot_id={lot.id}&plate=ab-12", headers=admin_headers
    ).get_json()
    assert [s["plate"] for s in found["items"]] == ["AB12CDE"]
    paged = client.get(
        f"{API}/gate/sessions?lot_id={lot.id}&per_page=1&page=2", headers=operator_headers
    ).get_json()
    assert paged["total"] == 2 and [s["plate"] for s in paged["items"]] == ["XY99ZZZ"]
    everywhere = client.get(f"{API}/gate/sessions", headers=operator_headers).get_json()
    assert everywhere["total"] == 3


def test_sessions_are_for_staff_only_and_check_their_filters(
    client, lot, driver_headers, operator_headers
):
    assert client.get(f"{API}/gate/sessions").status_code == 401
    denied = client.get(f"{API}/gate/sessions?lot_id={lot.id}", headers=driver_headers)
    assert denied.status_code == 403 and denied.get_json()["code"] == "forbidden"
    unknown = client.get(f"{API}/gate/sessions?lot_id=999999", headers=operator_headers)
    assert unknown.status_code == 404
    for junk in ("lot_id=abc", "plate=" + "A" * 40, "page=0"):
        answer = client.get(f"{API}/gate/sessions?{junk}", headers=operator_headers)
        assert answer.status_code == 422, junk
        assert set(answer.get_json()) == {"message", "code", "errors"}


def test_a_car_moves_to_a_free_spot_and_nothing_else_changes(
    client, make_lot, operator, operator_headers
):
    lot = make_lot(spots={"standard": 3})
    stay = enter(lot, "AB12CDE", operator, hours_ago=1)
    before = {
        name: getattr(stay, name)
        for name in ("starts_at", "checked_in_at", "ticket_number", "plate", "status")
    }
    target = next(s for s in spots_of(lot).values() if s.id != stay.spot_id)
    answer = client.post(
        f"{API}/gate/sessions/{stay.id}/move", json={"spot_id": target.id}, headers=operator_headers
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["spot"]["id"] == target.id
    db.session.expire_all()
    moved = db.session.get(Booking, stay.id)
    assert moved.spot_id == target.id
    assert {name: getattr(moved, name) for name in before} == before
    # the stay leaves normally from its new spot, and the old spot is free for a newcomer
    assert gate.fee(moved).total_cents == 400


def test_a_move_is_refused_onto_a_taken_or_reserved_spot(
    client, make_lot, operator, operator_headers, driver_headers
):
    lot = make_lot(spots={"standard": 3})
    labels = sorted(spots_of(lot))
    stay = enter(lot, "AB12CDE", operator)
    other = enter(lot, "XY99ZZZ", operator)
    taken = client.post(
        f"{API}/gate/sessions/{stay.id}/move",
        json={"spot_id": other.spot_id},
        headers=operator_headers,
    )
    assert taken.status_code == 409 and taken.get_json()["code"] == "spot_unavailable"
    free = next(
        spots_of(lot)[label]
        for label in labels
        if spots_of(lot)[label].id not in (stay.spot_id, other.spot_id)
    )
    # a reservation later today on the free spot: an open-ended stay would run into it
    reserved = api_book(
        client,
        driver_headers,
        lot,
        spot_id=free.id,
        starts_at=iso(hours_from_now(3)),
        ends_at=iso(hours_from_now(4)),
    )
    assert reserved.status_code == 201
    clash = client.post(
        f"{API}/gate/sessions/{stay.id}/move", json={"spot_id": free.id}, headers=operator_headers
    )
    assert clash.status_code == 409
    db.session.expire_all()
    assert db.session.get(Booking, stay.id).spot_id == stay.spot_id


def test_a_move_answers_404_and_422_by_the_contract(
    client, make_lot, operator, operator_headers, driver_headers
):
    lot, elsewhere = make_lot(spots={"standard": 3}), make_lot(spots={"standard": 1})
    stay = enter(lot, "AB12CDE", operator)
    spots = [s for s in spots_of(lot).values() if s.id != stay.spot_id]
    spots[0].status = SpotStatus.MAINTENANCE
    db.session.commit()
    url = f"{API}/gate/sessions/{stay.id}/move"

    def move(spot_id, headers=operator_headers, path=url):
        return client.post(path, json={"spot_id": spot_id}, headers=headers)

    assert move(spots[1].id, headers=driver_headers).status_code == 403
    assert move(spots[1].id, path=f"{API}/gate/sessions/999999/move").status_code == 404
    assert move(999_999).status_code == 404
    other_lot_spot = next(iter(spots_of(elsewhere).values()))
    for spot_id in (other_lot_spot.id, spots[0].id, stay.spot_id):
        answer = move(spot_id)
        assert answer.status_code == 422, spot_id
        assert "spot_id" in answer.get_json()["errors"]
    assert client.post(url, json={}, headers=operator_headers).status_code in (400, 422)
    gate.leave(stay, operator=operator)
    assert move(spots[1].id).status_code == 404  # not inside any more
    db.session.expire_all()
    assert db.session.get(Booking, stay.id).status == BookingStatus.COMPLETED


def test_operators_list_a_lots_active_stays_through_bookings(
    client, make_lot, operator, operator_headers, driver, driver_headers
):
    lot = make_lot(spots={"standard": 3})
    entered = enter(lot, "AB12CDE", operator)
    parked = api_book(
        client, driver_headers, lot, vehicle_plate="DR1VER", starts_at=None, ends_at=None
    )
    assert parked.status_code == 201
    api_book(client, driver_headers, lot, vehicle_plate="LATER1")  # reserved, not inside
    body = client.get(
        f"{API}/bookings?status=active&lot_id={lot.id}", headers=operator_headers
    ).get_json()
    assert sorted(b["id"] for b in body["items"]) == sorted([entered.id, parked.get_json()["id"]])
    # other statuses stay the operator's own (none); drivers still see only theirs
    assert (
        client.get(f"{API}/bookings?lot_id={lot.id}", headers=operator_headers).get_json()["total"]
        == 0
    )
    mine = client.get(f"{API}/bookings?status=active", headers=driver_headers).get_json()
    assert [b["id"] for b in mine["items"]] == [parked.get_json()["id"]]

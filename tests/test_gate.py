"""The gate: entries by plate, exits by ticket or plate, fees, payment and the waitlist.

Time passes by moving a stay's start (and a payment's time) back in the database. The test
lots charge 2.00 GBP per started hour with a 10-minute grace period and a 15-minute exit
window after payment.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from parkapp.billing import payments
from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.core.exceptions import Conflict, Invalid, LotFull, NotFound
from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.models import (
    Booking,
    BookingSource,
    BookingStatus,
    Payment,
    Vehicle,
    VehicleType,
    WaitlistEntry,
    WaitlistStatus,
    utcnow,
)
from parkapp.waitlist import queue as waitlist
from tests.conftest import api_book, hours_from_now, iso

ALMOST_TWO_HOURS = timedelta(hours=2) - timedelta(minutes=1)  # billed as 2 started hours


def back_in_time(booking, delta):
    """Pretend the stay started `delta` earlier."""
    booking.starts_at -= delta
    booking.checked_in_at -= delta
    db.session.commit()


def paid_earlier(booking, delta):
    """Pretend every payment on the booking was made `delta` earlier."""
    for payment in booking.payments:
        payment.paid_at -= delta
        payment.created_at -= delta
    db.session.commit()


def kind_of(booking):
    return booking.spot.kind.value


def enter(lot, plate, operator, **details):
    booking, reserved = gate.enter(lot.id, plate, operator=operator, **details)
    assert booking.ticket_number and booking.status == BookingStatus.ACTIVE
    return booking, reserved


# --- tickets ----------------------------------------------------------------------------


def test_tickets_are_unguessable_and_readable():
    tickets = {gate.new_ticket() for _ in range(500)}
    assert len(tickets) == 500
    for ticket in tickets:
        assert re.fullmatch(r"T-[A-HJ-NP-Z2-9]{12}", ticket), ticket


@pytest.mark.parametrize(
    "typed",
    ["T-7KQ2MX4PZ9HD", "t-7kq2mx4pz9hd", " T 7KQ2 MX4P Z9HD ", "7KQ2MX4PZ9HD", "T7KQ2MX4PZ9HD"],
)
def test_ticket_numbers_are_read_the_way_people_type_them(typed):
    assert gate.normalise_ticket(typed) == "T-7KQ2MX4PZ9HD"


@pytest.mark.parametrize("typed", ["", "AB12CDE", "T-7KQ2MX4PZ9H", "T-7KQ2MX4PZ9HO", None])
def test_what_is_no_ticket_number_is_not_read_as_one(typed):
    assert gate.normalise_ticket(typed) is None


# --- entry: the spot fits the vehicle ---------------------------------------------------


def test_entry_creates_an_active_gate_stay_without_a_user(make_lot, operator):
    lot = make_lot(spots={"standard": 1})
    booking, reserved = enter(lot, "ab12 cde", operator, gate="North")
    db.session.expire_all()
    assert reserved is False
    assert booking.plate == "AB12CDE" and booking.user_id is None
    assert booking.source == BookingSource.GATE and booking.entry_gate == "North"
    assert booking.ends_at is None and booking.vehicle_type == VehicleType.CAR


@pytest.mark.parametrize(
    ("spots", "details", "kind"),
    [
        ({"standard": 1, "motorcycle": 1}, {"vehicle_type": "motorcycle"}, "motorcycle"),
        ({"standard": 1, "ev": 1}, {"is_ev": True}, "ev"),
        ({"standard": 1, "ev": 1}, {}, "standard"),
        ({"compact": 1, "standard": 1}, {"vehicle_type": "van"}, "standard"),
        (
            {"compact": 1, "ev": 1, "standard": 1},
            {"vehicle_type": "truck", "is_ev": True},
            "standard",
        ),
        ({"standard": 1, "accessible": 1}, {"accessible": True}, "accessible"),
        ({"standard": 1, "accessible": 1}, {}, "standard"),
    ],
    ids=[
        "motorcycle-prefers-motorcycle",
        "ev-prefers-ev",
        "car-prefers-standard-to-ev",
        "van-gets-standard-not-compact",
        "electric-truck-gets-standard",
        "permit-prefers-accessible",
        "no-permit-no-accessible",
    ],
)
def test_entry_assigns_a_spot_that_fits_the_vehicle(make_lot, operator, spots, details, kind):
    lot = make_lot(spots=spots)
    booking, _ = enter(lot, "FIT1", operator, **details)
    assert kind_of(booking) == kind


@pytest.mark.parametrize(
    ("spots", "details"),
    [
        ({"compact": 2}, {"vehicle_type": "van"}),
        ({"accessible": 2}, {}),
        ({"accessible": 1, "motorcycle": 1}, {"vehicle_type": "car"}),
        ({"ev": 2}, {"vehicle_type": "van", "is_ev": True}),
    ],
    ids=["van-never-compact", "never-accessible-unflagged", "car-not-motorcycle", "van-not-ev"],
)
def test_a_vehicle_is_never_given_a_spot_that_does_not_fit(make_lot, operator, spots, details):
    lot = make_lot(spots=spots)
    with pytest.raises(LotFull) as caught:
        gate.enter(lot.id, "NOFIT1", operator=operator, **details)
    assert "waitlist" in caught.value.message
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_an_unflagged_vehicle_never_gets_an_accessible_spot_however_full(make_lot, operator):
    lot = make_lot(spots={"standard": 2, "accessible": 3})
    stays = [enter(lot, f"CAR{i}", operator)[0] for i in range(2)]
    assert {kind_of(b) for b in stays} == {"standard"}
    with pytest.raises(LotFull):
        gate.enter(lot.id, "CAR9", operator=operator)
    flagged, _ = enter(lot, "PERMIT1", operator, accessible=True)
    assert kind_of(flagged) == "accessible"


def test_details_come_from_the_one_registered_vehicle_with_the_plate(make_lot, operator, driver):
    lot = make_lot(spots={"standard": 1, "ev": 1, "compact": 1})
    db.session.add(Vehicle(user_id=driver.id, plate="VAN1", vehicle_type=VehicleType.VAN))
    db.session.add(Vehicle(user_id=driver.id, plate="EV1", is_ev=True))
    db.session.commit()
    van, _ = enter(lot, "van 1", operator)
    assert (van.vehicle_type, kind_of(van)) == (VehicleType.VAN, "standard")
    ev, _ = enter(lot, "EV1", operator)
    assert kind_of(ev) == "ev"


def test_the_form_overrides_the_registration_and_two_owners_mean_unknown(
    make_lot, make_user, operator
):
    lot = make_lot(spots={"standard": 1, "motorcycle": 1, "compact": 1})
    for _ in range(2):
        owner = make_user()
        db.session.add(Vehicle(user_id=owner.id, plate="TWICE1", vehicle_type=VehicleType.VAN))
    db.session.add(Vehicle(user_id=owner.id, plate="BIKE1", vehicle_type=VehicleType.VAN))
    db.session.commit()
    ambiguous, _ = enter(lot, "TWICE1", operator)
    assert ambiguous.vehicle_type == VehicleType.CAR
    bike, _ = enter(lot, "BIKE1", operator, vehicle_type="motorcycle")
    assert kind_of(bike) == "motorcycle"


def test_a_vehicle_inside_cannot_enter_again(make_lot, operator):
    lot, other = make_lot(spots={"standard": 2}), make_lot(spots={"standard": 1})
    first, _ = enter(lot, "TWICE2", operator)
    for where in (lot, other):
        with pytest.raises(Conflict) as caught:
            gate.enter(where.id, "twice-2", operator=operator)
        assert caught.value.code == "already_inside"
        assert first.ticket_number in caught.value.message
    assert db.session.scalar(select(func.count(Booking.id))) == 1


# --- entry: reservations ----------------------------------------------------------------


def test_a_reservation_made_online_is_checked_in_at_the_gate(
    client, make_lot, operator, driver_headers, operator_headers
):
    lot = make_lot(spots={"standard": 3})
    made = api_book(
        client,
        driver_headers,
        lot,
        vehicle_plate="RES 123",
        starts_at=iso(hours_from_now(0) + timedelta(minutes=5)),
        ends_at=iso(hours_from_now(3)),
    )
    assert made.status_code == 201, made.get_json()
    reservation = made.get_json()
    response = client.post(
        "/api/v1/gate/entry",
        json={"lot_id": lot.id, "license_plate": "res-123", "gate": "West"},
        headers=operator_headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["reservation"] is True
    assert body["booking"]["id"] == reservation["id"]
    assert body["spot"]["id"] == reservation["spot"]["id"]
    assert body["booking"]["status"] == "active"
    assert re.fullmatch(r"T-\w{12}", body["ticket_number"])
    stay = db.session.get(Booking, reservation["id"])
    db.session.refresh(stay)
    assert stay.ticket_number == body["ticket_number"] and stay.entry_gate == "West"
    assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_a_reservation_for_later_is_not_used_now(make_lot, driver, operator):
    lot = make_lot(spots={"standard": 2})
    later = create_booking(
        driver,
        BookingRequest(
            lot_id=lot.id, plate="LATER1", starts_at=hours_from_now(2), ends_at=hours_from_now(3)
        ),
    )
    stay, reserved = enter(lot, "LATER1", operator)
    assert reserved is False and stay.id != later.id


def test_a_vehicle_queued_at_the_gate_takes_its_offer_as_an_open_stay(make_lot, operator):
    lot = make_lot(spots={"standard": 1})
    first, _ = enter(lot, "FIRST1", operator)
    entry, position = gate.join_waitlist(lot.id, "QUEUE1")
    assert str(position) == "1st of 1"
    gate.leave(first, operator=operator)  # nothing due within the grace period
    db.session.refresh(entry)
    assert entry.status == WaitlistStatus.OFFERED
    stay, reserved = enter(lot, "QUEUE1", operator)
    db.session.refresh(entry)
    assert reserved is True and stay.id == entry.booking_id
    assert entry.status == WaitlistStatus.ASSIGNED
    assert stay.ends_at is None and stay.booked_ends_at is None


# --- exit -------------------------------------------------------------------------------


def test_unknown_ticket_or_plate_is_404_with_a_clear_message(make_lot, operator):
    lot = make_lot()
    with pytest.raises(NotFound, match=r"No vehicle inside .* with ticket T-7KQ2MX4PZ9HD"):
        gate.find_inside(lot.id, ticket="T-7KQ2MX4PZ9HD")
    with pytest.raises(NotFound, match="No vehicle inside with plate NOPE1"):
        gate.find_inside(plate="nope 1")
    stay, _ = enter(lot, "GONE1", operator)
    gate.leave(stay, operator=operator)
    with pytest.raises(NotFound):
        gate.find_inside(lot.id, ticket=stay.ticket_number)


def test_exit_before_payment_is_refused_naming_the_amount(make_lot, operator):
    lot = make_lot(spots={"standard": 1})
    stay, _ = enter(lot, "OWES1", operator)
    back_in_time(stay, ALMOST_TWO_HOURS)
    with pytest.raises(Conflict) as caught:
        gate.leave(stay, operator=operator)
    assert caught.value.code == "payment_required"
    assert caught.value.message == "4.00 GBP is due: take payment before the exit."
    db.session.refresh(stay)
    assert stay.status == BookingStatus.ACTIVE


def test_pay_the_exact_amount_then_leave(make_lot, operator):
    lot = make_lot(spots={"standard": 1})
    stay, _ = enter(lot, "PAYS1", operator)
    back_in_time(stay, ALMOST_TWO_HOURS)
    with pytest.raises(Invalid, match=r"4\.00 GBP is due"):
        gate.pay_and_leave(
            stay, method="cash", amount_cents=300, idempotency_key="k-wrong", operator=operator
        )
    payment, left = gate.pay_and_leave(
        stay, method="cash", amount_cents=400, idempotency_key="k-1", operator=operator, gate="S"
    )
    assert (payment.amount_cents, payment.operator_id) == (400, operator.id)
    assert left.status == BookingStatus.COMPLETED and left.exit_gate == "S"
    assert left.price_cents == 400
    again, _ = gate.pay_and_leave(
        stay, method="cash", amount_cents=400, idempotency_key="k-1", operator=operator
    )
    assert again.id == payment.id
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def test_a_paid_stay_exits_freely_within_the_window_and_owes_more_after(make_lot, operator):
    lot = make_lot(spots={"standard": 2}, exit_minutes_after_payment=15)
    in_time, _ = enter(lot, "INTIME1", operator)
    late, _ = enter(lot, "LATE1", operator)
    for stay in (in_time, late):
        back_in_time(stay, timedelta(hours=1, minutes=50))
        payments.pay(
            stay,
            method="card",
            amount_cents=400,
            idempotency_key=f"pre-{stay.id}",
            operator=operator,
        )
    # 10 minutes after paying, 2 h 00 min in: still held at the payment.
    back_in_time(in_time, timedelta(minutes=10))
    paid_earlier(in_time, timedelta(minutes=10))
    left = gate.leave(in_time, operator=operator)
    assert left.status == BookingStatus.COMPLETED and left.price_cents == 400
    assert gate.fee(left).due_cents == 0
    # 20 minutes after paying, 2 h 10 min in: a third hour is due.
    back_in_time(late, timedelta(minutes=20))
    paid_earlier(late, timedelta(minutes=20))
    with pytest.raises(Conflict, match=r"^2\.00 GBP is due"):
        gate.leave(late, operator=operator)


def test_a_reservation_prepaid_online_exits_freely(make_lot, driver, operator):
    lot = make_lot(spots={"standard": 1})
    reservation = create_booking(
        driver,
        BookingRequest(
            lot_id=lot.id,
            plate="PRE1",
            starts_at=utcnow() + timedelta(minutes=5),
            ends_at=utcnow() + timedelta(hours=2),
        ),
    )
    payments.pay(
        reservation, method="online", amount_cents=400, idempotency_key="online-1", payer=driver
    )
    stay, reserved = enter(lot, "PRE1", operator)
    assert reserved is True
    bill = gate.fee(stay)
    assert (bill.total_cents, bill.paid_cents, bill.due_cents) == (400, 400, 0)
    assert gate.leave(stay, operator=operator).status == BookingStatus.COMPLETED


# --- lot full and the waitlist ----------------------------------------------------------


def test_a_full_lot_answers_409_and_the_vehicle_can_queue_at_the_gate(
    client, make_lot, operator_headers
):
    lot = make_lot(name="Tiny Garage", spots={"standard": 1})
    url = "/api/v1/gate/entry"
    assert (
        client.post(
            url, json={"lot_id": lot.id, "license_plate": "IN1"}, headers=operator_headers
        ).status_code
        == 201
    )
    full = client.post(
        url, json={"lot_id": lot.id, "license_plate": "WAIT1"}, headers=operator_headers
    )
    assert full.status_code == 409
    assert full.get_json()["code"] == "lot_full"
    assert "Tiny Garage is full" in full.get_json()["message"]
    assert "waitlist" in full.get_json()["message"]
    queued = client.post(
        "/api/v1/gate/waitlist",
        json={"lot_id": lot.id, "license_plate": "wait 1"},
        headers=operator_headers,
    )
    assert queued.status_code == 201, queued.get_json()
    assert queued.get_json()["position"]["text"] == "1st of 1"
    entry = db.session.scalar(select(WaitlistEntry))
    assert (entry.plate, entry.user_id, entry.lot_id) == ("WAIT1", None, lot.id)
    again = client.post(
        "/api/v1/gate/waitlist",
        json={"lot_id": lot.id, "license_plate": "WAIT1"},
        headers=operator_headers,
    )
    assert again.status_code == 409


def test_a_van_queues_when_only_a_compact_spot_is_free_but_a_car_cannot(make_lot, operator):
    lot = make_lot(spots={"standard": 1, "compact": 1})
    enter(lot, "CAR1", operator)
    entry, position = gate.join_waitlist(lot.id, "VAN2", vehicle_type="van")
    assert entry.vehicle_type == VehicleType.VAN and str(position) == "1st of 1"
    with pytest.raises(Conflict) as caught:
        gate.join_waitlist(lot.id, "CAR2")
    assert caught.value.code == "spots_free"
    assert waitlist.position(entry).total == 1


# --- API --------------------------------------------------------------------------------


def test_api_entry_fee_and_exit(client, make_lot, operator_headers, operator):
    lot = make_lot(spots={"standard": 1, "motorcycle": 1})
    entered = client.post(
        "/api/v1/gate/entry",
        json={"lot_id": lot.id, "license_plate": "mc 12", "vehicle_type": "motorcycle"},
        headers=operator_headers,
    )
    assert entered.status_code == 201, entered.get_json()
    body = entered.get_json()
    assert body["reservation"] is False and body["spot"]["kind"] == "motorcycle"
    assert set(body["spot"]) == {"id", "label", "kind", "level", "zone"}
    assert body["booking"]["source"] == "gate" and body["booking"]["vehicle_plate"] == "MC12"
    back_in_time(db.session.get(Booking, body["booking"]["id"]), ALMOST_TWO_HOURS)

    fee = client.get(
        f"/api/v1/gate/fee?ticket_number={body['ticket_number']}&lot_id={lot.id}",
        headers=operator_headers,
    )
    assert fee.status_code == 200, fee.get_json()
    fee = fee.get_json()
    assert fee["due"] == {"amount_cents": 400, "currency": "GBP"}
    assert fee["paid"]["amount_cents"] == 0 and fee["exit_by"] is None
    assert sum(line["amount_cents"] for line in fee["quote"]["lines"]) == 400

    refused = client.post(
        "/api/v1/gate/exit", json={"license_plate": "MC12"}, headers=operator_headers
    )
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "payment_required"
    assert refused.get_json()["message"] == "4.00 GBP is due: take payment before the exit."

    stay = db.session.get(Booking, body["booking"]["id"])
    payments.pay(stay, method="mobile", amount_cents=400, idempotency_key="m-1", operator=operator)
    allowed = client.post(
        "/api/v1/gate/exit",
        json={"lot_id": lot.id, "ticket_number": body["ticket_number"].lower(), "gate": "East"},
        headers=operator_headers,
    )
    assert allowed.status_code == 200, allowed.get_json()
    assert allowed.get_json()["exit"] == "allowed"
    assert allowed.get_json()["booking"]["status"] == "completed"
    assert allowed.get_json()["booking"]["price"] == {"amount_cents": 400, "currency": "GBP"}
    again = client.post(
        "/api/v1/gate/exit", json={"ticket_number": body["ticket_number"]}, headers=operator_headers
    )
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "ticket_number"),
        ({"ticket_number": "T-7KQ2MX4PZ9HD", "license_plate": "AB12CDE"}, 422, "ticket_number"),
        ({"ticket_number": "T-7KQ2MX4PZ9HD"}, 404, "ticket_number"),
        ({"ticket_number": "junk!"}, 404, "ticket_number"),
        ({"license_plate": "ZZ99ZZZ"}, 404, "license_plate"),
        ({"license_plate": "!"}, 422, "license_plate"),
        ({"license_plate": "AB12CDE", "lot_id": 99999}, 404, None),
        ({"license_plate": "AB12CDE", "colour": "red"}, 422, None),
    ],
)
def test_api_exit_bad_input(client, operator_headers, body, status, field):
    response = client.post("/api/v1/gate/exit", json=body, headers=operator_headers)
    assert response.status_code == status, response.get_json()
    error = response.get_json()
    assert error["message"]
    if field:
        assert field in error["errors"]
    if status == 404 and "ticket_number" in body:
        assert "No vehicle inside with ticket" in error["message"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"lot_id": None, "license_plate": "AB12CDE"}, 422),
        ({"lot_id": 99999, "license_plate": "AB12CDE"}, 404),
        ({"lot_id": "LOT", "license_plate": "AB12CDE"}, 422),
        ({"license_plate": "!!"}, 422),
        ({"license_plate": "AB12CDE", "vehicle_type": "tank"}, 422),
        ({"license_plate": "AB12CDE", "is_ev": "yes"}, 422),
        ({"license_plate": "AB12CDE", "gate": "x" * 61}, 422),
        ({"license_plate": "AB12CDE\u0000"}, 422),
    ],
)
def test_api_entry_bad_input(client, lot, operator_headers, body, status):
    body = {k: v for k, v in {"lot_id": lot.id, **body}.items() if v is not None}
    response = client.post("/api/v1/gate/entry", json=body, headers=operator_headers)
    assert response.status_code == status, response.get_json()
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_api_fee_needs_one_of_ticket_and_plate(client, operator_headers):
    neither = client.get("/api/v1/gate/fee", headers=operator_headers)
    assert neither.status_code == 422
    assert "is required" in neither.get_json()["errors"]["ticket_number"][0]
    assert "not both" not in neither.get_json()["message"]
    both = "/api/v1/gate/fee?ticket_number=T-7KQ2MX4PZ9HD&license_plate=AB12CDE"
    both = client.get(both, headers=operator_headers)
    assert both.status_code == 422
    assert "not both" in both.get_json()["errors"]["ticket_number"][0]
    missing = client.get("/api/v1/gate/fee?license_plate=AB12CDE", headers=operator_headers)
    assert missing.status_code == 404
    assert missing.get_json()["message"] == "No vehicle inside with plate AB12CDE."


def test_gate_api_is_for_operators_and_admins(
    client, lot, driver_headers, operator_headers, admin_headers
):
    body = {"lot_id": lot.id, "license_plate": "ROLE1"}
    assert client.post("/api/v1/gate/entry", json=body).status_code == 401
    refused = client.post("/api/v1/gate/entry", json=body, headers=driver_headers)
    assert refused.status_code == 403
    for path in ("/api/v1/gate/fee?license_plate=ROLE1",):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=driver_headers).status_code == 403
    assert client.post("/api/v1/gate/exit", json=body, headers=driver_headers).status_code == 403
    assert client.post("/api/v1/gate/entry", json=body, headers=admin_headers).status_code == 201
    assert (
        client.get("/api/v1/gate/fee?license_plate=ROLE1", headers=operator_headers).status_code
        == 200
    )
    assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_vehicle_types_lists_the_spot_kinds_each_fits(client):
    response = client.get("/api/v1/vehicle-types")
    assert response.status_code == 200
    types = {item["name"]: item for item in response.get_json()["items"]}
    assert set(types) == {"car", "motorcycle", "van", "truck"}
    assert types["motorcycle"]["spot_kinds"][0] == "motorcycle"
    assert types["car"]["ev_spot_kinds"][0] == "ev"
    assert "compact" not in types["van"]["spot_kinds"]
    assert all("accessible" not in t["spot_kinds"] for t in types.values())
    assert types["car"]["accessible_spot_kinds"][0] == "accessible"

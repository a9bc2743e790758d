"""API: quotes, booking, check-in, release, cancel, booking lists and the admin dashboard."""

from datetime import timedelta

import pytest

from parkapp.extensions import db
from parkapp.models import Booking, BookingSource, BookingStatus, utcnow
from tests.conftest import api_book as book
from tests.conftest import hours_from_now, iso

API = "/api/v1"
HUGE_ID = 99999999999999999999


def park_now(client, headers, lot, **fields):
    return book(client, headers, lot, starts_at=None, ends_at=None, **fields)


def quote(client, lot, **fields):
    body = {
        "lot_id": lot.id,
        "starts_at": iso(hours_from_now(2)),
        "ends_at": iso(hours_from_now(5)),
        **fields,
    }
    return client.post(f"{API}/quotes", json=body)


def action(client, headers, booking, name):
    return client.post(f"{API}/bookings/{booking['id']}/{name}", headers=headers)


# -- POST /quotes -----------------------------------------------------------------------------


def test_a_quote_is_public_and_itemised_with_a_money_total(client, lot):
    response = quote(client, lot)
    assert response.status_code == 200
    body = response.get_json()
    assert body["lines"] == [{"label": "3 h at 2.00 GBP/h", "amount_cents": 600}]
    assert body["total"] == {"amount_cents": 600, "currency": "GBP"}
    assert (body["total_cents"], body["currency"], body["open_ended"]) == (600, "GBP", False)
    assert body["lot_id"] == lot.id and body["starts_at"].endswith("+00:00")
    assert db.session.scalar(db.select(db.func.count(Booking.id))) == 0


def test_a_long_quote_is_capped_per_day(client, lot):
    start = hours_from_now(1)
    body = quote(
        client, lot, starts_at=iso(start), ends_at=iso(start + timedelta(days=1, hours=2))
    ).get_json()
    assert body["total"]["amount_cents"] == 1500 + 400


@pytest.mark.parametrize(
    "fields, status, field",
    [
        ({"ends_at": iso(hours_from_now(1))}, 422, "ends_at"),  # before the start
        ({"starts_at": iso(hours_from_now(-3))}, 422, "starts_at"),  # in the past
        ({"ends_at": iso(hours_from_now(24 * 40))}, 422, "ends_at"),  # longer than 30 days
        ({"starts_at": "2030-01-01T10:00:00"}, 422, "starts_at"),  # naive
        ({"spot_kind": "hovercraft"}, 422, "spot_kind"),
        ({"vehicle_type": "tank"}, 422, "vehicle_type"),
        ({"lot_id": "one"}, 422, "lot_id"),
        ({"lot_id": HUGE_ID}, 422, "lot_id"),
        ({"ends_at": None}, 422, "ends_at"),
    ],
)
def test_bad_quote_requests_are_422(client, lot, fields, status, field):
    response = quote(client, lot, **fields)
    assert response.status_code == status
    assert field in response.get_json()["errors"]


def test_quoting_an_unknown_lot_is_404(client, lot):
    assert quote(client, lot, lot_id=424242).status_code == 404


# -- POST /bookings ---------------------------------------------------------------------------


def test_booking_a_reservation_answers_201_with_spot_code_and_quote(client, lot, driver_headers):
    start, end = hours_from_now(2), hours_from_now(4)
    response = book(
        client,
        driver_headers,
        lot,
        starts_at=iso(start),
        ends_at=iso(end),
        vehicle_plate="ab 12-cde",
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "reserved" and body["source"] == "api"
    assert body["lot_id"] == lot.id and body["vehicle_plate"] == "AB12CDE"
    assert set(body["spot"]) == {"id", "label", "kind", "level", "zone"}
    assert (body["spot"]["level"], body["spot"]["zone"]) == ("L1", "A")
    assert len(body["confirmation_code"]) == 10
    assert (body["starts_at"], body["ends_at"]) == (iso(start), iso(end))
    assert body["quote"]["total"] == {"amount_cents": 400, "currency": "GBP"}
    assert body["price"] is None
    assert db.session.get(Booking, body["id"]).source == BookingSource.API


def test_parking_now_is_open_ended_and_active(client, lot, driver_headers):
    body = park_now(client, driver_headers, lot).get_json()
    assert body["status"] == "active" and body["ends_at"] is None
    assert body["quote"]["open_ended"] is True and body["checked_in_at"] is not None


def test_booking_needs_a_token(client, lot):
    assert book(client, {}, lot).status_code == 401


def test_a_chosen_spot_already_taken_is_409(client, lot, driver_headers, other_headers):
    spot_id = lot.spots[0].id
    assert book(client, driver_headers, lot, spot_id=spot_id).status_code == 201
    response = book(
        client,
        other_headers,
        lot,
        spot_id=spot_id,
        vehicle_plate="OT12HER",
        starts_at=iso(hours_from_now(3)),
        ends_at=iso(hours_from_now(5)),
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "spot_unavailable"
    later = book(
        client,
        other_headers,
        lot,
        spot_id=spot_id,
        vehicle_plate="OT12HER",
        starts_at=iso(hours_from_now(4)),
        ends_at=iso(hours_from_now(5)),
    )
    assert later.status_code == 201  # [start, end) intervals: touching is not overlapping


def test_a_full_lot_is_409(client, make_lot, driver_headers, other_headers):
    lot = make_lot(spots={"standard": 1})
    assert park_now(client, driver_headers, lot).status_code == 201
    response = park_now(client, other_headers, lot, vehicle_plate="OT12HER")
    assert response.status_code == 409
    assert response.get_json()["code"] == "lot_full"


def test_a_spot_in_maintenance_is_409(client, lot, driver_headers, admin_headers):
    spot_id = lot.spots[0].id
    client.patch(f"{API}/spots/{spot_id}", json={"status": "maintenance"}, headers=admin_headers)
    response = book(client, driver_headers, lot, spot_id=spot_id)
    assert response.status_code == 409
    assert response.get_json()["code"] == "spot_unavailable"


def test_the_same_vehicle_cannot_hold_two_overlapping_bookings(client, lot, driver_headers):
    assert book(client, driver_headers, lot).status_code == 201
    response = book(
        client,
        driver_headers,
        lot,
        starts_at=iso(hours_from_now(3)),
        ends_at=iso(hours_from_now(6)),
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "vehicle_busy"


def test_a_deactivated_lot_cannot_be_booked(client, lot, driver_headers, admin_headers):
    client.delete(f"{API}/lots/{lot.id}", headers=admin_headers)
    response = book(client, driver_headers, lot)
    # The booking service treats a deactivated lot as unknown (404), like GET /lots/{id}.
    assert response.status_code == 404
    assert db.session.scalar(db.select(db.func.count(Booking.id))) == 0


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"ends_at": iso(hours_from_now(1))}, "ends_at"),
        ({"starts_at": iso(hours_from_now(-2)), "ends_at": iso(hours_from_now(1))}, "starts_at"),
        ({"ends_at": iso(hours_from_now(24 * 31))}, "ends_at"),
        ({"starts_at": "2030-01-01T10:00:00", "ends_at": "2030-01-01T12:00:00Z"}, "starts_at"),
        ({"ends_at": None}, "ends_at"),  # a reservation needs an end
        ({"vehicle_plate": "A!"}, "vehicle_plate"),
        ({"vehicle_plate": None}, "vehicle_plate"),
        ({"spot_kind": "hovercraft"}, "spot_kind"),
        ({"lot_id": "1"}, "lot_id"),
        ({"spot_id": True}, "spot_id"),
        ({"spot_id": HUGE_ID}, "spot_id"),
        ({"starts_at": 1700000000}, "starts_at"),
        (
            {"starts_at": "9999-12-31T22:00:00-05:00", "ends_at": "9999-12-31T23:00:00-05:00"},
            "starts_at",
        ),
    ],
)
def test_invalid_booking_requests_are_422(client, lot, driver_headers, fields, field):
    response = book(client, driver_headers, lot, **fields)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert field in body["errors"] and body["code"] == "invalid"


def test_a_booking_longer_than_the_lots_maximum_is_422(client, make_lot, driver_headers):
    lot = make_lot(max_booking_days=2)
    response = book(client, driver_headers, lot, ends_at=iso(hours_from_now(2 + 49)))
    assert response.status_code == 422
    assert "at most 2 days" in response.get_json()["errors"]["ends_at"][0]


def test_malformed_booking_json_is_400(client, driver_headers):
    response = client.post(
        f"{API}/bookings",
        data="{'lot_id': 1}",
        content_type="application/json",
        headers=driver_headers,
    )
    assert response.status_code == 400


def test_an_unknown_spot_or_one_in_another_lot_is_404(client, make_lot, driver_headers):
    lot, elsewhere = make_lot(), make_lot()
    assert book(client, driver_headers, lot, spot_id=424242).status_code == 404
    assert book(client, driver_headers, lot, spot_id=elsewhere.spots[0].id).status_code == 404
    assert book(client, driver_headers, lot, lot_id=424242).status_code == 404


# -- the whole flow ---------------------------------------------------------------------------


def test_book_check_in_release_gives_the_final_price(client, lot, driver_headers):
    start = (utcnow() - timedelta(seconds=30)).replace(
        microsecond=0
    )  # within the 1-minute tolerance
    booking = book(
        client, driver_headers, lot, starts_at=iso(start), ends_at=iso(start + timedelta(hours=3))
    ).get_json()
    assert booking["status"] == "reserved"
    checked_in = action(client, driver_headers, booking, "check-in")
    assert checked_in.status_code == 200 and checked_in.get_json()["status"] == "active"
    released = action(client, driver_headers, booking, "release")
    assert released.status_code == 200
    body = released.get_json()
    assert body["status"] == "completed" and body["released_at"] is not None
    assert body["price"] == {"amount_cents": 600, "currency": "GBP"}  # the 3 h booked
    assert body["quote"]["total"] == body["price"]
    again = action(client, driver_headers, booking, "release")
    assert again.status_code == 409 and again.get_json()["code"] == "already_released"
    row = db.session.get(Booking, booking["id"])
    assert (row.status, row.price_cents) == (BookingStatus.COMPLETED, 600)


def test_a_park_now_stay_within_the_grace_period_is_free(client, lot, driver_headers):
    stay = park_now(client, driver_headers, lot).get_json()
    body = action(client, driver_headers, stay, "release").get_json()
    assert body["price"] == {"amount_cents": 0, "currency": "GBP"}
    assert body["ends_at"] is not None


def test_check_in_opens_shortly_before_the_start(client, lot, driver_headers):
    booking = book(client, driver_headers, lot).get_json()
    response = action(client, driver_headers, booking, "check-in")
    assert response.status_code == 409 and response.get_json()["code"] == "too_early"


def test_a_reservation_must_be_checked_in_before_release(client, lot, driver_headers):
    booking = book(client, driver_headers, lot).get_json()
    response = action(client, driver_headers, booking, "release")
    assert response.status_code == 409 and response.get_json()["code"] == "not_checked_in"


def test_an_operator_checks_in_and_releases_a_drivers_booking(
    client, lot, driver_headers, operator_headers
):
    start = (utcnow() + timedelta(minutes=5)).replace(microsecond=0)
    booking = book(
        client, driver_headers, lot, starts_at=iso(start), ends_at=iso(start + timedelta(hours=1))
    ).get_json()
    assert action(client, operator_headers, booking, "check-in").get_json()["status"] == "active"
    assert action(client, operator_headers, booking, "release").get_json()["status"] == "completed"


def test_another_driver_cannot_touch_a_booking(client, lot, driver_headers, other_headers):
    booking = park_now(client, driver_headers, lot).get_json()
    for name in ("check-in", "release", "cancel"):
        assert action(client, other_headers, booking, name).status_code == 404
    assert db.session.get(Booking, booking["id"]).status == BookingStatus.ACTIVE


def test_cancelling_frees_the_spot_and_only_reservations_can_be_cancelled(
    client, make_lot, driver_headers, other_headers
):
    lot = make_lot(spots={"standard": 1})
    booking = book(client, driver_headers, lot).get_json()
    response = action(client, driver_headers, booking, "cancel")
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled" and response.get_json()["cancelled_at"]
    again = action(client, driver_headers, booking, "cancel")
    assert again.status_code == 409 and again.get_json()["code"] == "wrong_state"
    assert book(client, other_headers, lot, vehicle_plate="OT12HER").status_code == 201
    stay = park_now(client, driver_headers, make_lot(), vehicle_plate="PK12NOW").get_json()
    assert action(client, driver_headers, stay, "cancel").status_code == 409


def test_admins_cancel_any_booking_but_operators_cannot(
    client, lot, driver_headers, operator_headers, admin_headers
):
    booking = book(client, driver_headers, lot).get_json()
    assert action(client, operator_headers, booking, "cancel").status_code == 404
    assert action(client, admin_headers, booking, "cancel").get_json()["status"] == "cancelled"


def test_booking_actions_need_a_token_and_a_known_booking(client, driver_headers):
    assert client.post(f"{API}/bookings/1/release").status_code == 401
    for booking_id in (424242, HUGE_ID):
        for name in ("check-in", "release", "cancel"):
            assert action(client, driver_headers, {"id": booking_id}, name).status_code == 404


# -- reading bookings -------------------------------------------------------------------------


def test_a_booking_is_visible_to_its_owner_and_admins_only(
    client, lot, driver_headers, other_headers, admin_headers
):
    booking = book(client, driver_headers, lot).get_json()
    url = f"{API}/bookings/{booking['id']}"
    owner_view = client.get(url, headers=driver_headers)
    assert owner_view.status_code == 200 and owner_view.get_json() == booking
    assert client.get(url, headers=admin_headers).status_code == 200
    assert client.get(url, headers=other_headers).status_code == 404
    assert client.get(url).status_code == 401
    assert client.get(f"{API}/bookings/{HUGE_ID}", headers=admin_headers).status_code == 404


def test_find_a_booking_by_confirmation_code(
    client, lot, driver_headers, other_headers, operator_headers
):
    booking = book(client, driver_headers, lot).get_json()
    url = f"{API}/bookings/by-code/{booking['confirmation_code'].lower()}"
    assert client.get(url, headers=driver_headers).get_json()["id"] == booking["id"]
    assert client.get(url, headers=operator_headers).get_json()["id"] == booking["id"]
    assert client.get(url, headers=other_headers).status_code == 404
    for junk in ("NOPE", "%00abc", "x" * 40):
        assert (
            client.get(f"{API}/bookings/by-code/{junk}", headers=operator_headers).status_code
            == 404
        )


def test_booking_list_shows_your_own_and_admins_see_all(
    client, make_lot, driver_headers, other_headers, admin_headers
):
    lot = make_lot(spots={"standard": 3})
    mine = book(client, driver_headers, lot).get_json()
    theirs = book(client, other_headers, lot, vehicle_plate="OT12HER").get_json()
    own = client.get(f"{API}/bookings", headers=driver_headers).get_json()
    assert [b["id"] for b in own["items"]] == [mine["id"]] and own["total"] == 1
    everyone = client.get(f"{API}/bookings", headers=admin_headers).get_json()
    assert {b["id"] for b in everyone["items"]} == {mine["id"], theirs["id"]}


def test_booking_list_filters_by_status_lot_and_start(client, make_lot, driver_headers):
    lot, other_lot = make_lot(spots={"standard": 3}), make_lot()
    reserved = book(client, driver_headers, lot).get_json()
    active = park_now(client, driver_headers, lot, vehicle_plate="PK12NOW").get_json()
    elsewhere = book(client, driver_headers, other_lot, vehicle_plate="EL5EWHR").get_json()

    def ids(**query):
        response = client.get(f"{API}/bookings", query_string=query, headers=driver_headers)
        assert response.status_code == 200, response.get_json()
        return {b["id"] for b in response.get_json()["items"]}

    assert ids(status="active") == {active["id"]}
    assert ids(lot_id=lot.id) == {reserved["id"], active["id"]}
    assert ids(**{"from": iso(hours_from_now(1))}) == {reserved["id"], elsewhere["id"]}
    assert ids(to=iso(hours_from_now(1))) == {active["id"]}
    assert ids(per_page=1)  # paginated
    assert (
        len(client.get(f"{API}/bookings?per_page=1", headers=driver_headers).get_json()["items"])
        == 1
    )


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=parked", "status"),
        ("lot_id=abc", "lot_id"),
        (f"lot_id={HUGE_ID}", "lot_id"),
        ("from=2030-01-01T00:00:00", "from"),
        ("to=tomorrow", "to"),
        ("per_page=0", "per_page"),
    ],
)
def test_booking_list_rejects_bad_filters_with_422(client, driver_headers, query, field):
    response = client.get(f"{API}/bookings?{query}", headers=driver_headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_booking_list_needs_a_token(client):
    assert client.get(f"{API}/bookings").status_code == 401


# -- GET /reports/dashboard -------------------------------------------------------------------


def test_dashboard_counts_todays_bookings_and_revenue(client, lot, driver_headers, admin_headers):
    start = (utcnow() - timedelta(seconds=30)).replace(microsecond=0)
    booking = book(
        client, driver_headers, lot, starts_at=iso(start), ends_at=iso(start + timedelta(hours=2))
    ).get_json()
    action(client, driver_headers, booking, "check-in")
    park_now(client, driver_headers, lot, vehicle_plate="PK12NOW")
    before = client.get(f"{API}/reports/dashboard", headers=admin_headers).get_json()
    assert (before["lots"], before["spots"], before["occupied_now"], before["active_bookings"]) == (
        1,
        2,
        2,
        2,
    )
    assert before["occupancy_percent"] == 100.0 and before["revenue_today"] == []
    action(client, driver_headers, booking, "release")
    after = client.get(f"{API}/reports/dashboard", headers=admin_headers).get_json()
    assert after["revenue_today"] == [{"currency": "GBP", "amount_cents": 400}]
    assert (after["occupied_now"], after["bookings_today"]) == (1, 2)


def test_dashboard_is_for_admins_only(client, driver_headers, operator_headers):
    assert client.get(f"{API}/reports/dashboard").status_code == 401
    assert client.get(f"{API}/reports/dashboard", headers=driver_headers).status_code == 403
    assert client.get(f"{API}/reports/dashboard", headers=operator_headers).status_code == 403

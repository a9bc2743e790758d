"""Driver pages: search, the lot page and booking form, my bookings, actions, vehicles."""

import html
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from parkapp import create_app
from parkapp.booking import claims, lifecycle
from parkapp.booking.claims import BookingRequest
from parkapp.core.money import money
from parkapp.extensions import db
from parkapp.lots import spots as spot_service
from parkapp.models import Booking, BookingStatus, SpotStatus, Vehicle
from tests.conftest import PASSWORD, hours_from_now


def text(response):
    """The page's visible text, tags stripped and whitespace collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def field_errors(response, field_id):
    """The error messages shown inside the form field whose input has this id."""
    page = response.get_data(as_text=True)
    for block in re.findall(r'<div class="field has-error">(.*?)</div>', page, flags=re.S):
        if f'id="{field_id}"' in block:
            return [
                html.unescape(e) for e in re.findall(r'class="field-error"[^>]*>(.*?)</p>', block)
            ]
    return []


def section(response, section_id):
    """The HTML of one <section id=...> of a page."""
    match = re.search(
        rf'<section[^>]*id="{section_id}"[^>]*>(.*?)</section>',
        response.get_data(as_text=True),
        flags=re.S,
    )
    return match.group(1) if match else ""


def local(instant, lot):
    """An aware instant as the lot-local value of a datetime-local input."""
    return instant.astimezone(ZoneInfo(lot.timezone)).strftime("%Y-%m-%dT%H:%M")


def booking_count():
    return db.session.scalar(select(func.count(Booking.id)))


def book_form(**fields):
    data = {
        "vehicle": "",
        "plate": "AB12 CDE",
        "spot_kind": "",
        "spot": "",
        "when": "now",
        "starts": "",
        "ends": "",
        "book": "Book",
    }
    data.update(fields)
    return data


def reserve(user, lot, plate, start_h, end_h, spot_id=None):
    """A reservation made through the service, as another page or the API would."""
    return claims.create_booking(
        user,
        BookingRequest(
            lot_id=lot.id,
            plate=plate,
            spot_id=spot_id,
            spot_kind=None if spot_id else "standard",
            starts_at=hours_from_now(start_h),
            ends_at=hours_from_now(end_h),
        ),
    )


def park_now(user, lot, plate):
    return claims.create_booking(
        user, BookingRequest(lot_id=lot.id, plate=plate, spot_kind="standard")
    )


# --- search -----------------------------------------------------------------------


def test_search_by_name_or_city_lists_only_matching_lots(client, make_lot):
    make_lot(name="Harbour Garage", city="Portsmouth")
    make_lot(name="Station Car Park", city="Bristol")
    page = text(client.get("/?q=harbour"))
    assert "Harbour Garage" in page and "Station Car Park" not in page
    page = text(client.get("/?q=bristol"))
    assert "Station Car Park" in page and "Harbour Garage" not in page


def test_search_by_distance_lists_nearest_first_within_the_radius(client, make_lot):
    make_lot(name="Far Lot", latitude=51.60, longitude=-0.12)  # ~11 km north
    make_lot(name="Near Lot", latitude=51.505, longitude=-0.12)  # ~0.5 km
    make_lot(name="Other City", latitude=53.48, longitude=-2.24)  # Manchester
    page = text(client.get("/?lat=51.50&lon=-0.12&radius=50"))
    assert page.index("Near Lot") < page.index("Far Lot")
    assert "Other City" not in page
    assert "0.6 km away" in page or "0.5 km away" in page


def test_search_counts_free_spots_for_an_interval_in_the_given_time_zone(client, make_lot, driver):
    lot = make_lot(name="Busy Lot", spots={"standard": 2})
    reserve(driver, lot, "AA11AAA", 3, 5)
    # parking now has no end, so a spot reserved later today cannot take it
    assert "1 of 2 free" in text(client.get("/?q=busy"))
    args = {
        "q": "busy",
        "starts": local(hours_from_now(3.5), lot),
        "ends": local(hours_from_now(4), lot),
        "tz": lot.timezone,
    }
    assert "1 of 2 free" in text(client.get("/", query_string=args))
    args.update(starts=local(hours_from_now(6), lot), ends=local(hours_from_now(7), lot))
    assert "2 of 2 free" in text(client.get("/", query_string=args))


def test_search_with_half_a_position_explains_what_is_missing(client, lot):
    response = client.get("/?lat=51.5")
    assert field_errors(response, "lat") == ["Give both latitude and longitude, or neither."]


# --- the lot page ---------------------------------------------------------------------


def test_lot_page_shows_facts_counts_by_kind_and_spot_badges(client, make_lot, driver):
    lot = make_lot(name="Counted Lot", spots={"standard": 2, "ev": 1})
    park_now(driver, lot, "AB12CDE")
    ev_spot = next(s for s in lot.spots if s.kind.value == "ev")
    spot_service.set_spot_status(ev_spot, SpotStatus.MAINTENANCE)
    page = text(client.get(f"/lots/{lot.id}"))
    assert "Counted Lot" in page and "Europe/London" in page and "2.00 GBP per started hour" in page
    assert "15.00 GBP" in page  # daily maximum
    assert "1 / 2 Standard" in page
    assert "0 / 1 EV charging" in page
    assert page.count("occupied") == 2  # the legend and the one taken spot
    assert "maintenance" in page


def test_anonymous_visitor_sees_the_lot_and_is_asked_to_log_in(client, lot):
    response = client.get(f"/lots/{lot.id}")
    assert response.status_code == 200
    assert "Log in to book" in text(response)
    assert 'name="book"' not in response.get_data(as_text=True)


def test_anonymous_booking_post_is_sent_to_log_in_and_books_nothing(client, lot):
    response = client.post(f"/lots/{lot.id}", data=book_form())
    assert response.status_code == 302 and "/login" in response.location
    assert booking_count() == 0


def test_unknown_lot_is_404(client, auth, driver):
    assert client.get("/lots/9999").status_code == 404


def test_search_link_carries_the_interval_to_the_booking_form(client, auth, driver, lot):
    auth.login()
    start, end = local(hours_from_now(24), lot), local(hours_from_now(26), lot)
    page = client.get(f"/lots/{lot.id}", query_string={"starts": start, "ends": end}).get_data(
        as_text=True
    )
    assert f'value="{start}"' in page and f'value="{end}"' in page
    assert re.search(r'value="later"[^>]*checked|checked[^>]*value="later"', page)


def test_booking_form_starts_with_standard_spots_so_accessible_ones_are_asked_for(
    client, auth, driver, make_lot
):
    lot = make_lot(spots={"accessible": 1, "standard": 1})
    auth.login()
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    kind_select = re.search(r'<select[^>]*id="spot_kind".*?</select>', page, flags=re.S).group(0)
    assert re.search(r'<option selected value="standard">', kind_select)


# --- booking from the lot page -------------------------------------------------------


def test_park_now_books_and_shows_the_confirmation_code(client, auth, driver, lot):
    auth.login()
    response = client.post(f"/lots/{lot.id}", data=book_form(plate="ab12 cde"))
    booking = db.session.scalar(select(Booking))
    assert response.status_code == 302
    assert response.location.endswith(f"/bookings/{booking.id}")
    assert booking.status == BookingStatus.ACTIVE and booking.ends_at is None
    assert booking.plate == "AB12CDE"
    page = text(client.get(response.location))
    assert f"Your confirmation code is {booking.confirmation_code}" in page
    # the new plate is now one of the driver's vehicles, offered next time
    assert "AB12CDE" in client.get(f"/lots/{lot.id}").get_data(as_text=True)


def test_reservation_reads_times_in_the_lot_time_zone(client, auth, driver, make_lot):
    lot = make_lot(name="NYC Garage", timezone="America/New_York", currency="USD")
    auth.login()
    start, end = hours_from_now(30).replace(second=0), hours_from_now(33).replace(second=0)
    response = client.post(
        f"/lots/{lot.id}",
        data=book_form(when="later", starts=local(start, lot), ends=local(end, lot)),
    )
    assert response.status_code == 302
    booking = db.session.scalar(select(Booking))
    assert booking.status == BookingStatus.RESERVED
    assert (booking.starts_at, booking.ends_at) == (start, end)


def test_booking_with_a_saved_vehicle_and_a_chosen_spot(client, auth, driver, lot):
    vehicle = Vehicle(user_id=driver.id, plate="SAVED1")
    db.session.add(vehicle)
    db.session.commit()
    spot = lot.spots[1]
    auth.login()
    response = client.post(
        f"/lots/{lot.id}", data=book_form(vehicle=str(vehicle.id), plate="", spot=str(spot.id))
    )
    assert response.status_code == 302
    booking = db.session.scalar(select(Booking))
    assert (booking.plate, booking.spot_id) == ("SAVED1", spot.id)


def test_get_quote_shows_price_lines_and_books_nothing(client, auth, driver, lot):
    auth.login()
    start = hours_from_now(48)
    response = client.post(
        f"/lots/{lot.id}",
        data=book_form(
            when="later",
            starts=local(start, lot),
            ends=local(start + timedelta(hours=3), lot),
            book="",
            get_quote="Get quote",
        ),
    )
    page = text(response)
    assert response.status_code == 200
    assert "3 h at 2.00 GBP/h 6.00 GBP" in page
    assert "Total 6.00 GBP" in page
    assert booking_count() == 0
    assert db.session.scalar(select(func.count(Vehicle.id))) == 0


def test_start_in_the_past_is_shown_next_to_the_start_field(client, auth, driver, lot):
    auth.login()
    response = client.post(
        f"/lots/{lot.id}",
        data=book_form(
            when="later", starts=local(hours_from_now(-2), lot), ends=local(hours_from_now(1), lot)
        ),
    )
    assert response.status_code == 422
    assert field_errors(response, "starts") == ["The start is in the past."]
    assert booking_count() == 0


def test_end_before_start_is_shown_next_to_the_end_field(client, auth, driver, lot):
    auth.login()
    response = client.post(
        f"/lots/{lot.id}",
        data=book_form(
            when="later", starts=local(hours_from_now(5), lot), ends=local(hours_from_now(4), lot)
        ),
    )
    assert response.status_code == 422
    assert field_errors(response, "ends") == ["The end must be after the start."]
    assert booking_count() == 0


def test_reservation_without_times_asks_for_them(client, auth, driver, lot):
    auth.login()
    response = client.post(f"/lots/{lot.id}", data=book_form(when="later"))
    assert response.status_code == 422
    assert field_errors(response, "starts") == ["When do you arrive?"]
    assert field_errors(response, "ends") == ["When do you leave?"]


def test_bad_plate_is_shown_next_to_the_plate_field(client, auth, driver, lot):
    auth.login()
    response = client.post(f"/lots/{lot.id}", data=book_form(plate="!"))
    assert response.status_code == 422
    assert field_errors(response, "plate")[0].startswith("A plate is 2 to 10 letters or digits")


def test_taken_spot_answers_409_keeps_the_input_and_writes_nothing(
    client, auth, driver, make_user, lot
):
    other = make_user(email="other@example.com")
    spot = lot.spots[0]
    reserve(other, lot, "OTHER1", 2, 6, spot_id=spot.id)
    before = booking_count()
    auth.login()
    starts, ends = local(hours_from_now(3), lot), local(hours_from_now(4), lot)
    response = client.post(
        f"/lots/{lot.id}",
        data=book_form(plate="NEW 123", spot=str(spot.id), when="later", starts=starts, ends=ends),
    )
    assert response.status_code == 409
    assert f"Spot {spot.label} is taken for that time." in text(response)
    page = response.get_data(as_text=True)
    assert 'value="NEW 123"' in page and f'value="{starts}"' in page
    assert booking_count() == before
    assert db.session.scalar(select(Vehicle).filter_by(plate="NEW123")) is None


def test_full_lot_answers_409_with_a_message(client, auth, driver, make_user, make_lot):
    lot = make_lot(spots={"standard": 1})
    park_now(make_user(email="first@example.com"), lot, "FIRST1")
    auth.login()
    response = client.post(f"/lots/{lot.id}", data=book_form())
    assert response.status_code == 409
    assert f"{lot.name} has no free spot for that time." in text(response)
    assert booking_count() == 1


def test_spot_of_another_kind_than_chosen_is_refused_by_the_form(client, auth, driver, make_lot):
    lot = make_lot(spots={"standard": 1, "ev": 1})
    standard = next(s for s in lot.spots if s.kind.value == "standard")
    auth.login()
    response = client.post(f"/lots/{lot.id}", data=book_form(spot_kind="ev", spot=str(standard.id)))
    assert response.status_code == 422
    assert "standard spot" in field_errors(response, "spot")[0]
    assert booking_count() == 0


# --- my bookings and their actions ---------------------------------------------------


def test_my_bookings_are_split_into_active_upcoming_and_past(client, auth, driver, make_lot):
    lot = make_lot(spots={"standard": 3})
    upcoming = reserve(driver, lot, "UP1", 24, 26)
    active = park_now(driver, lot, "NOW1")
    past = park_now(driver, lot, "PAST1")
    lifecycle.release(past, driver)
    auth.login()
    response = client.get("/bookings")
    assert upcoming.confirmation_code in section(response, "upcoming")
    assert active.confirmation_code in section(response, "active")
    assert past.confirmation_code in section(response, "past")
    upcoming_html = section(response, "upcoming")
    assert "Check-in opens" in upcoming_html and "Cancel" in upcoming_html  # a day away
    assert "Release spot" in section(response, "active")
    assert "<form" not in section(response, "past")
    assert money(past.price_cents, "GBP") in section(response, "past")


def test_my_bookings_lists_recent_past_first_and_all_on_request(client, auth, driver, lot):
    spot = lot.spots[0]
    for day in range(1, 23):
        starts = hours_from_now(-24 * day)
        db.session.add(
            Booking(
                lot_id=lot.id,
                spot_id=spot.id,
                user_id=driver.id,
                plate="OLD1",
                status=BookingStatus.COMPLETED,
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                confirmation_code=f"OLD{day:04d}",
                price_cents=200,
                currency="GBP",
            )
        )
    db.session.commit()
    auth.login()
    past = section(client.get("/bookings"), "past")
    assert "OLD0001" in past and "OLD0020" in past and "OLD0021" not in past
    assert "Show all 22 past bookings" in past
    assert "OLD0022" in section(client.get("/bookings?past=all"), "past")


def test_check_in_then_release_shows_the_final_price(client, auth, driver, lot):
    booking = reserve(driver, lot, "CHK1", 5 / 60, 2 + 5 / 60)  # starts in 5 minutes, for 2 h
    auth.login()
    response = client.post(f"/bookings/{booking.id}/check-in", data={"next": "/bookings"})
    assert response.status_code == 302 and response.location.endswith("/bookings")
    db.session.refresh(booking)
    assert booking.status == BookingStatus.ACTIVE
    response = client.post(f"/bookings/{booking.id}/release", follow_redirects=True)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.COMPLETED
    assert booking.price_cents == 600  # 2 h 05 min from the early check-in: 3 started hours
    page = text(response)
    assert "Final price: 6.00 GBP" in page
    assert "Final price Total" not in page and "Total 6.00 GBP" in page


def test_cancel_frees_an_upcoming_reservation(client, auth, driver, lot):
    booking = reserve(driver, lot, "CAN1", 24, 26)
    auth.login()
    page = text(client.post(f"/bookings/{booking.id}/cancel", follow_redirects=True))
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED
    assert f"Reservation {booking.confirmation_code} cancelled." in page


def test_an_operator_cannot_cancel_a_reservation_from_the_pages(
    client, auth, driver, operator, lot
):
    booking = reserve(driver, lot, "CAN2", 24, 26)
    auth.login(operator.email)
    assert client.post(f"/bookings/{booking.id}/cancel").status_code == 404  # as the API
    db.session.refresh(booking)
    assert booking.status == BookingStatus.RESERVED


def test_releasing_twice_flashes_why_and_changes_nothing(client, auth, driver, lot):
    booking = park_now(driver, lot, "TWICE1")
    auth.login()
    client.post(f"/bookings/{booking.id}/release")
    db.session.refresh(booking)
    price = booking.price_cents
    page = text(client.post(f"/bookings/{booking.id}/release", follow_redirects=True))
    assert "This booking is already completed." in page
    db.session.refresh(booking)
    assert booking.price_cents == price


def test_action_never_redirects_off_site(client, auth, driver, lot):
    booking = reserve(driver, lot, "OFF1", 24, 26)
    auth.login()
    response = client.post(f"/bookings/{booking.id}/cancel", data={"next": "//evil.example/x"})
    assert response.location.endswith(f"/bookings/{booking.id}")


def test_booking_page_shows_code_and_itemised_quote(client, auth, driver, lot):
    booking = reserve(driver, lot, "DET1", 24, 27)
    auth.login()
    page = text(client.get(f"/bookings/{booking.id}"))
    assert booking.confirmation_code in page
    assert "3 h at 2.00 GBP/h 6.00 GBP" in page and "Total 6.00 GBP" in page
    assert "Europe/London" in page


def test_another_users_booking_is_404_for_page_and_actions(client, auth, driver, make_user, lot):
    other = make_user(email="other@example.com")
    theirs = park_now(other, lot, "THEIRS1")
    auth.login()
    assert client.get(f"/bookings/{theirs.id}").status_code == 404
    assert client.post(f"/bookings/{theirs.id}/release").status_code == 404
    assert client.post(f"/bookings/{theirs.id}/cancel").status_code == 404
    db.session.refresh(theirs)
    assert theirs.status == BookingStatus.ACTIVE


def test_anonymous_visitor_is_sent_to_log_in_for_bookings(client):
    response = client.get("/bookings")
    assert response.status_code == 302
    assert "/login" in response.location


# --- vehicles ---------------------------------------------------------------------------


def test_vehicles_add_edit_delete(client, auth, driver):
    auth.login()
    response = client.post(
        "/vehicles",
        data={
            "plate": "ev70 lty",
            "vehicle_type": "car",
            "make": "Nissan",
            "model": "Leaf",
            "colour": "White",
            "is_ev": "y",
        },
    )
    assert response.status_code == 302
    vehicle = db.session.scalar(select(Vehicle).filter_by(user_id=driver.id))
    assert (vehicle.plate, vehicle.make, vehicle.is_ev) == ("EV70LTY", "Nissan", True)
    assert "EV70LTY" in text(client.get("/vehicles"))

    response = client.post(
        f"/vehicles/{vehicle.id}/edit",
        data={"vehicle_type": "van", "make": "Ford", "model": "Transit", "colour": ""},
    )
    assert response.status_code == 302
    db.session.refresh(vehicle)
    assert (vehicle.vehicle_type.value, vehicle.make, vehicle.is_ev) == ("van", "Ford", False)

    response = client.post(f"/vehicles/{vehicle.id}/delete", follow_redirects=True)
    assert "Removed EV70LTY." in text(response)
    assert db.session.scalar(select(func.count(Vehicle.id))) == 0


def test_duplicate_plate_is_shown_next_to_the_plate_field(client, auth, driver):
    auth.login()
    client.post("/vehicles", data={"plate": "AB12CDE", "vehicle_type": "car"})
    response = client.post("/vehicles", data={"plate": "ab-12 cde", "vehicle_type": "car"})
    assert response.status_code == 409
    assert field_errors(response, "plate") == ["Already on your account."]
    assert db.session.scalar(select(func.count(Vehicle.id))) == 1


def test_another_users_vehicle_cannot_be_edited_or_deleted(client, auth, driver, make_user):
    other = make_user(email="other@example.com")
    theirs = Vehicle(user_id=other.id, plate="THEIRS1")
    db.session.add(theirs)
    db.session.commit()
    auth.login()
    assert client.get(f"/vehicles/{theirs.id}/edit").status_code == 404
    assert client.post(f"/vehicles/{theirs.id}/delete").status_code == 404
    assert db.session.get(Vehicle, theirs.id) is not None


# --- CSRF -----------------------------------------------------------------------------


@pytest.fixture
def csrf_client(app):
    """A client of an app that checks CSRF tokens, logged in as the driver."""
    strict = create_app("testing", {"WTF_CSRF_ENABLED": True})
    client = strict.test_client()
    return client


def csrf_token(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"|'
        r'name="csrf_token" value="([^"]+)"',
        page,
    ).group(1, 2)


def login_with_token(client):
    token = next(t for t in csrf_token(client, "/login") if t)
    response = client.post(
        "/login", data={"email": "driver@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_posts_without_a_csrf_token_are_rejected_and_write_nothing(csrf_client, driver, lot):
    login_with_token(csrf_client)
    booking = reserve(driver, lot, "CSRF1", 24, 26)
    before = booking_count()
    db.session.rollback()  # see what the other app writes
    assert csrf_client.post(f"/lots/{lot.id}", data=book_form()).status_code == 400
    assert csrf_client.post(f"/bookings/{booking.id}/cancel").status_code == 400
    assert (
        csrf_client.post("/vehicles", data={"plate": "NEW1", "vehicle_type": "car"}).status_code
        == 400
    )
    assert booking_count() == before
    db.session.refresh(booking)
    assert booking.status == BookingStatus.RESERVED
    assert db.session.scalar(select(func.count(Vehicle.id))) == 1  # only the reservation's


def test_posts_with_the_csrf_token_go_through(csrf_client, driver, lot):
    login_with_token(csrf_client)
    token = next(t for t in csrf_token(csrf_client, f"/lots/{lot.id}") if t)
    response = csrf_client.post(f"/lots/{lot.id}", data={**book_form(), "csrf_token": token})
    assert response.status_code == 302 and "/bookings/" in response.location
    db.session.rollback()  # end this session's read snapshot: the other app wrote the row
    assert booking_count() == 1

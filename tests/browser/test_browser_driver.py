"""End to end in real Chromium: drivers and admins use the pages against a real gunicorn.

The server runs the development configuration (CSRF on, unlike TestingConfig) against the
test session's database, so every form must carry its token for these tests to pass.
"""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from parkapp.accounts import vehicles as vehicle_service
from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.booking.lifecycle import release
from parkapp.core.money import money
from parkapp.models import Booking, BookingStatus, Lot, Spot, Vehicle, utcnow
from tests.browser_fixtures import (
    SHOTS,
    count,
    flash,
    local_input,
    log_in,
    lot_card,
    lot_local_now,
    only,
    search_lots,
    tomorrow_at,
)


def section(page, key):
    """One section (active, upcoming, past) of My bookings."""
    return page.locator(f"section#{key}")


# --- 1. park now ---------------------------------------------------------------------


def test_driver_parks_now_and_releases_through_the_pages(new_page, make_user, make_lot):
    make_user(email="dana@example.com", full_name="Dana Driver")
    make_lot(name="Riverside Garage", grace_minutes=0, spots={"standard": 2})
    make_lot(name="Hilltop Car Park")
    page = new_page()
    log_in(page, "dana@example.com")

    search_lots(page, "Riverside")
    expect(page.get_by_role("heading", name="1 car park")).to_be_visible()
    expect(lot_card(page, "Riverside Garage")).to_contain_text("2 of 2 free")
    expect(lot_card(page, "Hilltop Car Park")).to_have_count(0)
    lot_card(page, "Riverside Garage").get_by_role("link", name="Riverside Garage").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Riverside Garage")
    expect(page.get_by_label("Park now")).to_be_checked()
    page.get_by_label("Plate").fill("ab12 cde")
    page.get_by_role("button", name="Book", exact=True).click()

    booking = only(Booking)
    page.wait_for_url(f"**/bookings/{booking.id}")
    expect(flash(page)).to_contain_text(f"Your confirmation code is {booking.confirmation_code}.")
    expect(page.get_by_label("Confirmation code")).to_have_text(booking.confirmation_code)
    assert (booking.status, booking.plate) == (BookingStatus.ACTIVE, "AB12CDE")

    page.get_by_role("link", name="My bookings").first.click()
    active = section(page, "active")
    expect(active).to_contain_text(booking.confirmation_code)
    active.get_by_role("button", name="Release spot").click()  # confirm() is accepted

    booking = only(Booking)
    assert (booking.status, booking.price_cents) == (BookingStatus.COMPLETED, 200)
    expect(flash(page)).to_contain_text(f"Final price: {money(200, 'GBP')}.")
    expect(page).to_have_url(re.compile(r"/bookings$"))
    expect(section(page, "past")).to_contain_text("completed")
    expect(section(page, "past")).to_contain_text("2.00 GBP")
    page.get_by_role("link", name=booking.confirmation_code).click()
    expect(page.get_by_role("heading", name="Final price")).to_be_visible()
    expect(page.locator(".quote-total:not(.due-now)")).to_contain_text("2.00 GBP")


# --- 2. reserve, check in, release ---------------------------------------------------


def test_driver_quotes_reserves_checks_in_and_releases(new_page, make_user, make_lot):
    make_user(email="rita@example.com", full_name="Rita Reserver")
    zone = "America/New_York"  # not the browser's zone: the lot's zone must win
    lot = make_lot(
        name="Harbour Lot",
        timezone=zone,
        currency="USD",
        hourly_rate_cents=300,
        daily_max_cents=None,
        grace_minutes=0,
        spots={"standard": 1},
    )
    starts = lot_local_now(zone) + timedelta(minutes=5)
    ends = starts + timedelta(hours=2)
    page = new_page()
    log_in(page, "rita@example.com")
    page.goto(f"/lots/{lot.id}")

    page.get_by_label("Reserve for later").check()
    page.get_by_label("Arrive").fill(local_input(starts))
    page.get_by_label("Leave").fill(local_input(ends))
    page.get_by_label("Plate").fill("RES 123")
    page.get_by_role("button", name="Get quote").click()

    quote = page.locator("#quote")
    expect(quote.get_by_role("heading", name="Your quote")).to_be_visible()
    expect(quote.locator(".quote-lines li")).not_to_have_count(0)
    expect(quote.locator(".quote-total")).to_contain_text("6.00 USD")  # 2 hours at 3.00
    assert count(Booking) == 0, "a quote books nothing"
    expect(page.get_by_label("Arrive")).to_have_value(local_input(starts))
    page.get_by_role("button", name="Book", exact=True).click()

    booking = only(Booking)
    page.wait_for_url(f"**/bookings/{booking.id}")
    assert booking.status == BookingStatus.RESERVED
    assert booking.starts_at == starts.replace(tzinfo=ZoneInfo(zone))
    assert booking.ends_at == ends.replace(tzinfo=ZoneInfo(zone))
    expect(page.get_by_label("Confirmation code")).to_have_text(booking.confirmation_code)

    page.get_by_role("link", name="My bookings").first.click()
    upcoming = section(page, "upcoming")
    expect(upcoming).to_contain_text(booking.confirmation_code)
    expect(upcoming).to_contain_text(f"{starts:%H:%M}")  # shown in the lot's zone
    upcoming.get_by_role("button", name="Check in").click()
    expect(flash(page)).to_contain_text("Checked in.")
    assert only(Booking).status == BookingStatus.ACTIVE

    section(page, "active").get_by_role("button", name="Release spot").click()
    booking = only(Booking)
    assert booking.status == BookingStatus.COMPLETED
    expect(flash(page)).to_contain_text(f"Final price: {money(booking.price_cents, 'USD')}.")
    assert booking.price_cents >= 600  # the reserved two hours are billed at least


# --- 3. admin sets up a lot, a driver books it ---------------------------------------


def test_admin_creates_a_lot_with_20_spots_and_a_driver_books_one(new_page, make_user):
    make_user(email="avery@example.com", roles=("admin",), full_name="Avery Admin")
    make_user(email="dana@example.com", full_name="Dana Driver")
    admin = new_page()
    log_in(admin, "avery@example.com")
    admin.get_by_role("link", name="Admin", exact=True).click()
    admin.get_by_label("Admin sections").get_by_role("link", name="Lots").click()
    admin.get_by_role("link", name="New lot").click()

    admin.get_by_label("Name", exact=True).fill("Canal Street Car Park")
    admin.get_by_label("City").fill("Bristol")
    admin.get_by_label("Address").fill("1 Canal Street")
    admin.get_by_label("Latitude").fill("51.45")
    admin.get_by_label("Longitude").fill("-2.59")
    admin.get_by_label("Time zone").fill("Europe/London")
    admin.get_by_label("Currency").fill("gbp")
    admin.get_by_label("Hourly rate").fill("2.50")
    admin.get_by_label("Daily maximum").fill("18")
    admin.get_by_role("button", name="Create lot").click()
    expect(flash(admin)).to_contain_text("Canal Street Car Park created.")
    lot = only(Lot)
    assert (lot.currency, lot.hourly_rate_cents, lot.daily_max_cents) == ("GBP", 250, 1800)

    admin.get_by_label("How many").fill("20")
    admin.get_by_label("Kind").select_option("standard")
    admin.get_by_label("Level").fill("Level 1")
    admin.get_by_label("Zone").fill("A")
    admin.get_by_label("Label prefix").fill("P")
    admin.get_by_role("button", name="Add spots").click()
    expect(flash(admin)).to_contain_text("Added 20 spots, P1 to P20.")
    expect(admin.get_by_role("heading", name="Spots (20)")).to_be_visible()
    expect(admin.locator("tr[id^=spot-]")).to_have_count(20)
    assert count(Spot) == 20

    driver = new_page()
    log_in(driver, "dana@example.com")
    search_lots(driver, "Canal")
    card = lot_card(driver, "Canal Street Car Park")
    expect(card).to_contain_text("20 of 20 free")
    card.get_by_role("link", name="Book a spot").click()
    driver.get_by_label("Plate").fill("DR1 VER")
    driver.get_by_role("button", name="Book", exact=True).click()
    expect(flash(driver)).to_contain_text("Booked spot P1.")
    assert only(Booking).spot.label == "P1"
    search_lots(driver, "Canal")
    expect(lot_card(driver, "Canal Street Car Park")).to_contain_text("19 of 20 free")


# --- 4. bad input --------------------------------------------------------------------


def test_reservation_ending_before_it_starts_shows_the_error_at_the_field(
    new_page, make_user, make_lot
):
    make_user(email="dana@example.com")
    lot = make_lot(name="Riverside Garage")
    starts, ends = tomorrow_at("Europe/London", 10), tomorrow_at("Europe/London", 9)
    page = new_page()
    log_in(page, "dana@example.com")
    page.goto(f"/lots/{lot.id}")

    page.get_by_label("Reserve for later").check()
    page.get_by_label("Arrive").fill(local_input(starts))
    page.get_by_label("Leave").fill(local_input(ends))
    page.get_by_label("Plate").fill("BAD 1")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Book", exact=True).click()

    assert answer.value.status == 422
    leave_field = page.locator(".field.has-error").filter(has=page.get_by_label("Leave"))
    expect(leave_field.locator(".field-error")).to_have_text("The end must be after the start.")
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.get_by_label("Leave")).to_have_value(local_input(ends))  # what was typed stays
    expect(page.get_by_label("Reserve for later")).to_be_checked()
    assert (count(Booking), count(Vehicle)) == (0, 0)


# --- CSRF ------------------------------------------------------------------------------


def test_post_forms_carry_csrf_tokens_and_a_post_without_one_is_refused(
    new_page, make_user, make_lot
):
    user = make_user(email="dana@example.com")
    lot = make_lot(name="Riverside Garage")
    create_booking(user, BookingRequest(lot_id=lot.id, plate="CSRF 1"))
    page = new_page()
    log_in(page, "dana@example.com")

    for path in ("/bookings", f"/lots/{lot.id}", "/vehicles"):
        page.goto(path)
        forms = page.locator("form[method=post]")
        expect(forms).not_to_have_count(0)
        for form in forms.all():
            token = form.locator("input[name=csrf_token]")
            expect(token).to_have_count(1)
            assert len(token.input_value()) > 20, f"empty CSRF token in a form on {path}"

    page.goto("/bookings")
    page.locator("section#active input[name=csrf_token]").evaluate("el => el.remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        section(page, "active").get_by_role("button", name="Release spot").click()
    assert answer.value.status == 400
    assert only(Booking).status == BookingStatus.ACTIVE


# --- 5. screenshots for people ---------------------------------------------------------


def test_screenshots_of_the_lot_page_and_my_bookings(new_page, make_user, make_lot):
    user = make_user(email="dana@example.com", full_name="Dana Driver")
    vehicle_service.add_vehicle(user, "SH07 CAR", make="Volvo", model="V60", colour="Blue")
    lot = make_lot(
        name="Riverside Garage",
        address="4 Mill Lane",
        spots={"standard": 6, "ev": 2, "accessible": 1},
    )
    create_booking(user, BookingRequest(lot_id=lot.id, plate="SH07 CAR"))
    done = create_booking(user, BookingRequest(lot_id=lot.id, plate="PAST 1"))
    release(done, user)
    soon = utcnow() + timedelta(days=1)
    create_booking(
        user,
        BookingRequest(
            lot_id=lot.id, plate="LATER 1", starts_at=soon, ends_at=soon + timedelta(hours=3)
        ),
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = []
    for name, viewport in (
        ("desktop", {"width": 1280, "height": 900}),
        ("mobile", {"width": 390, "height": 844}),
    ):
        page = new_page(viewport=viewport)
        log_in(page, "dana@example.com")
        page.goto(f"/lots/{lot.id}")
        page.get_by_label("Reserve for later").check()
        page.get_by_label("Arrive").fill(local_input(tomorrow_at("Europe/London", 9)))
        page.get_by_label("Leave").fill(local_input(tomorrow_at("Europe/London", 17)))
        page.get_by_role("button", name="Get quote").click()
        expect(page.locator("#quote")).to_be_visible()
        shots.append(SHOTS / f"lot-{name}.png")
        page.screenshot(path=shots[-1], full_page=True)
        page.goto("/bookings")
        shots.append(SHOTS / f"bookings-{name}.png")
        page.screenshot(path=shots[-1], full_page=True)

    assert all(shot.stat().st_size > 0 for shot in shots)

"""In real Chromium: Near me with the browser's position (granted and refused), the price,
amenity and height filters, and the driver's home; at 1280 px and 390 px, with screenshots."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.booking.lifecycle import release
from parkapp.models import utcnow
from tests.browser_fixtures import BROWSER_TZ, SHOTS, local_input, log_in, lot_card
from tests.test_lot_search import next_week_at

VIEWPORTS = {
    "desktop": {"width": 1280, "height": 900},
    "mobile": {"width": 390, "height": 844},
}
HERE = {"latitude": 51.5, "longitude": -0.12}


def in_browser_zone(instant):
    """A datetime-local value for the browser's own zone (the search page reads it there)."""
    return local_input(instant.astimezone(ZoneInfo(BROWSER_TZ)))


def card_names(page):
    return page.locator("article.lot-card h2").all_inner_texts()


def open_details(page, summary):
    details = page.locator("details").filter(has=page.locator("summary", has_text=summary))
    if details.get_attribute("open") is None:
        details.locator("summary").click()


@pytest.fixture
def lots_around(make_lot):
    make_lot(name="Near Garage", latitude=51.501, longitude=-0.12, amenities=("covered",))
    make_lot(
        name="Middle Yard",
        latitude=51.52,
        longitude=-0.12,
        hourly_rate_cents=100,
        amenities=("covered", "ev_charging"),
        height_limit_cm=190,
    )
    make_lot(name="Hilltop Car Park", latitude=51.6, longitude=-0.12, hourly_rate_cents=300)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_near_me_lists_the_nearest_car_parks_first(new_page, lots_around, viewport):
    page = new_page(viewport=VIEWPORTS[viewport], geolocation=HERE, permissions=["geolocation"])
    page.goto("/")
    page.get_by_role("button", name=re.compile("Near me")).click()
    page.wait_for_url(re.compile(r"lat=51\.5"))
    expect(page.get_by_role("heading", name=re.compile("3 car parks"))).to_contain_text(
        "nearest you first"
    )
    assert card_names(page) == ["Near Garage", "Middle Yard", "Hilltop Car Park"]
    expect(lot_card(page, "Near Garage")).to_contain_text("0.1 km away")
    expect(page.locator("#lat")).to_be_hidden()
    expect(page.locator("#lat")).to_have_value(re.compile(r"^51\.50*$"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"search-near-me-{viewport}.png", full_page=True)


def test_a_refused_position_falls_back_to_the_typed_search(new_page, lots_around):
    page = new_page(permissions=[])  # the browser answers "denied" without asking
    page.goto("/")
    page.get_by_label("Where").fill("Hilltop")
    page.get_by_role("button", name=re.compile("Near me")).click()
    page.wait_for_url(re.compile(r"q=Hilltop"))
    assert not re.search(r"lat=[-\d]", page.url)
    assert card_names(page) == ["Hilltop Car Park"]


def test_a_refused_position_without_a_typed_place_asks_for_one(new_page, lots_around):
    page = new_page(permissions=[])
    page.goto("/")
    page.get_by_role("button", name=re.compile("Near me")).click()
    expect(page.locator("[data-locate-status]")).to_contain_text("type a place name instead")
    expect(page.get_by_label("Where")).to_be_focused()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_filters_on_price_amenities_and_height(new_page, lots_around, viewport):
    page = new_page(viewport=VIEWPORTS[viewport])
    page.goto("/")
    open_details(page, "When?")
    page.get_by_label("Arrive").fill(in_browser_zone(next_week_at(10)))
    page.get_by_label("Leave").fill(in_browser_zone(next_week_at(13)))
    open_details(page, "Filters")
    page.get_by_label("Order").select_option("price")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"sort=price"))
    assert card_names(page) == ["Middle Yard", "Near Garage", "Hilltop Car Park"]
    expect(lot_card(page, "Middle Yard")).to_contain_text("3.00 GBP for your stay")
    expect(lot_card(page, "Hilltop Car Park")).to_contain_text("9.00 GBP for your stay")
    expect(lot_card(page, "Middle Yard")).to_contain_text("EV charging")

    open_details(page, "Filters")
    page.get_by_label("Pay at most").fill("6.00")
    page.get_by_label("Covered", exact=True).check()
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"max_price=6"))
    assert card_names(page) == ["Middle Yard", "Near Garage"]

    open_details(page, "Filters")
    page.get_by_label("Vehicle height (cm)").fill("200")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"height=200"))
    assert card_names(page) == ["Near Garage"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"search-filters-{viewport}.png", full_page=True)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_drivers_home(new_page, make_user, make_lot, viewport):
    user = make_user(email="hana@example.com", full_name="Hana Driver")
    lot = make_lot(name="Riverside Garage", spots={"standard": 4})
    create_booking(user, BookingRequest(lot_id=lot.id, plate="NOW 1"))
    done = create_booking(user, BookingRequest(lot_id=lot.id, plate="PAST 1"))
    release(done, user)
    soon = utcnow() + timedelta(days=1)
    create_booking(
        user,
        BookingRequest(
            lot_id=lot.id, plate="LATER 1", starts_at=soon, ends_at=soon + timedelta(hours=3)
        ),
    )
    page = new_page(viewport=VIEWPORTS[viewport])
    log_in(page, "hana@example.com")
    page.goto("/home")
    expect(page.get_by_role("heading", name=re.compile("Parked now"))).to_contain_text("(1)")
    expect(page.locator("section#active")).to_contain_text("NOW1")
    expect(page.locator("section#upcoming")).to_contain_text("LATER1")
    expect(page.locator("#figure-hours")).to_contain_text("parked in 2 stays")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"home-{viewport}.png", full_page=True)

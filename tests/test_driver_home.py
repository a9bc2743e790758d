"""The driver's home: bookings first, then this month's spend, hours parked, savings and a
membership's hours left, checked against bookings made here."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from parkapp.accounts.vehicles import add_vehicle
from parkapp.booking import home as driver_home
from parkapp.extensions import db
from parkapp.memberships import subscriptions as memberships
from parkapp.models import Booking, Membership, utcnow
from tests.conftest import api_book
from tests.test_discounts import discount_factory
from tests.test_memberships import make_plan
from tests.test_payments import post_payment, stay

API = "/api/v1"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def not_at_the_turn_of_a_month():
    local = utcnow().astimezone(LONDON)
    if local.day == 1 and local.hour < 4:
        pytest.skip("the stays below start up to 3 hours ago: last month in the first hours")


def released_and_paid(client, headers, booking, pay=True):
    response = client.post(f"{API}/bookings/{booking.id}/release", headers=headers)
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    if pay and booking.price_cents:
        paid = post_payment(client, headers, booking, booking.price_cents)
        assert paid.status_code == 201, paid.get_json()
    return booking


@pytest.fixture
def month_of_parking(client, driver, driver_headers, make_lot):
    """Paid stays of 150 min (50 % code) and 90 min, a 60 min stay a membership covers,
    one parked 30 min ago, one reservation, and a stay 40 days ago."""
    lot = make_lot(
        name="Riverside", spots={"standard": 6}, hourly_rate_cents=200, daily_max_cents=None
    )
    code = discount_factory()(code="HALF", value=50)
    vehicle = add_vehicle(db.session.merge(driver), "MEMBER1")
    membership = memberships.subscribe(db.session.merge(driver), make_plan().id, [vehicle.id])
    membership = db.session.get(Membership, membership.id)
    membership.starts_at -= timedelta(days=1)  # its period began before the stays below
    db.session.commit()

    response = api_book(
        client,
        driver_headers,
        lot,
        vehicle_plate="HALF1",
        starts_at=None,
        ends_at=None,
        discount_code=code.code,
    )
    assert response.status_code == 201, response.get_json()
    halved = db.session.get(Booking, response.get_json()["id"])
    halved.starts_at = halved.checked_in_at = utcnow() - timedelta(minutes=150)
    db.session.commit()
    halved = released_and_paid(client, driver_headers, halved)
    plain = released_and_paid(
        client, driver_headers, stay(client, driver_headers, lot, 90, "PLAIN1")
    )
    member = released_and_paid(
        client, driver_headers, stay(client, driver_headers, lot, 60, "MEMBER1")
    )
    parked = stay(client, driver_headers, lot, 30, "NOW1")
    reserved = api_book(client, driver_headers, lot, vehicle_plate="LATER1")
    assert reserved.status_code == 201, reserved.get_json()
    old = released_and_paid(client, driver_headers, stay(client, driver_headers, lot, 60, "OLD1"))
    old.starts_at -= timedelta(days=40)
    old.ends_at -= timedelta(days=40)
    db.session.commit()
    return {
        "halved": halved,
        "plain": plain,
        "member": member,
        "parked": parked,
        "reserved": reserved.get_json(),
        "old": old,
    }


def test_the_stays_are_priced_as_the_figures_expect(month_of_parking):
    stays = month_of_parking
    assert (stays["halved"].price_cents, stays["plain"].price_cents) == (300, 400)
    assert stays["member"].price_cents == 0 and stays["member"].membership_id is not None


def test_home_figures_for_this_month(driver, month_of_parking):
    figures = driver_home.home(db.session.merge(driver))
    assert figures.spend_cents == {"GBP": 700}
    # the member's 60 min (and a few ms) are two started hours, both included
    assert figures.saved_cents == {"GBP": 300 + 400}
    assert figures.stays == 4
    minutes = (150 + 90 + 60 + 30) * 60
    assert minutes <= figures.parked.total_seconds() <= minutes + 120
    assert figures.hours_parked == 5.5
    assert [b.plate for b in figures.active] == ["NOW1"]
    assert [b.plate for b in figures.upcoming] == ["LATER1"]
    (left,) = figures.memberships
    assert (left.included_hours, left.hours_left) == (2, 1.0)  # 61 of 120 minutes used


def text_of(html, element_id):
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</div>\s*</div>', html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_home_page_shows_bookings_first_then_the_month(client, auth, driver, month_of_parking):
    auth.login(driver.email)
    response = client.get("/home")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.index('id="active"') < html.index('id="upcoming"') < html.index('id="month"')
    assert text_of(html, "figure-spend") == "7.00 GBP spent"
    assert text_of(html, "figure-saved") == "7.00 GBP saved with codes and memberships"
    assert text_of(html, "figure-hours") == "5.5 h parked in 4 stays"
    assert "1.0 h" in html and "left of 2 h on Commuter" in html
    reserved = month_of_parking["reserved"]
    assert f'data-booking-id="{reserved["id"]}"' in html
    assert reserved["confirmation_code"] in html
    assert month_of_parking["old"].confirmation_code not in html


def test_times_are_shown_in_the_lots_time_zone(client, auth, driver, driver_headers, make_lot):
    lot = make_lot(name="Harbour", timezone="Asia/Tokyo")
    starts = (utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    booked = api_book(
        client,
        driver_headers,
        lot,
        vehicle_plate="TOKYO1",
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=2)).isoformat(),
    )
    assert booked.status_code == 201, booked.get_json()
    auth.login(driver.email)
    html = client.get("/home").get_data(as_text=True)
    local = starts.astimezone(ZoneInfo("Asia/Tokyo"))
    assert local.strftime("%a %d %b, %H:%M") in html
    assert "(Asia/Tokyo)" in html


def test_home_needs_a_login(client):
    response = client.get("/home")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_new_driver_sees_empty_figures(client, auth, driver):
    auth.login(driver.email)
    html = client.get("/home").get_data(as_text=True)
    assert "Nothing parked right now." in html and "No reservations coming up." in html
    assert text_of(html, "figure-hours") == "0.0 h parked in 0 stays"
    assert text_of(html, "figure-spend") == "0.00 spent"
    assert 'id="memberships"' not in html

"""A driver's booking page on a phone, in real Chromium: change a reservation's times,
extend a stay with one click, start and stop charging on an EV spot, the pass (QR code)."""

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.extensions import db
from parkapp.models import Booking, ChargingSession, ChargingStatus, Spot, utcnow
from tests.browser_fixtures import SHOTS, flash, local_input, log_in, tomorrow_at
from tests.test_api_ev import station_body

PHONE = {"width": 390, "height": 844}


def fresh(booking_id):
    """The booking as the server left it (a rollback alone keeps what the test loaded)."""
    db.session.rollback()
    return db.session.get(Booking, booking_id, populate_existing=True)


def fits_the_screen(page):
    """Nothing wider than the phone: no sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_driver_moves_a_reservation_and_extends_a_stay_on_a_phone(new_page, make_user, make_lot):
    user = make_user(email="rae@example.com")
    lot = make_lot(name="Station Car Park", spots={"standard": 3})
    nine_local = tomorrow_at("Europe/London", 9)
    nine = nine_local.replace(tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)
    later = create_booking(
        user,
        BookingRequest(
            lot_id=lot.id, plate="RAE 1", starts_at=nine, ends_at=nine + timedelta(hours=2)
        ),
    )
    stay = create_booking(
        user,
        BookingRequest(
            lot_id=lot.id,
            plate="RAE 2",
            starts_at=None,  # park now, ending within the quarter hour that offers more
            ends_at=utcnow() + timedelta(minutes=12),
        ),
    )
    page = new_page(viewport=PHONE)
    log_in(page, user.email)

    page.goto(f"/bookings/{later.id}")
    expect(page.get_by_alt_text(f"QR code of {later.confirmation_code}")).to_be_visible()
    page.get_by_label("Until").fill(local_input(nine_local + timedelta(hours=3)))
    page.get_by_role("button", name="Change times").click()
    expect(flash(page)).to_contain_text("Booking changed.")
    expect(flash(page)).to_contain_text("more to pay")
    assert fresh(later.id).ends_at - fresh(later.id).starts_at == timedelta(hours=3)
    assert fits_the_screen(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "booking-change-mobile.png", full_page=True)

    # An end before the start: the error stands next to the field; nothing changes.
    page.get_by_label("Until").fill(local_input(nine_local - timedelta(hours=1)))
    page.get_by_role("button", name="Change times").click()
    expect(page.locator(".field-error").first).to_be_visible()
    assert fresh(later.id).ends_at - fresh(later.id).starts_at == timedelta(hours=3)

    ends = fresh(stay.id).ends_at
    page.goto(f"/bookings/{stay.id}")
    extend = page.get_by_role("region", name="Your time is almost up")
    extend.get_by_role("button").first.click()
    expect(flash(page)).to_contain_text("Booking changed.")
    assert fresh(stay.id).ends_at > ends
    assert fits_the_screen(page)


def test_driver_starts_and_stops_charging_from_the_booking_page(
    new_page, make_user, make_lot, client, admin_headers
):
    user = make_user(email="eve@example.com")
    lot = make_lot(name="Volt Car Park", spots={"ev": 1, "standard": 1})
    ev_spot = db.session.query(Spot).filter_by(lot_id=lot.id, kind="ev").one()
    station = client.post("/api/v1/ev-stations", json=station_body(ev_spot), headers=admin_headers)
    assert station.status_code == 201, station.get_json()
    stay = create_booking(user, BookingRequest(lot_id=lot.id, plate="EVE 1", spot_id=ev_spot.id))

    page = new_page(viewport=PHONE)
    log_in(page, user.email)
    page.goto(f"/bookings/{stay.id}")
    charging = page.get_by_role("region", name="Charging")
    expect(charging).to_contain_text("per kWh")
    charging.get_by_role("button", name="Start charging").click()
    expect(flash(page)).to_contain_text("Charging started.")
    db.session.rollback()
    (charge,) = db.session.scalars(
        select(ChargingSession)
        .filter_by(booking_id=stay.id)
        .execution_options(populate_existing=True)
    ).all()
    assert charge.status == ChargingStatus.CHARGING

    page.get_by_role("region", name="Charging").get_by_role("button", name="Stop charging").click()
    expect(flash(page)).to_contain_text("Charging stopped at")
    db.session.rollback()
    stopped = db.session.get(ChargingSession, charge.id, populate_existing=True)
    assert stopped.status == ChargingStatus.FINISHED
    assert fits_the_screen(page)

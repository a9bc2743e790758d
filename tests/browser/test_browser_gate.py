"""The gate end to end in real Chromium: an operator at the booth, with the keyboard only.

An operator checks a car in by plate and sees its space; two hours later (the test moves
the stay's start back in the database) the car leaves by ticket, the right fee is shown,
cash is taken and the barrier opens. A reservation a driver made on the lot page is picked
up at the gate by its plate. The server runs with CSRF on, as in production.
"""

from datetime import timedelta

from playwright.sync_api import expect

from parkapp.extensions import db
from parkapp.models import Booking, BookingSource, BookingStatus, Payment
from tests.browser_fixtures import (
    local_input,
    log_in,
    lot_local_now,
    only,
)

# Started 1 h 59 min ago: two started hours at 2.00 GBP.
TWO_HOURS_AGO = timedelta(hours=2) - timedelta(minutes=1)


def press_accesskey(page, key):
    """Alt+key as a keyboard sends it: Playwright's Alt+key omits the char event that
    Chromium reads access keys from, so the events go through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    event = {"modifiers": 1, "key": key, "code": f"Key{key.upper()}"}
    vk = {"windowsVirtualKeyCode": ord(key.upper())}
    cdp.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", **event, **vk})
    cdp.send(
        "Input.dispatchKeyEvent", {"type": "char", **event, "text": key, "unmodifiedText": key}
    )
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", **event, **vk})
    cdp.detach()


def open_booth(page, email, lot_name):
    """Log in, follow the Gate link and choose the car park."""
    log_in(page, email)
    page.get_by_role("link", name="Gate", exact=True).click()
    page.get_by_label("Car park").select_option(label=f"{lot_name} · Testville")
    page.get_by_label("Gate").fill("North")
    page.get_by_role("button", name="Open the gate screen").click()
    expect(page.get_by_role("heading", name="Entry")).to_be_visible()


def test_operator_checks_a_car_in_and_out_with_cash(new_page, make_user, make_lot):
    make_user(email="oli@example.com", roles=("operator",), full_name="Oli Operator")
    make_lot(name="Harbour Car Park", spots={"standard": 2, "ev": 1})
    page = new_page()
    open_booth(page, "oli@example.com", "Harbour Car Park")

    # The plate field has the focus: type and press Enter.
    expect(page.get_by_label("Plate", exact=True)).to_be_focused()
    page.keyboard.type("ab12 cde")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Vehicle in")).to_be_visible()
    stay = only(Booking)
    assert (stay.plate, stay.source, stay.entry_gate) == ("AB12CDE", BookingSource.GATE, "North")
    expect(page.get_by_label("Ticket number")).to_have_text(stay.ticket_number)
    expect(page.get_by_label("Spot", exact=True)).to_have_text(stay.spot.label)
    expect(page.get_by_label("Where")).to_contain_text("Level L1 · Zone A")

    # Two hours later.
    stay.starts_at -= TWO_HOURS_AGO
    stay.checked_in_at -= TWO_HOURS_AGO
    db.session.commit()

    expect(page.get_by_role("button", name="Next vehicle")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Plate", exact=True)).to_be_focused()
    press_accesskey(page, "x")
    expect(page.get_by_label("Ticket or plate")).to_be_focused()
    page.keyboard.type(stay.ticket_number)
    page.keyboard.press("Enter")

    expect(page.get_by_label("Duration")).to_have_text("1 h 59 min")
    expect(page.get_by_label("Fee")).to_contain_text("2 h")
    expect(page.get_by_label("Amount due")).to_have_text("4.00 GBP")
    expect(page.get_by_role("button", name="Cash")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Exit allowed — open the barrier")).to_be_visible()
    expect(page.get_by_label("Final price")).to_have_text("4.00 GBP")
    payment = only(Payment)
    assert (payment.method.value, payment.amount_cents, payment.currency) == ("cash", 400, "GBP")
    stay = only(Booking)
    assert stay.status == BookingStatus.COMPLETED and stay.price_cents == 400
    assert stay.exit_gate == "North"

    # An unknown ticket: the message sits next to the field.
    page.keyboard.press("Enter")  # Next vehicle
    expect(page.get_by_label("Ticket or plate")).to_be_focused()
    page.keyboard.type(stay.ticket_number)
    page.keyboard.press("Enter")
    field = page.locator(".field.has-error").filter(has=page.get_by_label("Ticket or plate"))
    expect(field).to_contain_text(
        f"No vehicle inside Harbour Car Park with ticket {stay.ticket_number}."
    )


def test_a_reservation_made_online_is_picked_up_at_the_gate(new_page, make_user, make_lot):
    make_user(email="rita@example.com", full_name="Rita Reserver")
    make_user(email="oli@example.com", roles=("operator",), full_name="Oli Operator")
    lot = make_lot(name="Market Car Park", spots={"standard": 3})
    starts = lot_local_now(lot.timezone) + timedelta(minutes=5)

    driver = new_page()
    log_in(driver, "rita@example.com")
    driver.goto(f"/lots/{lot.id}")
    driver.get_by_label("Reserve for later").check()
    driver.get_by_label("Arrive").fill(local_input(starts))
    driver.get_by_label("Leave").fill(local_input(starts + timedelta(hours=2)))
    driver.get_by_label("Plate", exact=True).fill("RES 123")
    driver.get_by_role("button", name="Book", exact=True).click()
    reservation = only(Booking)
    driver.wait_for_url(f"**/bookings/{reservation.id}")
    assert reservation.status == BookingStatus.RESERVED

    operator = new_page()
    open_booth(operator, "oli@example.com", "Market Car Park")
    operator.get_by_label("Plate", exact=True).fill("res-123")
    operator.keyboard.press("Enter")
    expect(operator.get_by_role("heading", name="Reservation checked in")).to_be_visible()
    stay = only(Booking)
    assert stay.id == reservation.id and stay.status == BookingStatus.ACTIVE
    assert stay.spot_id == reservation.spot_id and stay.ticket_number
    expect(operator.get_by_label("Ticket number")).to_have_text(stay.ticket_number)
    expect(operator.get_by_label("Spot", exact=True)).to_have_text(stay.spot.label)

"""The merchant counter on a phone (390 px wide) in real Chromium: a shop's clerk types a
customer's gate ticket, reads the result in words and sees it in the day's list."""

from datetime import timedelta

from playwright.sync_api import expect

from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.models import Validation
from tests.browser_fixtures import flash, log_in, only
from tests.merchant_fixtures import make_merchant

THREE_HOURS_AGO = timedelta(hours=3) - timedelta(minutes=1)  # three started hours: 6.00 GBP


def test_a_clerk_validates_a_ticket_on_a_phone(new_page, make_user, make_lot, operator):
    lot = make_lot(name="Riverside Car Park")
    clerk = make_user(email="casey@odeon.example", full_name="Casey Clerk")
    make_merchant([lot], [clerk], name="Odeon")
    stay, _ = gate.enter(lot.id, "PH0NE1", operator=operator)
    stay.starts_at -= THREE_HOURS_AGO
    stay.checked_in_at -= THREE_HOURS_AGO
    db.session.commit()

    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, "casey@odeon.example")
    page.get_by_text("Menu").click()  # the navigation is folded on a phone
    page.get_by_role("link", name="Validate parking").click()
    expect(page.get_by_role("heading", name="Validate parking · Odeon")).to_be_visible()
    box = page.get_by_label("Ticket or confirmation code")
    expect(box).to_be_focused()
    assert box.bounding_box()["width"] > 300  # the box takes the phone's width
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    expect(page.get_by_text("No validations yet today.")).to_be_visible()

    box.fill(stay.ticket_number.lower().replace("-", " "))
    page.get_by_role("button", name="Validate").click()
    expect(flash(page)).to_contain_text(
        f"Validated by Odeon: 4.00 GBP off {stay.ticket_number} so far"
    )
    today = page.locator("#today")
    expect(today).to_contain_text(stay.ticket_number)
    expect(today).to_contain_text("4.00 GBP so far")
    assert only(Validation).booking_id == stay.id

    page.get_by_label("Ticket or confirmation code").fill(stay.ticket_number)
    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_text("This stay was already validated by Odeon.")).to_be_visible()

"""Pushed updates in real Chromium: the lot page and a waitlist offer, without reload or polling."""

import requests
from playwright.sync_api import expect

from parkapp.extensions import db
from parkapp.models import Booking
from parkapp.waitlist import queue as waitlist
from tests.browser.test_browser_live import book_through_the_api
from tests.browser_fixtures import log_in
from tests.conftest import PASSWORD

PUSHED_MS = 4_000  # within a second of the change, with room for a loaded machine


def test_the_lot_page_follows_its_stream_instead_of_polling(
    new_page, live_server, make_lot, make_user
):
    lot = make_lot(name="Stream Park", spots={"standard": 3})
    driver = make_user(email="stream@example.com")
    page = new_page()
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "/lots/availability" in r.url else None)
    page.goto(f"/lots/{lot.id}")
    standard = page.locator(f'[data-lot-id="{lot.id}"][data-kind="standard"] [data-free]')
    expect(standard).to_have_text("3")
    page.evaluate("window.notReloaded = true")

    book_through_the_api(live_server.url, driver.email, lot.id)

    expect(standard).to_have_text("2", timeout=PUSHED_MS)
    assert page.evaluate("window.notReloaded") is True
    assert polls == []  # the stream pushed it; nothing polled


def test_a_waitlist_offer_appears_on_the_drivers_pages_without_reload(
    new_page, live_server, make_lot, make_user
):
    lot = make_lot(name="Full Park", spots={"standard": 1})
    parker = make_user(email="parker@example.com")
    waiter = make_user(email="waiter@example.com")
    book_through_the_api(live_server.url, parker.email, lot.id)
    waitlist.join(waiter, lot.id, "WAIT1")
    page = new_page()
    log_in(page, waiter.email, PASSWORD)
    page.goto("/waitlist")
    expect(page.get_by_text("waiting", exact=True)).to_be_visible()
    page.evaluate("window.notReloaded = true")

    stay = db.session.query(Booking).filter_by(lot_id=lot.id, user_id=parker.id).one()
    with requests.Session() as http:
        token = http.post(
            f"{live_server.url}/api/v1/auth/token",
            json={"email": parker.email, "password": PASSWORD},
        ).json()["access_token"]
        released = http.post(
            f"{live_server.url}/api/v1/bookings/{stay.id}/release",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert released.status_code == 200, released.text

    expect(page.get_by_text("held for you")).to_be_visible(timeout=PUSHED_MS + 2_000)
    assert page.evaluate("window.notReloaded") is True

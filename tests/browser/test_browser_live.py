"""Free counts refresh by themselves in real Chromium when someone books elsewhere.

Two people look at the lot list and one at the lot page; a booking is made through the API
of the live gunicorn; without any reload, every page's free count drops within seconds.
"""

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.browser_fixtures import lot_card, open_page
from tests.conftest import PASSWORD
from tests.live_server import LiveServer

# The poll runs every 3 s; without Redis another gunicorn worker's counts may be cached 5 s more.
LIVE_TIMEOUT_MS = 12_000


def book_through_the_api(base_url, email, lot_id):
    with requests.Session() as http:
        token = http.post(
            f"{base_url}/api/v1/auth/token", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        response = http.post(
            f"{base_url}/api/v1/bookings",
            json={"lot_id": lot_id, "vehicle_plate": "LIVE 1"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.text


def test_free_counts_update_without_reload_after_a_booking(
    new_page, live_server, make_lot, make_user
):
    lot = make_lot(name="Live Park", spots={"standard": 3})
    driver = make_user(email="live@example.com")
    watchers = [new_page(), new_page()]
    for page in watchers:
        page.goto("/?q=Live")
        expect(lot_card(page, "Live Park").locator(".avail")).to_have_text("3 of 3 free")
        page.evaluate("window.notReloaded = true")
    lot_page = new_page()
    lot_page.goto(f"/lots/{lot.id}")
    standard = lot_page.locator(f'[data-lot-id="{lot.id}"][data-kind="standard"] [data-free]')
    expect(standard).to_have_text("3")

    book_through_the_api(live_server.url, driver.email, lot.id)

    for page in watchers:
        card = lot_card(page, "Live Park").locator(".avail")
        expect(card).to_have_text("2 of 3 free", timeout=LIVE_TIMEOUT_MS)
        assert page.evaluate("window.notReloaded") is True
    expect(standard).to_have_text("2", timeout=LIVE_TIMEOUT_MS)
    assert lot_page.evaluate("!!document.querySelector('[data-live]')")


@pytest.fixture(scope="module")
def map_server(app):
    """gunicorn with a tile server configured (a closed port: markers work without tiles)."""
    with LiveServer(
        app.config["SQLALCHEMY_DATABASE_URI"],
        workers=1,
        threads=2,
        env={"MAP_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png", "MAP_TILE_ATTRIBUTION": "Test"},
    ) as server:
        yield server


def test_the_map_shows_nearby_lots_with_their_free_counts(browser, map_server, make_lot):
    make_lot(name="Near Park", latitude=51.51, longitude=-0.12, spots={"standard": 2})
    make_lot(name="Far Park", latitude=51.60, longitude=-0.12, spots={"standard": 1})
    page = open_page(browser, map_server.url)
    try:
        page.goto("/?lat=51.5&lon=-0.12")
        expect(page.locator("#lot-map")).to_be_visible()
        markers = page.locator("#lot-map .leaflet-marker-icon")
        expect(markers).to_have_count(2)
        page.locator('#lot-map .leaflet-marker-icon[title="Near Park"]').click()
        popup = page.locator("#lot-map .leaflet-popup-content")
        expect(popup).to_contain_text("Near Park")
        expect(popup).to_contain_text("2 free")
        expect(popup.get_by_role("link", name="Near Park")).to_have_attribute(
            "href", re.compile(r"/lots/\d+$")
        )
    finally:
        page.context.close()

"""The Content-Security-Policy in real Chromium: no page breaks it, Swagger UI included.

The search page shows its Leaflet map with tiles from another origin (a local tile server
named by MAP_TILE_URL), the analytics charts draw, the exports page polls, and Swagger UI
lists the API; Chromium reports no CSP violation and no script error on any of them.
"""

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.browser_fixtures import log_in
from tests.live_server import LiveServer

# A 1x1 transparent PNG: every tile the map asks for.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


class Tiles(BaseHTTPRequestHandler):
    served = []

    def do_GET(self):
        Tiles.served.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def tile_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def live_server(app, tile_server):
    """gunicorn with CSRF on and a map tile server on another origin."""
    env = {"WTF_CSRF_ENABLED": "true", "MAP_TILE_URL": tile_server + "/{z}/{x}/{y}.png"}
    with LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], workers=1, threads=4, env=env) as server:
        yield server


def watch(page):
    """Every CSP violation or script error the page reports."""
    problems = []
    page.on(
        "console",
        lambda msg: (
            problems.append(f"{msg.text} ({(msg.location or {}).get('url')})")
            if "Content Security Policy" in msg.text
            or (msg.type == "error" and "favicon" not in (msg.location or {}).get("url", ""))
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_pages_and_swagger_ui_work_under_the_policy(new_page, make_user, make_lot, tile_server):
    make_user(email="avery@example.com", roles=("admin",), full_name="Avery Admin")
    make_lot(name="Harbour", latitude=51.5, longitude=-0.12)
    page = new_page()
    problems = watch(page)

    page.goto("/?q=Harbour")
    expect(page.locator("#lot-map .leaflet-marker-icon")).to_have_count(1)
    expect(page.locator("#lot-map img.leaflet-tile-loaded").first).to_be_visible()
    assert Tiles.served, "no tile was fetched from the tile server"

    page.goto("/api/docs")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    page.locator(".opblock-tag").first.click()
    expect(page.locator(".opblock").first).to_be_visible()

    log_in(page, "avery@example.com")
    page.goto("/admin/analytics")
    page.wait_for_function("() => typeof Chart !== 'undefined'")  # no eval under the CSP
    page.goto("/exports")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert problems == []

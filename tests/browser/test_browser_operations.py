"""Operators, admins, drivers' privacy and the city's feed, in real Chromium.

The booth's "Inside now" list and moving a car; renaming a level where the public lot page
shows it; a driver downloading their data and erasing their account; the open occupancy
feed read by a map page on another origin (CORS); "closing in" on the lot page.
"""

import io
import json
import threading
import zipfile
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from playwright.sync_api import expect

from parkapp.extensions import db
from parkapp.models import Booking, Level, User, Vehicle
from tests.browser.test_browser_gate import open_booth
from tests.browser_fixtures import PASSWORD, flash, log_in, lot_local_now, only


def check_in(page, plate):
    """At the booth: type the plate, press Enter, wait for the ticket, ready for the next."""
    page.get_by_label("Plate", exact=True).fill(plate)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Vehicle in")).to_be_visible()
    page.get_by_role("button", name="Next vehicle").click()
    expect(page.get_by_label("Plate", exact=True)).to_be_focused()


def test_operator_finds_a_car_inside_and_moves_it(new_page, make_user, make_lot):
    make_user(email="oli@example.com", roles=("operator",), full_name="Oli Operator")
    make_lot(name="Quay Car Park", spots={"standard": 3})
    page = new_page()
    open_booth(page, "oli@example.com", "Quay Car Park")
    check_in(page, "AB12 CDE")
    check_in(page, "XY34 ZZZ")
    db.session.rollback()
    first = db.session.query(Booking).filter_by(plate="AB12CDE").one()
    other = db.session.query(Booking).filter_by(plate="XY34ZZZ").one()
    taken, free = other.spot.label, ({"ST1", "ST2", "ST3"} - {first.spot.label, other.spot.label})

    page.get_by_role("link", name="Inside now").click()
    expect(page.get_by_text("2 stays.")).to_be_visible()
    page.get_by_label("Plate").fill("ab12")
    page.get_by_role("button", name="Search").click()
    row = page.locator(f"#stay-{first.id}")
    expect(row).to_contain_text("AB12CDE")
    expect(page.locator(f"#stay-{other.id}")).to_have_count(0)

    # A taken spot: refused, the error next to the field, the car stays where it was.
    row.get_by_label("Move to spot").fill(taken)
    row.get_by_role("button", name="Move").click()
    row = page.locator(f"#stay-{first.id}")
    expect(row.locator(".field-error, .error")).to_be_visible()
    db.session.rollback()  # a fresh snapshot: the server wrote meanwhile
    assert db.session.get(Booking, first.id).spot.label != taken

    (target,) = free
    row.get_by_label("Move to spot").fill(target)
    row.get_by_role("button", name="Move").click()
    expect(flash(page)).to_contain_text(f"AB12CDE moved to spot {target}.")
    db.session.rollback()  # a fresh snapshot: the server wrote meanwhile
    assert db.session.get(Booking, first.id).spot.label == target


def test_admin_renames_a_level_and_drivers_see_the_new_name(new_page, admin, make_lot):
    lot = make_lot(name="Tower Car Park", spots={"standard": 2})
    level = only(Level)
    visitor = new_page(viewport={"width": 390, "height": 844})
    visitor.goto(f"/lots/{lot.id}")
    levels = visitor.get_by_role("region", name="Free now by level and zone")
    expect(levels).to_contain_text(level.name)

    page = new_page()
    log_in(page, admin.email)
    page.goto(f"/admin/lots/{lot.id}")
    page.get_by_label(f"New name for level {level.name}").fill("Ground floor")
    page.get_by_label(f"New name for level {level.name}").press("Enter")
    expect(flash(page)).to_contain_text(f"Level {level.name} is now Ground floor.")

    visitor.reload()
    expect(levels).to_contain_text("Ground floor")
    expect(levels).not_to_contain_text(level.name)


def test_a_driver_downloads_their_data_then_erases_the_account(new_page, make_user):
    user = make_user(email="pat@example.com", full_name="Pat Private")
    db.session.add(Vehicle(user_id=user.id, plate="PR1VAT", make="Fiat"))
    db.session.commit()
    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, user.email)
    page.goto("/account")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == "pat@example.com"
    assert [v["plate"] for v in data["vehicles"]] == ["PR1VAT"]

    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Erase my account").click()
    expect(page.get_by_text("Your password is not right.")).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Erase my account").click()
    expect(flash(page)).to_contain_text("Your account is erased.")

    db.session.rollback()  # a fresh snapshot: the server wrote meanwhile
    erased = db.session.get(User, user.id)
    assert erased.email != "pat@example.com" and not erased.active
    (vehicle,) = db.session.query(Vehicle).filter_by(user_id=user.id).all()
    assert vehicle.plate != "PR1VAT" and vehicle.make == ""  # kept for the receipts, nameless
    page.goto("/login")
    page.get_by_label("Email").fill("pat@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()  # still at the form
    expect(page.get_by_role("link", name="My bookings")).to_have_count(0)


class MapPage(BaseHTTPRequestHandler):
    """A map app's page: an empty document its script runs in."""

    def do_GET(self):
        body = b"<!doctype html><title>map</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@contextmanager
def another_origin():
    """A web server on another loopback port: an origin other than parkapp's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), MapPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_map_on_another_origin_reads_the_open_feed(new_page, live_server, make_lot):
    lot = make_lot(name="Open Car Park", spots={"standard": 2, "ev": 1})
    page = new_page()
    with another_origin() as map_url:
        page.goto(map_url)
        feed = page.evaluate(
            """async (url) => {
                const answer = await fetch(url);
                return {status: answer.status, body: await answer.json()};
            }""",
            f"{live_server.url}/api/v1/open/occupancy",
        )
    assert feed["status"] == 200
    (entry,) = [each for each in feed["body"]["items"] if each["id"] == lot.id]
    assert (entry["total_spots"], entry["free_spots"], entry["status"]) == (3, 3, "open")


def test_the_lot_page_says_it_closes_soon(new_page, make_lot):
    local = lot_local_now("Europe/London")
    closes = (local + timedelta(minutes=25)).time().replace(second=0, microsecond=0)
    opens = (local - timedelta(hours=3)).time().replace(second=0, microsecond=0)
    lot = make_lot(name="Early Car Park", spots={"standard": 1}, opens_at=opens, closes_at=closes)
    page = new_page(viewport={"width": 390, "height": 844})
    page.goto(f"/lots/{lot.id}")
    expect(page.get_by_text("Closing in", exact=False).first).to_be_visible()

"""What a new user hit on the pages: one rule for "free now", field labels in errors, the
ticket, check-in timing, spot kinds offered, over-long input."""

import re

from sqlalchemy import func, select

from parkapp.extensions import db
from parkapp.lots import spots as spot_service
from parkapp.models import Vehicle
from tests.test_pages_user import field_errors, reserve, text


def badges(response, label):
    """How many spot badges of the lot page's grid read `label`."""
    grid = response.get_data(as_text=True).split("<h2>Spots</h2>", 1)[1]
    grid = grid.split("</p>", 1)[1]  # past the legend
    return len(re.findall(rf'<span class="badge [a-z]+">{label}</span>', grid))


def test_free_now_count_and_spot_grid_agree_on_a_reservation_days_away(client, make_lot, driver):
    lot = make_lot(spots={"standard": 3})
    reserve(driver, lot, "AB12CDE", 48, 50)

    response = client.get(f"/lots/{lot.id}")

    assert "2 / 3 Standard" in text(response)
    assert badges(response, "free") == 2
    assert badges(response, "reserved") == 1


def test_admin_lot_page_marks_a_spot_reserved_later_as_not_free(client, auth, admin, make_lot):
    lot = make_lot(spots={"standard": 2})
    booking = reserve(admin, lot, "AB12CDE", 48, 50)
    auth.login("admin@example.com")

    page = client.get(f"/admin/lots/{lot.id}").get_data(as_text=True)

    row = page.split(f'id="spot-{booking.spot_id}"', 1)[1].split("</tr>", 1)[0]
    assert "reserved later" in row


def test_gate_plate_error_is_in_words_next_to_the_field(client, auth, operator, lot):
    auth.login(operator.email)
    client.post("/gate/lot", data={"lot": lot.id})

    page = client.post("/gate/entry", data={"entry-plate": "A"}).get_data(as_text=True)

    assert "A plate is 2 to 10 letters or digits" in page
    assert "license_plate" not in page


def test_waitlist_plate_error_names_the_field_in_words(client, auth, driver, lot):
    auth.login()

    response = client.post(
        f"/lots/{lot.id}/waitlist", data={"waitlist-plate": "!", "waitlist-spot_kind": ""}
    )
    page = client.get(response.location).get_data(as_text=True)

    assert "Vehicle plate: A plate is 2 to 10 letters or digits" in page
    assert "vehicle_plate" not in page


def test_ticket_says_level_once(client, auth, operator, make_lot):
    lot = make_lot(spots={})
    spot_service.create_spots(lot, 1, "standard", "Level 0", "B", label_prefix="S")
    auth.login(operator.email)
    client.post("/gate/lot", data={"lot": lot.id})

    ticket = client.post("/gate/entry", data={"entry-plate": "AB12CDE"}, follow_redirects=True)

    where = text(ticket)
    assert "Level 0 · Zone B" in where and "Level Level" not in where


def test_check_in_is_offered_only_from_shortly_before_the_start(client, auth, driver, lot):
    reserve(driver, lot, "FAR1", 48, 50)
    reserve(driver, lot, "SOON1", 0.1, 2)
    auth.login()

    page = client.get("/bookings").get_data(as_text=True)

    assert page.count(">Check in</button>") == 1
    assert page.count("Check-in opens") == 1


def test_booking_form_offers_only_the_lots_spot_kinds(client, auth, driver, make_lot):
    lot = make_lot(spots={"standard": 1})
    reserve(driver, lot, "FULL1", 0.1, 3)  # the lot is full now
    auth.login()

    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    kinds = page.split('name="spot_kind"', 1)[1].split("</select>", 1)[0]

    assert 'value="standard"' in kinds
    assert 'value="ev"' not in kinds and 'value="accessible"' not in kinds


def test_an_over_long_vehicle_model_gets_a_length_error_not_a_silent_cut(client, auth, driver):
    auth.login()
    assert "maxlength" not in client.get("/vehicles").get_data(as_text=True)

    response = client.post(
        "/vehicles", data={"plate": "LONG1", "vehicle_type": "car", "model": "M" * 300}
    )

    assert response.status_code == 422
    assert field_errors(response, "model") == ["Field cannot be longer than 60 characters."]
    assert db.session.scalar(select(func.count(Vehicle.id))) == 0


def test_every_page_links_a_favicon_that_is_served(client):
    page = client.get("/").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)

    response = client.get(icon)
    served = response.data
    response.close()  # static files are streamed: close the file behind them

    assert response.status_code == 200 and b"<svg" in served


def test_the_nav_is_a_disclosure_that_works_without_javascript(client, auth, driver):
    auth.login()
    page = client.get("/").get_data(as_text=True)

    nav = page.split('<nav class="container nav"', 1)[1].split("</nav>", 1)[0]
    assert '<details class="nav-menu">' in nav and "Menu</summary>" in nav
    assert 'href="/bookings"' in nav.split("</summary>", 1)[1]


def test_admin_nav_links_to_exports_and_the_mail_outbox(client, auth, admin):
    auth.login("admin@example.com")

    page = client.get("/admin/").get_data(as_text=True)

    nav = page.split('aria-label="Admin sections"', 1)[1].split("</nav>", 1)[0]
    assert ">Exports</a>" in nav and ">Mail outbox</a>" in nav

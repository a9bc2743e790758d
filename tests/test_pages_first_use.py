"""What a new user hit on the pages: one rule for "free now", field labels in errors, the
ticket, check-in timing, spot kinds offered, over-long input."""

import re

from tests.test_pages_user import reserve, text


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

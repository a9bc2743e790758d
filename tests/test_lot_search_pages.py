"""Pages: the search page's price, amenity and height filters; the admin lot form's fields."""

import re
from datetime import time

from sqlalchemy import select

from parkapp.extensions import db
from parkapp.models import Amenity, Lot
from tests.test_lot_search import next_week_at
from tests.test_pages_admin import LOT_FIELDS, as_admin, field_errors  # noqa: F401 (fixture)


def local(hour):
    return next_week_at(hour).strftime("%Y-%m-%dT%H:%M")


def search(client, **params):
    response = client.get("/", query_string={"tz": "Europe/London", **params})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def cards(html):
    """(name, price line) of each result card, in order."""
    found = []
    for card in html.split('<article class="card lot-card">')[1:]:
        name = re.search(r"<h2><a [^>]*>([^<]+)</a>", card).group(1)
        price = re.search(r"data-price>(.*?)</p>", card, flags=re.S)
        text = " ".join(re.sub(r"<[^>]+>", " ", price.group(1)).split()) if price else None
        found.append((name, text))
    return found


def test_results_show_the_price_for_the_stay_cheapest_first(client, make_lot):
    make_lot(name="Mid", hourly_rate_cents=200, daily_max_cents=None)
    make_lot(name="Capped", hourly_rate_cents=150, daily_max_cents=400)
    make_lot(name="Early", hourly_rate_cents=100, opens_at=time(7), closes_at=time(12))
    html = search(client, starts=local(10), ends=local(13), sort="price")
    assert cards(html) == [
        ("Capped", "4.00 GBP for your stay"),
        ("Mid", "6.00 GBP for your stay"),
        ("Early", "Closed for those times"),
    ]
    assert "cheapest first" in html
    html = search(client, starts=local(10), ends=local(13), max_price="5.00")
    assert cards(html) == [("Capped", "4.00 GBP for your stay")]


def test_without_times_there_is_no_price_and_a_price_filter_asks_for_them(client, make_lot):
    make_lot(name="Mid")
    assert cards(search(client)) == [("Mid", None)]
    html = search(client, max_price="5")
    assert "Give your arrival and leave times to compare prices." in html
    assert '<article class="card lot-card">' not in html
    html = search(client, sort="price")
    assert "Give your arrival and leave times to sort by price." in html


def test_amenity_and_height_filters(client, make_lot):
    make_lot(name="Roofed", amenities=("covered", "toilets"), height_limit_cm=190)
    make_lot(name="Open Air", amenities=("bike",))
    html = search(client, amenities=["covered", "toilets"])
    assert [name for name, _ in cards(html)] == ["Roofed"]
    assert re.search(r'aria-label="Amenities">\s*<li>Covered</li><li>Toilets</li>', html)
    assert "190 cm" in html
    assert [name for name, _ in cards(search(client, height="200"))] == ["Open Air"]
    assert [name for name, _ in cards(search(client, height="190"))] == ["Open Air", "Roofed"]
    html = search(client, height="600")
    assert "Number must be between 100 and 500." in html
    html = search(client, amenities="pool")
    assert "is not a valid choice" in html


def test_the_near_me_position_is_hidden_and_sorts_by_distance(client, make_lot):
    make_lot(name="Far", latitude=51.6, longitude=-0.12)
    make_lot(name="Near", latitude=51.501, longitude=-0.12)
    html = search(client, lat="51.5", lon="-0.12")
    assert re.search(r'<input[^>]*id="lat"[^>]*type="hidden"|type="hidden"[^>]*id="lat"', html)
    assert [name for name, _ in cards(html)] == ["Near", "Far"]
    assert "nearest you first" in html and "Forget my location" in html
    assert [name for name, _ in cards(search(client, lat="51.5", lon="-0.12", radius="5"))] == [
        "Near"
    ]


def test_admin_lot_form_sets_amenities_and_height(client, as_admin):  # noqa: F811
    fields = {**LOT_FIELDS, "amenities": ["covered", "ev_charging"], "height_limit_cm": "210"}
    assert client.post("/admin/lots/new", data=fields).status_code == 302
    lot = db.session.scalar(select(Lot).filter_by(name=LOT_FIELDS["name"]))
    assert lot.amenities == [Amenity.COVERED, Amenity.EV_CHARGING]
    assert lot.height_limit_cm == 210
    edit = client.get(f"/admin/lots/{lot.id}/edit").get_data(as_text=True)
    assert re.search(r'checked[^>]*value="covered"|value="covered"[^>]*checked', edit)
    changed = {**fields, "amenities": ["security"], "height_limit_cm": ""}
    assert client.post(f"/admin/lots/{lot.id}/edit", data=changed).status_code == 302
    db.session.expire_all()
    lot = db.session.get(Lot, lot.id)
    assert (lot.amenities, lot.height_limit_cm) == ([Amenity.SECURITY], None)


def test_admin_lot_form_refuses_heights_out_of_range_and_unknown_amenities(
    client,
    as_admin,  # noqa: F811
):
    response = client.post("/admin/lots/new", data={**LOT_FIELDS, "height_limit_cm": "90"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "height_limit_cm") == ["Number must be between 100 and 500."]
    response = client.post("/admin/lots/new", data={**LOT_FIELDS, "amenities": ["valet"]})
    assert "is not a valid choice" in response.get_data(as_text=True)
    assert db.session.scalar(select(Lot).filter_by(name=LOT_FIELDS["name"])) is None

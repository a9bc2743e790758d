"""Admin pages: access, lots and spots, users and roles, bookings, the dashboard."""

import re
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from parkapp.accounts.vehicles import add_vehicle
from parkapp.admin.forms import MoneyField
from parkapp.booking import claims, lifecycle
from parkapp.booking.claims import BookingRequest
from parkapp.core.timezones import lot_zone
from parkapp.extensions import db
from parkapp.models import BookingStatus, Lot, Spot, SpotStatus, User, utcnow
from tests.conftest import PASSWORD, hours_from_now

ADMIN_EMAIL = "admin@example.com"

LOT_FIELDS = {
    "name": "Riverside Garage",
    "address": "1 River Walk",
    "city": "Bath",
    "latitude": "51.38",
    "longitude": "-2.36",
    "timezone": "Europe/London",
    "currency": "gbp",
    "opens_at": "",
    "closes_at": "",
    "hourly_rate": "2.50",
    "daily_max": "18.00",
    "grace_minutes": "10",
    "max_booking_days": "30",
}

GET_PAGES = [
    "/admin/",
    "/admin/lots",
    "/admin/lots/new",
    "/admin/lots/{lot}",
    "/admin/lots/{lot}/edit",
    "/admin/users",
    "/admin/users/{user}",
    "/admin/bookings",
]
POST_ACTIONS = [
    "/admin/lots/new",
    "/admin/lots/{lot}/edit",
    "/admin/lots/{lot}/deactivate",
    "/admin/lots/{lot}/reactivate",
    "/admin/lots/{lot}/spots",
    "/admin/spots/{spot}/maintenance",
    "/admin/spots/{spot}/in-service",
    "/admin/spots/{spot}/delete",
    "/admin/users/{user}/roles",
    "/admin/users/{user}/deactivate",
    "/admin/users/{user}/reactivate",
]


class FreshContextClient(FlaskClient):
    """Runs each request in its own app context, as a server does.

    Otherwise every request shares the test's app context and its `g`, where Flask-Login
    caches the user: the session login is then never re-read and auth_required("session")
    refuses a signed-in user.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", FreshContextClient)
    return app.test_client()


@pytest.fixture
def as_admin(admin, auth):
    """The client, signed in as the admin."""
    auth.login(ADMIN_EMAIL)
    return admin


def fresh(model, ident):
    """Re-read a row from the database (a new transaction: SQLite reads a snapshot)."""
    db.session.commit()
    return db.session.get(model, ident)


def field_errors(html, name):
    """The error messages rendered inside the form field holding input `name`."""
    for chunk in html.split('<div class="field')[1:]:
        if f'name="{name}"' in chunk:
            return re.findall(r'class="field-error"[^>]*>([^<]*)<', chunk)
    raise AssertionError(f"no field {name!r} on the page")


def stat(html, key):
    """The value shown on a dashboard tile."""
    match = re.search(rf'id="stat-{key}">\s*<div class="value[^"]*">([^<]*)<', html)
    return match.group(1).strip()


def park_now(user, lot, plate="AB12CDE", spot_id=None):
    return claims.create_booking(user, BookingRequest(lot_id=lot.id, plate=plate, spot_id=spot_id))


def reserve(user, lot, plate="RS12ABC", spot_id=None, start_in=2, hours=2):
    start = hours_from_now(start_in)
    return claims.create_booking(
        user,
        BookingRequest(
            lot_id=lot.id,
            plate=plate,
            spot_id=spot_id,
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
        ),
    )


@contextmanager
def count_queries():
    """Count the SQL statements run inside the block."""
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


# Access ---------------------------------------------------------------------------------


@pytest.fixture
def urls(lot, driver):
    """Fill the page templates with real ids."""
    spot = lot.spots[0]
    return lambda path: path.format(lot=lot.id, user=driver.id, spot=spot.id)


@pytest.mark.parametrize("path", GET_PAGES)
def test_every_admin_page_needs_an_admin(client, auth, admin, urls, path):
    url = urls(path)
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    auth.login("driver@example.com")
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login(ADMIN_EMAIL)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("path", POST_ACTIONS)
def test_every_admin_action_refuses_non_admins(client, auth, urls, lot, path):
    url = urls(path)
    anonymous = client.post(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    auth.login("driver@example.com")
    assert client.post(url).status_code == 403
    assert fresh(Lot, lot.id).is_active
    assert all(spot.status == SpotStatus.ACTIVE for spot in fresh(Lot, lot.id).spots)


def test_admin_actions_need_the_csrf_token(client, app, admin, lot, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)

    def token(path):
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)

    client.post(
        "/login", data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token("/login")}
    )
    spot = lot.spots[0]
    assert client.post(f"/admin/spots/{spot.id}/maintenance").status_code == 400
    assert fresh(Spot, spot.id).status == SpotStatus.ACTIVE
    with_token = client.post(
        f"/admin/spots/{spot.id}/maintenance", data={"csrf_token": token(f"/admin/lots/{lot.id}")}
    )
    assert with_token.status_code == 302
    assert fresh(Spot, spot.id).status == SpotStatus.MAINTENANCE


def test_admin_link_appears_in_the_nav_for_admins_only(client, auth, admin, driver):
    auth.login("driver@example.com")
    assert b'href="/admin/"' not in client.get("/").data
    auth.logout()
    auth.login(ADMIN_EMAIL)
    assert b'href="/admin/"' in client.get("/").data


# Lots -----------------------------------------------------------------------------------


def test_lot_created_through_the_pages_takes_bookings(client, as_admin, driver):
    created = client.post("/admin/lots/new", data=LOT_FIELDS)
    assert created.status_code == 302
    lot = db.session.scalar(select(Lot).filter_by(name="Riverside Garage"))
    assert (lot.hourly_rate_cents, lot.daily_max_cents, lot.currency) == (250, 1800, "GBP")
    assert lot.opens_at is None and lot.closes_at is None

    page = client.post(
        f"/admin/lots/{lot.id}/spots",
        follow_redirects=True,
        data={
            "count": "20",
            "kind": "standard",
            "level": "Ground",
            "zone": "A",
            "label_prefix": "G",
        },
    )
    assert b"Added 20 spots, G1 to G20." in page.data
    assert page.data.count(b'id="spot-') == 20

    booking = park_now(driver, lot)
    assert booking.status == BookingStatus.ACTIVE
    assert booking.spot.lot_id == lot.id and booking.spot.label == "G1"


def test_new_lot_with_opening_hours_and_no_daily_cap(client, as_admin):
    fields = dict(LOT_FIELDS, opens_at="07:00", closes_at="22:30", daily_max="")
    assert client.post("/admin/lots/new", data=fields).status_code == 302
    lot = db.session.scalar(select(Lot).filter_by(name="Riverside Garage"))
    assert (lot.opens_at.strftime("%H:%M"), lot.closes_at.strftime("%H:%M")) == ("07:00", "22:30")
    assert lot.daily_max_cents is None


def test_new_lot_with_a_taken_name_says_so_next_to_the_name(client, as_admin, lot):
    page = client.post("/admin/lots/new", data=dict(LOT_FIELDS, name=lot.name))
    assert field_errors(page.get_data(as_text=True), "name") == ["This name is taken."]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus_Mons", "Unknown time zone"),
        ("hourly_rate", "-1.00", "cannot be negative"),
        ("hourly_rate", "abc", "Enter an amount such as 2.50."),
        ("daily_max", "1.234", "at most two decimal places"),
        ("closes_at", "", "Give both opening and closing times"),
    ],
)
def test_lot_edit_shows_errors_next_to_the_field(client, as_admin, lot, field, value, message):
    fields = dict(LOT_FIELDS, name=lot.name, opens_at="08:00", closes_at="20:00")
    fields[field] = value
    page = client.post(f"/admin/lots/{lot.id}/edit", data=fields)
    assert page.status_code == 200
    [error] = field_errors(page.get_data(as_text=True), field)
    assert message in error
    unchanged = fresh(Lot, lot.id)
    assert (unchanged.timezone, unchanged.hourly_rate_cents) == ("Europe/London", 200)
    assert unchanged.opens_at is None


def test_lot_edit_form_shows_money_in_major_units_and_saves_changes(client, as_admin, lot):
    form = client.get(f"/admin/lots/{lot.id}/edit").get_data(as_text=True)
    assert re.search(r'name="hourly_rate"[^>]*value="2.00"', form)
    saved = client.post(
        f"/admin/lots/{lot.id}/edit", data=dict(LOT_FIELDS, name="Renamed Lot", hourly_rate="19.99")
    )
    assert saved.status_code == 302
    assert (fresh(Lot, lot.id).name, fresh(Lot, lot.id).hourly_rate_cents) == ("Renamed Lot", 1999)


@pytest.mark.parametrize(
    ("raw", "cents"), [("2.5", 250), ("19.99", 1999), ("0", 0), ("1000", 100000), ("0.07", 7)]
)
def test_money_is_read_as_exact_cents(raw, cents):
    assert MoneyField.to_cents(raw) == cents


@pytest.mark.parametrize("raw", ["abc", "2,50", "NaN", "Infinity", "-0.01", "0.001", "1e40"])
def test_money_refuses_what_is_not_an_amount(raw):
    with pytest.raises(ValueError):
        MoneyField.to_cents(raw)


def test_deactivating_a_lot_is_refused_while_a_booking_is_active(client, as_admin, lot, driver):
    park_now(driver, lot)
    page = client.post(f"/admin/lots/{lot.id}/deactivate", follow_redirects=True)
    assert b"active or upcoming booking" in page.data
    assert fresh(Lot, lot.id).is_active


def test_lot_deactivates_and_reactivates(client, as_admin, lot):
    page = client.post(f"/admin/lots/{lot.id}/deactivate", follow_redirects=True)
    assert b"out of service" in page.data
    assert not fresh(Lot, lot.id).is_active
    listing = client.get("/admin/lots").get_data(as_text=True)
    assert re.search(rf'id="lot-{lot.id}">.*?badge bad">inactive', listing, re.S)
    client.post(f"/admin/lots/{lot.id}/reactivate")
    assert fresh(Lot, lot.id).is_active


# Spots ----------------------------------------------------------------------------------


def labels_of(lot_id):
    db.session.commit()
    return sorted(db.session.scalars(select(Spot.label).where(Spot.lot_id == lot_id)))


def test_bulk_created_spots_continue_the_numbering(client, as_admin, make_lot):
    lot = make_lot(spots={"standard": 2})  # ST1, ST2
    client.post(
        f"/admin/lots/{lot.id}/spots",
        data={"count": "3", "kind": "ev", "level": "L1", "zone": "A", "label_prefix": "ST"},
    )
    assert labels_of(lot.id) == ["ST1", "ST2", "ST3", "ST4", "ST5"]
    for _ in range(2):
        client.post(
            f"/admin/lots/{lot.id}/spots",
            data={"count": "2", "kind": "compact", "level": "Roof", "zone": "B"},
        )
    assert [label for label in labels_of(lot.id) if label.startswith("Roof")] == [
        "Roof-B-1",
        "Roof-B-2",
        "Roof-B-3",
        "Roof-B-4",
    ]


def test_bulk_create_errors_show_next_to_the_fields(client, as_admin, lot):
    page = client.post(
        f"/admin/lots/{lot.id}/spots",
        data={"count": "0", "kind": "standard", "level": "", "zone": "Z"},
    )
    html = page.get_data(as_text=True)
    assert field_errors(html, "count")
    page = client.post(
        f"/admin/lots/{lot.id}/spots",
        data={"count": "2", "kind": "standard", "level": "", "zone": "Z"},
    )
    assert field_errors(page.get_data(as_text=True), "zone") == [
        "A zone belongs to a level; give the level too."
    ]
    assert len(labels_of(lot.id)) == 2


def test_lot_page_lists_spots_in_natural_order_with_occupancy(client, as_admin, make_lot, driver):
    lot = make_lot(spots={"standard": 11})
    booking = park_now(driver, lot)
    html = client.get(f"/admin/lots/{lot.id}").get_data(as_text=True)
    labels = re.findall(r'<tr id="spot-\d+">\s*<td><strong>([^<]+)<', html)
    assert labels == [f"ST{n}" for n in range(1, 12)]
    row = re.search(rf'id="spot-{booking.spot_id}">(.*?)</tr>', html, re.S).group(1)
    assert "occupied" in row


def test_maintenance_toggles_a_spot(client, as_admin, lot):
    spot = lot.spots[0]
    page = client.post(f"/admin/spots/{spot.id}/maintenance", follow_redirects=True)
    assert fresh(Spot, spot.id).status == SpotStatus.MAINTENANCE
    row = re.search(rf'id="spot-{spot.id}">(.*?)</tr>', page.get_data(as_text=True), re.S).group(1)
    assert "badge maintenance" in row and "Back in service" in row
    client.post(f"/admin/spots/{spot.id}/in-service")
    assert fresh(Spot, spot.id).status == SpotStatus.ACTIVE


def test_spot_with_an_upcoming_booking_cannot_be_deleted(client, as_admin, lot, driver):
    spot = lot.spots[0]
    reserve(driver, lot, spot_id=spot.id)
    page = client.post(f"/admin/spots/{spot.id}/delete", follow_redirects=True)
    assert b"has an active or upcoming booking" in page.data
    assert fresh(Spot, spot.id).status == SpotStatus.ACTIVE


def test_spot_without_bookings_is_deleted(client, as_admin, lot):
    spot_id = lot.spots[1].id
    page = client.post(f"/admin/spots/{spot_id}/delete", follow_redirects=True)
    assert b"deleted" in page.data
    assert fresh(Spot, spot_id) is None
    assert f'id="spot-{spot_id}"' not in page.get_data(as_text=True)


def test_deleting_an_unknown_spot_is_a_404(client, as_admin):
    assert client.post("/admin/spots/999999/delete").status_code == 404


# Users ----------------------------------------------------------------------------------


@pytest.fixture
def people(make_user, driver):
    """Three more accounts; the driver owns plate AB12 CDE."""
    add_vehicle(driver, "AB12 CDE")
    make_user(email="sam@example.com", full_name="Sam Smith")
    make_user(email="kim@example.org", full_name="Kim Jones")
    return driver


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("kim@example", ["kim@example.org"]),
        ("smith", ["sam@example.com"]),
        ("ab12-cde", ["driver@example.com"]),
        ("DANA", ["driver@example.com"]),
    ],
)
def test_users_search_by_email_name_or_plate(client, as_admin, people, term, found):
    html = client.get("/admin/users", query_string={"q": term}).get_data(as_text=True)
    listed = re.findall(r'<a href="/admin/users/\d+">([^<]+)</a>', html)
    assert listed == found


def test_users_list_shows_roles_and_state(client, as_admin, make_user):
    make_user(email="gone@example.com", active=False)
    html = client.get("/admin/users").get_data(as_text=True)
    admin_row = re.search(r"admin@example.com</a>(.*?)</tr>", html, re.S).group(1)
    assert '<span class="badge">admin</span>' in admin_row and "badge ok" in admin_row
    gone_row = re.search(r"gone@example.com</a>(.*?)</tr>", html, re.S).group(1)
    assert "deactivated" in gone_row


def test_users_list_is_paginated(client, as_admin, make_user):
    for n in range(51):
        make_user(email=f"bulk{n:02d}@example.com")
    first = client.get("/admin/users").get_data(as_text=True)
    assert first.count('<tr id="user-') == 50 and "Page 1 of 2" in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert second.count('<tr id="user-') == 2


def test_user_page_shows_vehicles_and_recent_bookings(client, as_admin, people, lot):
    booking = park_now(people, lot, plate="AB12CDE")
    html = client.get(f"/admin/users/{people.id}").get_data(as_text=True)
    assert "AB12CDE" in html and booking.confirmation_code in html


def test_admin_changes_roles(client, as_admin, driver):
    client.post(f"/admin/users/{driver.id}/roles", data={"roles": ["operator", "user"]})
    assert fresh(User, driver.id).role_names == ["operator", "user"]
    page = client.get(f"/admin/users/{driver.id}").get_data(as_text=True)
    assert re.search(r'checked[^>]*value="operator"|value="operator"[^>]*checked', page)


def test_admin_takes_every_role_away_by_ticking_none(client, as_admin, driver):
    response = client.post(f"/admin/users/{driver.id}/roles", data={})
    assert response.status_code == 302
    assert fresh(User, driver.id).role_names == []


def test_admin_cannot_remove_their_own_admin_role(client, as_admin):
    page = client.post(f"/admin/users/{as_admin.id}/roles", data={"roles": ["user"]})
    assert b"You cannot remove your own admin role." in page.data
    assert fresh(User, as_admin.id).role_names == ["admin"]


def test_admin_deactivates_and_reactivates_an_account(client, as_admin, driver):
    page = client.post(f"/admin/users/{driver.id}/deactivate", follow_redirects=True)
    assert b"driver@example.com is deactivated" in page.data
    assert not fresh(User, driver.id).active
    client.post(f"/admin/users/{driver.id}/reactivate")
    assert fresh(User, driver.id).active


def test_admin_cannot_deactivate_themselves(client, as_admin):
    page = client.post(f"/admin/users/{as_admin.id}/deactivate", follow_redirects=True)
    assert b"You cannot deactivate your own account." in page.data
    assert fresh(User, as_admin.id).active


# Bookings -------------------------------------------------------------------------------


@pytest.fixture
def booked(make_lot, driver):
    """Lots A and B; A has an active stay and a cancelled reservation, B a reservation."""
    lot_a, lot_b = make_lot(name="Alpha"), make_lot(name="Bravo")
    active = park_now(driver, lot_a, plate="AA11AAA")
    cancelled = reserve(driver, lot_a, plate="CC11CCC")
    lifecycle.cancel(cancelled, driver)
    later = reserve(driver, lot_b, plate="BB11BBB", start_in=48)
    return {"a": lot_a, "b": lot_b, "active": active, "cancelled": cancelled, "later": later}


def listed_codes(client, **filters):
    html = client.get("/admin/bookings", query_string=filters).get_data(as_text=True)
    return set(re.findall(r'<span class="code">([A-Z0-9]{10})</span>', html))


def test_bookings_filter_by_lot_and_status(client, as_admin, booked):
    codes = {name: booked[name].confirmation_code for name in ("active", "cancelled", "later")}
    assert listed_codes(client) == set(codes.values())
    assert listed_codes(client, lot=booked["a"].id) == {codes["active"], codes["cancelled"]}
    assert listed_codes(client, status="cancelled") == {codes["cancelled"]}
    assert listed_codes(client, lot=booked["b"].id, status="reserved") == {codes["later"]}
    assert listed_codes(client, lot=booked["b"].id, status="active") == set()


def test_bookings_filter_by_start_date_in_the_lots_time_zone(client, as_admin, make_lot, driver):
    lot = make_lot(timezone="America/Los_Angeles", currency="USD")
    # 02:00 UTC the day after tomorrow is still the evening before in Los Angeles
    utc_day = utcnow().date() + timedelta(days=2)
    starts = datetime.combine(utc_day, time(2, 0), UTC)
    booking = claims.create_booking(
        driver,
        BookingRequest(
            lot_id=lot.id, plate="LA12345", starts_at=starts, ends_at=starts + timedelta(hours=1)
        ),
    )
    local_day = (utc_day - timedelta(days=1)).isoformat()
    found = listed_codes(client, lot=lot.id, date_from=local_day, date_to=local_day)
    assert found == {booking.confirmation_code}
    assert listed_codes(client, lot=lot.id, date_from=utc_day.isoformat()) == set()
    assert listed_codes(client, date_from=utc_day.isoformat()) == {booking.confirmation_code}


def test_bookings_list_shows_times_in_the_lots_time_zone(client, as_admin, make_lot, driver):
    lot = make_lot(timezone="Asia/Tokyo", currency="JPY")
    booking = reserve(driver, lot)
    html = client.get("/admin/bookings").get_data(as_text=True)
    local = booking.starts_at.astimezone(lot_zone(lot)).strftime("%d %b %Y %H:%M")
    assert local in html and "JPY" in html


def test_bookings_filter_refuses_dates_in_the_wrong_order(client, as_admin, booked):
    html = client.get(
        "/admin/bookings", query_string={"date_from": "2030-01-02", "date_to": "2030-01-01"}
    ).get_data(as_text=True)
    assert field_errors(html, "date_to") == ["The end date is before the start date."]
    assert "Fix the filter" in html


# Dashboard ------------------------------------------------------------------------------


def test_dashboard_numbers_match_the_data(client, as_admin, make_lot, driver):
    lot = make_lot(spots={"standard": 3, "ev": 1}, grace_minutes=0)
    make_lot(spots={"standard": 4}, name="Closed Lot").is_active = False
    db.session.commit()
    park_now(driver, lot)
    done = park_now(driver, lot, plate="ZZ99ZZZ")
    lifecycle.release(done, driver)
    html = client.get("/admin/").get_data(as_text=True)
    assert stat(html, "lots") == "1"
    assert stat(html, "spots") == "8"
    assert stat(html, "occupied") == "1"
    assert "12.5% of spots in service" in html
    assert stat(html, "active") == "1"
    assert stat(html, "today") == "2"
    assert stat(html, "revenue") == "2.00 GBP"
    row = re.search(rf'id="lot-{lot.id}">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num">(?:<span[^>]*>)?(\d+)', row) == ["4", "3"]


# Query counts ---------------------------------------------------------------------------


def test_booking_list_queries_do_not_grow_with_rows(client, as_admin, make_lot, make_user):
    park_now(make_user(), make_lot(), plate="NN00001")
    with count_queries() as few:
        client.get("/admin/bookings")
    for n in range(2, 12):  # each on its own lot and by its own driver
        park_now(make_user(), make_lot(), plate=f"NN{n:05d}")
    with count_queries() as many:
        html = client.get("/admin/bookings").get_data(as_text=True)
    assert html.count('<tr id="booking-') == 11
    assert len(many) == len(few), many


def test_user_list_queries_do_not_grow_with_rows(client, as_admin, make_user):
    make_user()
    with count_queries() as few:
        client.get("/admin/users")
    for _ in range(10):
        make_user(roles=("user", "operator"))
    with count_queries() as many:
        client.get("/admin/users")
    assert len(many) == len(few), many


def test_lot_page_queries_do_not_grow_with_spots(client, as_admin, make_lot):
    small = make_lot(spots={"standard": 2}).id
    big = make_lot(spots={"standard": 30, "ev": 10}).id
    with count_queries() as few:
        client.get(f"/admin/lots/{small}")
    with count_queries() as many:
        client.get(f"/admin/lots/{big}")
    assert len(many) == len(few), many


def test_dashboard_occupancy_after_a_stay_ends(client, as_admin, lot, driver):
    booking = park_now(driver, lot)
    lifecycle.release(booking, driver)
    assert stat(client.get("/admin/").get_data(as_text=True), "occupied") == "0"

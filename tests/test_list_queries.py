"""Lists and pages run as many statements for many rows as for one (no N+1 queries)."""

import itertools
from datetime import timedelta
from urllib.parse import urlencode

from parkapp.booking import lifecycle
from parkapp.extensions import db
from parkapp.memberships import subscriptions as memberships
from parkapp.models import Booking
from parkapp.pricing import rates
from parkapp.waitlist import queue as waitlist
from tests.conftest import api_book, hours_from_now, iso
from tests.test_discounts import discount_factory
from tests.test_memberships import make_plan, vehicles_of
from tests.test_payments import post_payment, stay
from tests.test_waitlist import park

NUMBERS = itertools.count()


def statements_for(client, url, headers, count_queries):
    """The statements one GET of `url` runs, from an empty session as under gunicorn.

    One uncounted GET first, so that both readings find the live spot counts cached alike.
    """
    client.get(url, headers=headers or {})
    db.session.remove()
    with count_queries() as statements:
        response = client.get(url, headers=headers or {})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return statements


def per_request(statements):
    """Without the token revocation reads, which follow a refresh schedule of their own."""
    return type(statements)(s for s in statements if "revoked_tokens" not in s)


def assert_flat(client, url, headers, add_rows, count_queries):
    """GET `url` runs the same number of statements before and after `add_rows()`."""
    few = per_request(statements_for(client, url, headers, count_queries))
    add_rows()
    many = per_request(statements_for(client, url, headers, count_queries))
    assert len(many) == len(few), f"{url}: {len(few)} → {len(many)}\n" + many.listing()


def paid_stays(client, headers, make_lot, count):
    for _ in range(count):
        booking = stay(client, headers, make_lot(spots={"standard": 1}), 90, f"PAY{next(NUMBERS)}")
        response = post_payment(client, headers, booking, 400)
        assert response.status_code == 201, response.get_json()


def test_payment_list(client, driver_headers, make_lot, count_queries):
    paid_stays(client, driver_headers, make_lot, 1)
    assert_flat(
        client,
        "/api/v1/payments",
        driver_headers,
        lambda: paid_stays(client, driver_headers, make_lot, 6),
        count_queries,
    )


def test_membership_list(client, driver, driver_headers, make_lot, count_queries):
    def subscribe(count):
        for _ in range(count):
            lot = make_lot()
            plan = make_plan(name=f"Plan {next(NUMBERS)}", lot_ids=[lot.id], vehicle_limit=2)
            cars = vehicles_of(db.session.merge(driver), 2, f"M{next(NUMBERS)}")
            memberships.subscribe(db.session.merge(driver), plan.id, [c.id for c in cars])
            response = api_book(client, driver_headers, lot, vehicle_plate=cars[0].plate)
            assert response.status_code == 201, response.get_json()  # a stay it prices

    subscribe(1)
    assert_flat(client, "/api/v1/memberships", driver_headers, lambda: subscribe(5), count_queries)


def queue_in_full_lots(driver, make_user, make_lot, count):
    for _ in range(count):
        lot = make_lot(spots={"standard": 1})
        park(make_user(), lot, f"FUL{next(NUMBERS)}")
        waitlist.join(db.session.merge(driver), lot.id, f"WAIT{next(NUMBERS)}")


def test_waitlist_entry_with_many_ahead(
    client, driver, driver_headers, make_user, make_lot, count_queries
):
    lot = make_lot(spots={"standard": 1})
    park(make_user(), lot, "FULL1")
    waitlist.join(make_user(), lot.id, "AHEAD0")
    waitlist.join(db.session.merge(driver), lot.id, "MINE1")
    url = f"/api/v1/lots/{lot.id}/waitlist"

    def more_ahead():  # queued behind: the position counts those ahead, not them
        for _ in range(5):
            waitlist.join(make_user(), lot.id, f"BEHIND{next(NUMBERS)}")

    assert_flat(client, url, driver_headers, more_ahead, count_queries)


def priced_lots(make_lot, count):
    """Lots each with a rate row of their own, so pricing them reads their rate tables."""
    for _ in range(count):
        lot = make_lot(spots={"standard": 2, "ev": 1}, amenities=("covered",))
        rates.create_rate(lot, rates.RateInput(name=f"Day {next(NUMBERS)}", amount_cents=250))


def test_lot_list_priced_and_sorted_by_price(client, make_lot, count_queries):
    starts_at = hours_from_now(48)
    query = urlencode(
        {
            "starts_at": iso(starts_at),
            "ends_at": iso(starts_at + timedelta(hours=3)),
            "sort": "price",
            "amenities": "covered",
            "max_height_cm": 200,
            "max_price_cents": 100_000,
        }
    )
    priced_lots(make_lot, 1)
    assert_flat(
        client, f"/api/v1/lots?{query}", None, lambda: priced_lots(make_lot, 6), count_queries
    )


# -- pages ----------------------------------------------------------------------------------


def test_waitlist_page(client, auth, driver, make_user, make_lot, count_queries):
    queue_in_full_lots(driver, make_user, make_lot, 1)
    auth.login(driver.email)
    assert_flat(
        client,
        "/waitlist",
        None,
        lambda: queue_in_full_lots(driver, make_user, make_lot, 5),
        count_queries,
    )


def test_driver_bookings_page(client, auth, driver, driver_headers, make_lot, count_queries):
    def book(count):
        for _ in range(count):
            lot = make_lot(spots={"standard": 1})
            response = api_book(client, driver_headers, lot, vehicle_plate=f"BK{next(NUMBERS)}")
            assert response.status_code == 201, response.get_json()
            if next(NUMBERS) % 2:  # past stays are listed too
                booking = db.session.get(Booking, response.get_json()["id"])
                lifecycle.cancel(booking, db.session.merge(driver))

    book(2)
    auth.login(driver.email)
    assert_flat(client, "/bookings", None, lambda: book(6), count_queries)


def test_driver_home_page(client, auth, driver, driver_headers, make_lot, count_queries):
    """Paid stays this month, each at its own lot (rates and zone), and reservations."""

    code_id = discount_factory()(code="HOMEQ", value=20).id

    def month(count):
        paid_stays(client, driver_headers, make_lot, count)
        for _ in range(count):  # finished with a code, so each is priced for its savings
            lot = make_lot(spots={"standard": 1})
            booking = stay(client, driver_headers, lot, 90, f"HC{next(NUMBERS)}")
            booking.discount_id = code_id
            db.session.commit()
            released = client.post(f"/api/v1/bookings/{booking.id}/release", headers=driver_headers)
            assert released.status_code == 200, released.get_json()
        for _ in range(count):
            lot = make_lot(spots={"standard": 1})
            response = api_book(client, driver_headers, lot, vehicle_plate=f"HM{next(NUMBERS)}")
            assert response.status_code == 201, response.get_json()

    month(1)
    auth.login(driver.email)
    assert_flat(client, "/home", None, lambda: month(4), count_queries)


def test_lot_search_page(client, make_lot, count_queries):
    make_lot(spots={"standard": 2, "ev": 1})
    assert_flat(
        client,
        "/?q=Testville",
        None,
        lambda: [make_lot(spots={"standard": 2, "ev": 1}) for _ in range(6)],
        count_queries,
    )


def test_gate_dashboard(client, auth, operator, driver_headers, make_lot, count_queries):
    def busy_lots(count):
        for _ in range(count):
            lot = make_lot(spots={"standard": 2})
            plate = f"GD{next(NUMBERS)}"
            assert api_book(client, driver_headers, lot, vehicle_plate=plate).status_code == 201

    busy_lots(1)
    auth.login(operator.email)
    assert_flat(client, "/gate/dashboard", None, lambda: busy_lots(5), count_queries)


def test_admin_lots_page(client, auth, admin, make_lot, count_queries):
    make_lot(spots={"standard": 2})
    auth.login(admin.email)
    assert_flat(
        client,
        "/admin/lots",
        None,
        lambda: [make_lot(spots={"standard": 2, "ev": 1}) for _ in range(6)],
        count_queries,
    )

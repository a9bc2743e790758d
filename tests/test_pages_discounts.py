"""Promo code pages: the admin's list and forms, the driver's booking form; demo codes."""

import html
import re

import pytest
from sqlalchemy import func, select

from parkapp import demo
from parkapp.extensions import db
from parkapp.models import Booking, Discount
from tests.conftest import hours_from_now
from tests.test_discounts import discount_factory, fresh, reserve


@pytest.fixture(name="make_discount")
def _make_discount():
    return discount_factory()


# --- admin pages ----------------------------------------------------------------------------


def page_text(response):
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def form(**fields):
    data = {
        "code": "PAGE10",
        "name": "From the page",
        "kind": "percent",
        "value": "10",
        "lot_id": "",
        "valid_from": "",
        "valid_until": "",
        "max_uses": "",
        "max_uses_per_user": "",
    }
    return {**data, **fields}


def test_admin_pages_need_an_admin(client, auth, admin, driver, make_discount):
    discount = make_discount()
    for path in (
        "/admin/discounts",
        "/admin/discounts/new",
        f"/admin/discounts/{discount.id}/edit",
    ):
        assert client.get(path).status_code == 302
        auth.login(driver.email)
        assert client.get(path).status_code == 403
        auth.logout()
    auth.login(driver.email)
    assert client.post(f"/admin/discounts/{discount.id}/deactivate").status_code == 403
    assert client.post("/admin/discounts/new", data=form()).status_code == 403
    assert fresh(discount)[0].is_active
    assert db.session.scalar(select(func.count(Discount.id))) == 1


def test_admin_lists_creates_edits_and_deactivates_codes(
    client, auth, admin, driver, make_lot, make_discount
):
    lot = make_lot(timezone="America/New_York", currency="USD")
    used = make_discount(code="HUNDRED", max_uses=100)
    for n in range(3):
        reserve(driver, lot, "HUNDRED", plate=f"USE{n}", start_in=2 + 10 * n)
    auth.login(admin.email)
    listing = client.get("/admin/discounts")
    assert listing.status_code == 200
    row = re.search(
        rf'<tr id="discount-{used.id}">(.*?)</tr>', listing.get_data(as_text=True), flags=re.S
    ).group(1)
    assert "3 / 100" in row and "10% off" in row
    assert 'href="/admin/discounts"' in client.get("/admin/").get_data(as_text=True)

    created = client.post(
        "/admin/discounts/new",
        data=form(
            code="five-off",
            kind="fixed",
            value="5.00",
            lot_id=str(lot.id),
            valid_until="2030-06-01T12:00",
        ),
    )
    assert created.status_code == 302, page_text(created)
    made = db.session.scalar(select(Discount).filter_by(code="FIVE-OFF"))
    assert (made.value, made.lot_id) == (500, lot.id)
    assert made.valid_until.isoformat() == "2030-06-01T16:00:00+00:00"  # New York summer time

    edit = client.get(f"/admin/discounts/{made.id}/edit").get_data(as_text=True)
    assert 'value="5.00"' in edit and 'value="2030-06-01T12:00"' in edit
    saved = client.post(
        f"/admin/discounts/{made.id}/edit",
        data=form(code="FIVE-OFF", kind="fixed", value="5.00", lot_id=str(lot.id), max_uses="7"),
    )
    assert saved.status_code == 302
    assert fresh(made)[0].max_uses == 7

    frozen = client.post(f"/admin/discounts/{used.id}/edit", data=form(code="HUNDRED", value="50"))
    assert frozen.status_code == 422
    assert "Fixed once the code has been used." in page_text(frozen)
    assert fresh(used)[0].value == 10

    assert client.post(f"/admin/discounts/{used.id}/deactivate").status_code == 302
    assert not fresh(used)[0].is_active
    assert "inactive" in page_text(client.get("/admin/discounts"))
    assert client.post(f"/admin/discounts/{used.id}/reactivate").status_code == 302
    assert fresh(used)[0].is_active


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"value": "0"}, "Give a percentage from 1 to 100."),
        ({"kind": "fixed", "value": "2.505"}, "Use at most two decimal places."),
        ({"kind": "free_hours", "value": "two"}, "Enter a whole number."),
        ({"code": "A B"}, "Use 3 to 32 letters, digits, hyphens or underscores."),
        (
            {"valid_from": "2030-01-02T00:00", "valid_until": "2030-01-01T00:00"},
            "The end of the validity must be after its start.",
        ),
    ],
)
def test_admin_form_shows_errors_next_to_the_field(client, auth, admin, fields, message):
    auth.login(admin.email)
    response = client.post("/admin/discounts/new", data=form(**fields))
    assert response.status_code == 422
    assert message in page_text(response)
    assert db.session.scalar(select(func.count(Discount.id))) == 0


def test_admin_form_refuses_a_taken_code(client, auth, admin, make_discount):
    make_discount(code="PAGE10")
    auth.login(admin.email)
    response = client.post("/admin/discounts/new", data=form(code="page10"))
    assert response.status_code == 422 and "This code is taken." in page_text(response)


# --- the driver's booking form --------------------------------------------------------------


def booking_form(**fields):
    data = {
        "vehicle": "",
        "plate": "AB12 CDE",
        "spot_kind": "",
        "spot": "",
        "when": "now",
        "starts": "",
        "ends": "",
        "book": "Book",
    }
    return {**data, **fields}


def test_lot_page_quotes_and_books_with_a_promo_code(client, auth, driver, lot, make_discount):
    discount = make_discount(code="WELCOME10")
    auth.login()
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'name="discount_code"' in page and "Promo code" in page
    quoted = client.post(
        f"/lots/{lot.id}",
        data=booking_form(discount_code="welcome10", book="", get_quote="Get quote"),
    )
    assert quoted.status_code == 200
    assert "Code WELCOME10: 10% off" in page_text(quoted)
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    booked = client.post(f"/lots/{lot.id}", data=booking_form(discount_code="welcome10"))
    assert booked.status_code == 302
    booking = db.session.scalar(select(Booking))
    assert booking.discount_id == discount.id
    assert "Code WELCOME10: 10% off" in page_text(client.get(booked.location))


def test_lot_page_shows_why_a_code_is_refused_next_to_the_field(
    client, auth, driver, lot, make_discount
):
    make_discount(code="OLD", valid_from=hours_from_now(-48), valid_until=hours_from_now(-1))
    auth.login()
    for action in ({"book": "Book"}, {"book": "", "get_quote": "Get quote"}):
        response = client.post(f"/lots/{lot.id}", data=booking_form(discount_code="old", **action))
        assert response.status_code == 422
        field = re.search(
            r'<div class="field has-error">(?:(?!</div>).)*id="discount_code".*?</div>',
            response.get_data(as_text=True),
            flags=re.S,
        )
        assert field and "Promo code OLD expired on" in html.unescape(field.group(0))
    assert db.session.scalar(select(func.count(Booking.id))) == 0


# --- demo -----------------------------------------------------------------------------------


def test_demo_codes_are_created_once_and_described(make_lot):
    lots = [make_lot()]
    demo._promo_codes(lots)
    demo._promo_codes(lots)
    codes = db.session.scalars(select(Discount.code).order_by(Discount.code)).all()
    assert codes == ["HARBOUR2H", "WELCOME10"]
    assert any(line.startswith("WELCOME10") for line in demo.promo_code_notes())

"""Merchant pages: the counter where staff validate parking, and the admin's merchants."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.merchants import validations
from parkapp.models import Merchant, User, Validation, utcnow
from tests.merchant_fixtures import make_merchant

HOURS_3 = timedelta(hours=3) - timedelta(minutes=1)


def page_text(response):
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def gate_stay(lot, operator, plate="PAGE1"):
    booking, _ = gate.enter(lot.id, plate, operator=operator)
    booking.starts_at -= HOURS_3
    booking.checked_in_at -= HOURS_3
    db.session.commit()
    return booking


@pytest.fixture
def clerk(make_user, lot):
    user = make_user(email="clerk@shop.example", full_name="Casey Clerk")
    make_merchant([lot], [user])
    return user


def test_the_counter_validates_and_lists_the_day(client, auth, clerk, lot, operator):
    stay = gate_stay(lot, operator)
    auth.login(clerk.email)
    page = client.get("/validate")
    assert page.status_code == 200
    text = page_text(page)
    assert "Validate parking · Odeon" in text and "First 2 h free" in text
    assert "No validations yet today." in text and "Validate parking" in text  # nav link too
    done = client.post("/validate", data={"code": stay.ticket_number}, follow_redirects=True)
    text = page_text(done)
    assert f"Validated by Odeon: 4.00 GBP off {stay.ticket_number} so far" in text
    assert stay.ticket_number in text.split("Today", 1)[1] and "Casey Clerk" in text
    again = client.post("/validate", data={"code": stay.ticket_number})
    assert again.status_code == 409
    assert "This stay was already validated by Odeon." in page_text(again)
    assert db.session.scalar(select(Validation.booking_id)) == stay.id


@pytest.mark.parametrize(
    "code, status, words",
    [
        ("", 422, "Type the ticket number or the code."),
        ("hello", 422, "A ticket number is T- and 12"),
        ("t 7kq2 mx4p z9hd", 404, "No stay with T-7KQ2MX4PZ9HD at Odeon's car parks."),
    ],
)
def test_the_counter_says_what_is_wrong_next_to_the_box(client, auth, clerk, code, status, words):
    auth.login(clerk.email)
    response = client.post("/validate", data={"code": code})
    assert response.status_code == status
    assert words in page_text(response)


def test_the_counter_is_for_merchant_staff_only(client, auth, driver, admin, operator):
    assert client.get("/validate").status_code == 302
    for user in (driver, admin, operator):
        auth.login(user.email)
        assert client.get("/validate").status_code == 403
        auth.logout()


def test_admin_creates_and_edits_a_merchant_with_staff_by_email(
    client, auth, admin, lot, make_user, operator
):
    staff = make_user(email="till@deli.example")
    auth.login(admin.email)
    assert "Merchants" in page_text(client.get("/admin/merchants"))
    form = {
        "name": "Deli",
        "give_kind": "fixed",
        "value": "1.50",
        "monthly_cap": "",
        "billing_email": "",
        "lot_ids": [str(lot.id)],
        "staff": "till@deli.example\nnobody@deli.example",
        "active": "y",
    }
    refused = client.post("/admin/merchants/new", data=form)
    assert refused.status_code == 422 and "No account with: nobody@deli.example." in page_text(
        refused
    )
    created = client.post(
        "/admin/merchants/new", data={**form, "staff": "till@deli.example"}, follow_redirects=True
    )
    assert "Merchant Deli created." in page_text(created)
    deli = db.session.scalar(select(Merchant))
    assert (deli.give_value, [s.user_id for s in deli.staff]) == (150, [staff.id])
    assert db.session.get(User, staff.id).is_merchant
    validations.validate(db.session.get(User, staff.id), gate_stay(lot, operator).ticket_number)
    listed = page_text(client.get("/admin/merchants"))
    assert "1.50 off" in listed and "till@deli.example" in listed
    assert "1 · 0.00 GBP" in listed  # this month: one validation, not priced yet
    edit = client.get(f"/admin/merchants/{deli.id}/edit")
    assert edit.status_code == 200 and "till@deli.example" in edit.get_data(as_text=True)
    saved = client.post(
        f"/admin/merchants/{deli.id}/edit",
        data={**form, "staff": "", "value": "2", "give_kind": "free_hours", "monthly_cap": "300"},
        follow_redirects=True,
    )
    assert "Merchant Deli saved." in page_text(saved)
    db.session.expire_all()
    deli = db.session.get(Merchant, deli.id)
    assert (deli.give_kind.value, deli.give_value, deli.monthly_cap_cents) == (
        "free_hours",
        2,
        30000,
    )
    assert deli.staff == [] and not db.session.get(User, staff.id).is_merchant


def test_last_months_total_shows_on_the_admin_page(client, auth, admin, clerk, lot, operator):
    stay = gate_stay(lot, operator)
    validation = validations.validate(clerk, stay.ticket_number)
    gate.pay_and_leave(
        stay, method="cash", amount_cents=200, idempotency_key="p1", operator=operator
    )
    validation = db.session.get(Validation, validation.id)
    validation.created_at = utcnow().replace(day=1) - timedelta(days=2)
    db.session.commit()
    auth.login(admin.email)
    text = page_text(client.get("/admin/merchants"))
    assert "0 · 0.00 GBP 1 · 4.00 GBP" in text


def test_the_booth_fee_screen_shows_the_validation_and_the_rest_due(
    client, auth, clerk, lot, operator
):
    stay = gate_stay(lot, operator)
    validations.validate(clerk, stay.ticket_number)
    auth.login(operator.email)
    client.post("/gate/lot", data={"lot": lot.id, "gate": "North"})
    text = page_text(client.get(f"/gate/exits/{stay.id}"))
    assert (
        "3 h at 2.00 GBP/h 6.00 GBP Validated by Odeon -4.00 GBP Total 2.00 GBP "
        "Paid so far 0.00 GBP Amount due 2.00 GBP"
    ) in text

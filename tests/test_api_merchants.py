"""The merchant API: admins manage merchants and their staff; staff validate and list
their own merchant's validations; drivers and operators are refused."""

import threading
from datetime import timedelta

import pytest

from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.models import User
from tests.merchant_fixtures import make_merchant

HOURS_3 = timedelta(hours=3) - timedelta(minutes=1)


def gate_stay(lot, operator, plate="API1"):
    booking, _ = gate.enter(lot.id, plate, operator=operator)
    booking.starts_at -= HOURS_3
    booking.checked_in_at -= HOURS_3
    db.session.commit()
    return booking


@pytest.fixture
def staff(make_user, lot, make_lot, auth):
    """Two merchants at two lots, one staff member each: (headers A, headers B, lot B)."""
    other_lot = make_lot()
    a = make_user(email="a@shop.example", full_name="Alex A")
    b = make_user(email="b@shop.example", full_name="Bo B")
    make_merchant([lot], [a], name="Shop A")
    make_merchant([other_lot], [b], name="Shop B", kind="fixed", value=150)
    return auth.headers("a@shop.example"), auth.headers("b@shop.example"), other_lot


def test_admin_creates_lists_reads_and_changes_a_merchant(client, admin_headers, lot, make_user):
    clerk = make_user(email="clerk@shop.example")
    created = client.post(
        "/api/v1/merchants",
        json={
            "name": "Odeon",
            "give_kind": "free_hours",
            "give_value": 2,
            "lot_ids": [lot.id],
            "staff_user_ids": [clerk.id],
            "monthly_cap_cents": 50000,
        },
        headers=admin_headers,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["gives"] == "First 2 h free" and body["lot_ids"] == [lot.id]
    assert [s["email"] for s in body["staff"]] == ["clerk@shop.example"]
    assert body["this_month"]["validations"] == 0 and body["last_month"]["amount_cents"] == 0
    assert "merchant" in db.session.get(User, clerk.id).role_names
    listed = client.get("/api/v1/merchants", headers=admin_headers).get_json()
    assert [m["name"] for m in listed["items"]] == ["Odeon"] and listed["total"] == 1
    url = f"/api/v1/merchants/{body['id']}"
    changed = client.patch(
        url, json={"monthly_cap_cents": None, "active": False}, headers=admin_headers
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["monthly_cap_cents"] is None
    assert changed.get_json()["active"] is False
    assert client.get(url, headers=admin_headers).get_json()["name"] == "Odeon"
    assert client.get("/api/v1/merchants/999999", headers=admin_headers).status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "X", "give_kind": "free_hours", "give_value": 0}, "give_value"),
        ({"name": "X", "give_kind": "cash"}, "give_kind"),
        ({"name": "X", "give_kind": "fixed", "give_value": 100, "lot_ids": [424242]}, "lot_ids"),
        ({"name": "X", "give_kind": "full_fee", "billing_email": "no"}, "billing_email"),
    ],
)
def test_bad_merchant_bodies_are_422_naming_the_field(client, admin_headers, body, field):
    response = client.post("/api/v1/merchants", json=body, headers=admin_headers)
    assert response.status_code in (400, 422), response.get_json()
    assert field in str(response.get_json())


def test_drivers_and_operators_get_403_everywhere(
    client, driver_headers, operator_headers, lot, staff
):
    for headers in (driver_headers, operator_headers):
        assert client.get("/api/v1/merchants", headers=headers).status_code == 403
        assert client.get("/api/v1/validations", headers=headers).status_code == 403
        posted = client.post(
            "/api/v1/validations", json={"ticket_number": "T-7KQ2MX4PZ9HD"}, headers=headers
        )
        assert posted.status_code == 403
    assert client.get("/api/v1/validations").status_code == 401


def test_staff_validate_see_their_own_and_not_the_other_merchants(
    client, lot, operator, staff, admin_headers
):
    a_headers, b_headers, lot_b = staff
    stay_a = gate_stay(lot, operator, "API1")
    stay_b = gate_stay(lot_b, operator, "API2")
    made = client.post(
        "/api/v1/validations", json={"ticket_number": stay_a.ticket_number}, headers=a_headers
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["merchant_name"] == "Shop A" and body["amount_cents"] is None  # still inside
    assert body["amount_now_cents"] == 400 and "4.00 GBP off" in body["message"]
    again = client.post(
        "/api/v1/validations", json={"ticket_number": stay_a.ticket_number}, headers=b_headers
    )
    assert again.status_code == 404  # not B's car park: as unknown
    again = client.post(
        "/api/v1/validations", json={"ticket_number": stay_a.ticket_number}, headers=a_headers
    )
    assert again.status_code == 409 and again.get_json()["code"] == "already_validated"
    assert "ticket_number" in again.get_json()["errors"]
    made_b = client.post(
        "/api/v1/validations",
        json={"confirmation_code": stay_b.confirmation_code},
        headers=b_headers,
    )
    assert made_b.status_code == 201 and made_b.get_json()["amount_now_cents"] == 150
    mine = client.get("/api/v1/validations", headers=a_headers).get_json()
    assert [v["id"] for v in mine["items"]] == [body["id"]]
    assert client.get(f"/api/v1/validations/{body['id']}", headers=a_headers).status_code == 200
    theirs = client.get(f"/api/v1/validations/{made_b.get_json()['id']}", headers=a_headers)
    assert theirs.status_code == 404
    everyone = client.get("/api/v1/validations", headers=admin_headers).get_json()
    assert everyone["total"] == 2
    merchant = client.get("/api/v1/merchants", headers=admin_headers).get_json()["items"][0]
    assert merchant["name"] == "Shop A" and merchant["this_month"]["validations"] == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"ticket_number": "T-1", "confirmation_code": "ABCDEFGHJK"}, {"ticket_number": "nope"}],
)
def test_bad_validation_bodies_are_422(client, staff, body):
    a_headers, _b, _lot = staff
    response = client.post("/api/v1/validations", json=body, headers=a_headers)
    assert response.status_code == 422, response.get_json()


def test_a_bad_month_filter_is_422(client, staff):
    a_headers, _b, _lot = staff
    for month in ("2026-13", "soon", "2026-1"):
        response = client.get(f"/api/v1/validations?month={month}", headers=a_headers)
        assert response.status_code == 422, month


def test_two_posts_of_one_code_at_once_answer_201_and_409(app, lot, operator, make_user, auth):
    clerks = [make_user(email=f"c{i}@shop.example") for i in range(2)]
    make_merchant([lot], clerks, name="Twin Tills")
    headers = [auth.headers(c.email) for c in clerks]
    ticket = gate_stay(lot, operator, "RACE1").ticket_number
    barrier, answers = threading.Barrier(2), []

    def post(h):
        with app.app_context():
            try:
                http = app.test_client()
                barrier.wait()
                response = http.post(
                    "/api/v1/validations", json={"ticket_number": ticket}, headers=h
                )
                answers.append((response.status_code, response.get_json().get("code")))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post, args=(h,)) for h in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers, key=str) == [(201, None), (409, "already_validated")], answers

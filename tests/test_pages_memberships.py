"""Membership pages: the admin's plan list and forms; the driver's memberships page and the
lot page's quote with membership lines."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from parkapp import demo
from parkapp.accounts.vehicles import add_vehicle
from parkapp.extensions import db
from parkapp.memberships import subscriptions as memberships
from parkapp.models import Booking, Membership, MembershipPlan, MembershipStatus, utcnow
from tests.test_memberships import a_car, make_plan
from tests.test_pages_discounts import booking_form, page_text


def plan_form(**fields):
    data = {
        "name": "Weekday",
        "description": "Park on your way to work.",
        "duration_months": "1",
        "price_cents": "39.50",
        "currency": "GBP",
        "vehicle_limit": "2",
        "included_hours": "10",
        "discount_percent": "15",
    }
    return {**data, **fields}


# --- admin ----------------------------------------------------------------------------------


def test_plan_pages_need_an_admin(client, auth, driver):
    plan = make_plan()
    for path in ("/admin/plans", "/admin/plans/new", f"/admin/plans/{plan.id}/edit"):
        assert client.get(path).status_code == 302
        auth.login(driver.email)
        assert client.get(path).status_code == 403
        auth.logout()
    auth.login(driver.email)
    assert client.post("/admin/plans/new", data=plan_form()).status_code == 403
    assert client.post(f"/admin/plans/{plan.id}/withdraw").status_code == 403
    assert db.session.scalar(select(func.count(MembershipPlan.id))) == 1


def test_admin_creates_edits_and_withdraws_a_plan(client, auth, admin, lot):
    auth.login(admin.email)
    assert 'href="/admin/plans"' in client.get("/admin/").get_data(as_text=True)
    created = client.post("/admin/plans/new", data=plan_form(lot_ids=[str(lot.id)]))
    assert created.status_code == 302, page_text(created)
    plan = db.session.scalar(select(MembershipPlan))
    assert (plan.price_cents, plan.included_hours, plan.discount_percent) == (3950, 10, 15)
    assert [x.id for x in plan.lots] == [lot.id]
    listing = page_text(client.get("/admin/plans"))
    assert "Weekday" in listing and "39.50 GBP" in listing and "10 h a month included" in listing
    edited = client.post(f"/admin/plans/{plan.id}/edit", data=plan_form(discount_percent="25"))
    assert edited.status_code == 302
    db.session.expire_all()
    assert plan.discount_percent == 25 and plan.lots == []  # no lot ticked: every lot
    assert client.post(f"/admin/plans/{plan.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert plan.is_active is False
    assert "withdrawn" in page_text(client.get("/admin/plans"))


def test_admin_plan_form_shows_errors_next_to_fields(client, auth, admin):
    make_plan(name="Taken")
    auth.login(admin.email)
    bad = client.post("/admin/plans/new", data=plan_form(vehicle_limit="0", price_cents="abc"))
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert body.count('class="field-error"') >= 2
    taken = client.post("/admin/plans/new", data=plan_form(name="Taken"))
    assert taken.status_code == 422 and "Taken." in page_text(taken)
    assert db.session.scalar(select(func.count(MembershipPlan.id))) == 1


# --- driver ---------------------------------------------------------------------------------


def test_driver_subscribes_from_the_page_and_sees_the_discount_on_the_lot_quote(
    client, auth, driver, lot
):
    plan = make_plan(vehicle_limit=1, included_hours=0, discount_percent=25)
    car = add_vehicle(driver, "AB12 CDE", "car")
    auth.login()
    page = client.get("/memberships")
    assert page.status_code == 200 and "Commuter" in page_text(page)
    assert 'href="/memberships"' in page.get_data(as_text=True)
    subscribed = client.post(
        f"/memberships/plans/{plan.id}",
        data={f"plan{plan.id}-plan_id": plan.id, f"plan{plan.id}-vehicle_ids": [car.id]},
    )
    assert subscribed.status_code == 302
    membership = db.session.scalar(select(Membership))
    assert [v.plate for v in membership.vehicles] == ["AB12CDE"]
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo(lot.timezone))
    stay = {
        "starts": f"{tomorrow:%Y-%m-%d}T09:00",
        "ends": f"{tomorrow:%Y-%m-%d}T13:00",
        "when": "later",
    }
    quoted = client.post(
        f"/lots/{lot.id}",
        data=booking_form(book="", get_quote="Get quote", vehicle=str(car.id), plate="", **stay),
    )
    assert quoted.status_code == 200, page_text(quoted)
    assert "Membership Commuter: 25% off" in page_text(quoted)
    mine = page_text(client.get("/memberships"))
    assert "0 h left" in mine and "AB12CDE" in mine


def test_too_many_vehicles_shows_the_limit_next_to_the_checkboxes(client, auth, driver):
    plan = make_plan(vehicle_limit=1)
    cars = [add_vehicle(driver, f"CAR{n}", "car") for n in range(2)]
    auth.login()
    refused = client.post(
        f"/memberships/plans/{plan.id}",
        data={
            f"plan{plan.id}-plan_id": plan.id,
            f"plan{plan.id}-vehicle_ids": [c.id for c in cars],
        },
    )
    assert refused.status_code == 409
    assert re.search(
        r'class="field-error"[^>]*>This plan covers at most 1 vehicle\.',
        refused.get_data(as_text=True),
    )
    assert db.session.scalar(select(func.count(Membership.id))) == 0


def test_driver_attaches_detaches_cancels_and_renews(client, auth, driver, make_user):
    plan = make_plan(vehicle_limit=2)
    car, van = add_vehicle(driver, "CAR1", "car"), add_vehicle(driver, "VAN1", "van")
    membership = memberships.subscribe(driver, plan.id, [car.id])
    auth.login()
    prefix = f"membership{membership.id}"
    added = client.post(
        f"/memberships/{membership.id}/vehicles", data={f"{prefix}-vehicle_id": van.id}
    )
    assert added.status_code == 302
    removed = client.post(f"/memberships/{membership.id}/vehicles/{car.id}/remove")
    assert removed.status_code == 302
    db.session.expire_all()
    assert [v.plate for v in membership.vehicles] == ["VAN1"]
    client.post(f"/memberships/{membership.id}/cancel")
    db.session.expire_all()
    assert membership.status == MembershipStatus.CANCELLED
    assert "Nothing is refunded" in page_text(client.get("/memberships"))
    client.post(f"/memberships/{membership.id}/renew")
    db.session.expire_all()
    assert membership.status == MembershipStatus.ACTIVE and membership.total_paid_cents == 9800


def test_another_drivers_membership_pages_are_not_found(client, auth, driver, make_user):
    other = make_user(email="other@example.com")
    membership = memberships.subscribe(other, make_plan().id, [a_car(other)])
    auth.login()
    for action in ("cancel", "renew", "vehicles"):
        assert client.post(f"/memberships/{membership.id}/{action}").status_code == 404
    db.session.expire_all()
    assert membership.status == MembershipStatus.ACTIVE and membership.renewals == 0
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_demo_plan_is_created_once_and_offered(client, auth, driver):
    demo._membership_plan()
    demo._membership_plan()
    (plan,) = db.session.scalars(select(MembershipPlan)).all()
    assert (plan.name, plan.included_hours, plan.discount_percent) == ("Commuter", 10, 20)
    auth.login()
    assert "10 h a month included, then 20% off" in page_text(client.get("/memberships"))

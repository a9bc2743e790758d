"""Memberships in real Chromium at phone width (390 px) against a real gunicorn (CSRF on).

A driver subscribes to a plan for one of their vehicles with auto-renew ticked, sees the
next renewal date, turns auto-renew off and on again; subscribing with no vehicle ticked
shows the error next to the vehicles.
"""

from playwright.sync_api import expect
from sqlalchemy import select

from parkapp.accounts import vehicles as vehicle_service
from parkapp.extensions import db
from parkapp.models import Membership
from tests.browser_fixtures import SHOTS, flash, log_in
from tests.test_memberships import make_plan

PHONE = {"width": 390, "height": 844}


def memberships_of_dana():
    db.session.rollback()  # the server wrote them: read afresh
    return db.session.scalars(select(Membership).order_by(Membership.id)).all()


def test_driver_subscribes_with_auto_renew_on_a_phone(new_page, make_user):
    dana = make_user(email="dana@example.com", full_name="Dana Driver")
    vehicle_service.add_vehicle(dana, "MB01 CAR")
    vehicle_service.add_vehicle(dana, "MB02 VAN")
    plan = make_plan(name="Commuter", price_cents=4900, vehicle_limit=1)
    page = new_page(viewport=PHONE)
    log_in(page, "dana@example.com")
    page.goto("/memberships")
    card = page.locator(f"#plan-{plan.id}")

    # nothing ticked: the error is shown at the vehicles, nothing is created
    card.get_by_label("Renew automatically at the end of each term").uncheck()
    card.get_by_role("button", name="Subscribe and pay 49.00 GBP").click()
    card = page.locator(f"#plan-{plan.id}")
    expect(card.locator(".field-error")).to_contain_text("Choose at least one of your vehicles")
    assert memberships_of_dana() == []

    card.get_by_label("MB01CAR").check()
    renew_box = card.get_by_label("Renew automatically at the end of each term")
    renew_box.check()
    expect(renew_box).to_be_checked()
    card.get_by_role("button", name="Subscribe and pay 49.00 GBP").click()
    expect(flash(page)).to_contain_text("You are a Commuter member until")

    (membership,) = memberships_of_dana()
    assert membership.auto_renew is True
    assert [v.plate for v in membership.vehicles] == ["MB01CAR"]
    mine = page.locator(f"#membership-{membership.id}")
    expect(mine.locator(".renewal")).to_contain_text(
        f"automatically on {membership.ends_at:%d %b %Y}"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at 390 px: {width}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "memberships-mobile.png", full_page=True)

    # auto-renew off, then on again, from the membership's own form
    mine.get_by_label("Renew automatically", exact=True).uncheck()
    mine.get_by_role("button", name="Save").click()
    expect(flash(page)).to_contain_text("Will not renew")
    mine = page.locator(f"#membership-{membership.id}")
    expect(mine.locator(".renewal")).to_contain_text("no: ends")
    assert memberships_of_dana()[0].auto_renew is False

    mine.get_by_label("Renew automatically", exact=True).check()
    mine.get_by_role("button", name="Save").click()
    expect(flash(page)).to_contain_text("Renews automatically on")
    assert memberships_of_dana()[0].auto_renew is True

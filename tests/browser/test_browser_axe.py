"""Accessibility: axe-core (axe-playwright-python) on every main page, in real Chromium.

The demo data is seeded (the world a first visitor sees), then each role logs in and
every page it uses is checked at desktop width and at 390 px (a phone). A `serious` or
`critical` violation fails the test; the message lists every rule, target and page.
"""

from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from parkapp import demo
from parkapp.exports import jobs as export_jobs
from parkapp.extensions import db
from parkapp.models import (
    Booking,
    BookingSource,
    BookingStatus,
    Discount,
    Lot,
    MembershipPlan,
    OutboxMail,
    Rate,
    User,
    Vehicle,
    WaitlistEntry,
)
from tests.browser_fixtures import log_in

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
FAILING_IMPACTS = {"serious", "critical"}

# Chart.js is deferred: the analytics and dashboard pages are checked once charts exist.
CHARTS_MADE = (
    "() => typeof Chart !== 'undefined' && "
    "[...document.querySelectorAll('canvas[data-chart]')].every(c => Chart.getChart(c))"
)

ADMIN = "admin@parkapp.example.com"
OPERATOR = "operator@parkapp.example.com"
DRIVER = "driver@parkapp.example.com"


@dataclass
class World:
    """Ids of the rows the pages show."""

    lot: int
    booking: int
    vehicle: int
    user: int
    gate_stay: int
    discount: int
    plan: int
    rate: int
    mail: int | None


def _seed_world(password_hash):
    """The demo data with known passwords (the seed fills the harbour's EV bays and queues
    the driver for them), a stay at the gate and an export waiting for the worker."""
    demo.seed(3)
    for user in db.session.scalars(select(User)):
        user.password = password_hash
    db.session.commit()
    lot = db.session.scalar(select(Lot).order_by(Lot.id))
    driver = db.session.scalar(select(User).where(User.email == DRIVER))
    ev_car = db.session.scalar(select(Vehicle).where(Vehicle.user_id == driver.id, Vehicle.is_ev))
    assert db.session.scalar(select(WaitlistEntry.id).where(WaitlistEntry.user_id == driver.id))
    export_jobs.request_export(driver, "bookings_csv")
    booking = db.session.scalar(
        select(Booking)
        .where(Booking.user_id == driver.id)
        .order_by((Booking.status == BookingStatus.RESERVED).desc(), Booking.starts_at.desc())
    )
    return World(
        lot=lot.id,
        booking=booking.id,
        vehicle=ev_car.id,
        user=driver.id,
        gate_stay=_gate_stay(lot),
        discount=db.session.scalar(select(Discount.id).order_by(Discount.id)),
        plan=db.session.scalar(select(MembershipPlan.id).order_by(MembershipPlan.id)),
        rate=db.session.scalar(select(Rate.id).where(Rate.lot_id == lot.id).order_by(Rate.id)),
        mail=db.session.scalar(select(OutboxMail.id).order_by(OutboxMail.id)),
    )


def _gate_stay(lot):
    """A car inside now that came in at the gate (the demo always has some at the harbour)."""
    stay = db.session.scalar(
        select(Booking.id)
        .where(
            Booking.lot_id == lot.id,
            Booking.status == BookingStatus.ACTIVE,
            Booking.source == BookingSource.GATE,
        )
        .order_by(Booking.id.desc())
    )
    assert stay is not None
    return stay


def pages(world):
    """(who, path) of every main page; who is None for a visitor not logged in."""
    w = world
    lot = f"/admin/lots/{w.lot}"
    anonymous = ["/", f"/lots/{w.lot}", "/login", "/register", "/reset"]
    driver = [
        "/",
        f"/lots/{w.lot}",
        "/bookings",
        f"/bookings/{w.booking}",
        "/waitlist",
        "/memberships",
        "/vehicles",
        f"/vehicles/{w.vehicle}/edit",
        "/exports",
        "/account/",
        "/change",
    ]
    operator = [
        "/gate",
        f"/gate/tickets/{w.gate_stay}",
        f"/gate/exits/{w.gate_stay}",
        "/gate/inside",
        "/gate/ev",
        "/gate/dashboard",
    ]
    admin = [
        "/admin/",
        "/admin/analytics",
        "/admin/lots",
        lot,
        f"{lot}/edit",
        "/admin/lots/new",
        f"{lot}/rates",
        f"{lot}/rates/new",
        f"/admin/rates/{w.rate}/edit",
        f"{lot}/demand",
        f"{lot}/ev",
        "/admin/bookings",
        "/admin/users",
        f"/admin/users/{w.user}",
        "/admin/discounts",
        "/admin/discounts/new",
        f"/admin/discounts/{w.discount}/edit",
        "/admin/plans",
        "/admin/plans/new",
        f"/admin/plans/{w.plan}/edit",
        "/admin/audit",
        "/admin/exports",
        "/admin/outbox",
    ]
    if w.mail:
        admin.append(f"/admin/outbox/{w.mail}")
    return (
        [(None, p) for p in anonymous]
        + [(DRIVER, p) for p in driver]
        + [(OPERATOR, p) for p in operator]
        + [(ADMIN, p) for p in admin]
    )


def open_gate(page, lot_name):
    """Choose the car park at the booth (the gate pages need one)."""
    page.goto("/gate/lot")
    page.get_by_label("Car park").select_option(label=f"{lot_name} · Portsmouth")
    page.get_by_label("Gate").fill("North")
    page.get_by_role("button", name="Open the gate screen").click()


def axe_findings(page):
    """[(rule, impact, target, why)] of every axe violation on the page, one per element."""
    results = Axe().run(page)
    return [
        (v["id"], v["impact"], " ".join(map(str, node["target"])), _why(v, node))
        for v in results.response["violations"]
        for node in v["nodes"]
    ]


def _why(violation, node):
    """axe's own words for one element (e.g. the contrast ratio and colours), else the rule's."""
    checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
    return "; ".join(c["message"] for c in checks if c.get("message")) or violation["help"]


def visit_every_page(new_page, viewport, world):
    """Run axe on each page as its role; yield (who, path, findings)."""
    lot_name = db.session.get(Lot, world.lot).name
    pages_of = {}
    for who, path in pages(world):
        if who not in pages_of:
            page = new_page(viewport=VIEWPORTS[viewport])
            if who:
                log_in(page, who)
            if who == OPERATOR:
                open_gate(page, lot_name)
            pages_of[who] = page
        page = pages_of[who]
        response = page.goto(path, wait_until="load")
        assert response.ok, f"{path} as {who}: {response.status}"
        if page.locator("canvas[data-chart]").count():
            page.wait_for_function(CHARTS_MADE)
        yield who or "visitor", path, axe_findings(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_no_serious_axe_violation_on_any_main_page(viewport, new_page, password_hash):
    world = _seed_world(password_hash)
    failing, others, impacts, visited = [], set(), {}, 0

    for who, path, findings in visit_every_page(new_page, viewport, world):
        visited += 1
        for rule, impact, target, why in findings:
            impacts[impact] = impacts.get(impact, 0) + 1
            if impact in FAILING_IMPACTS:
                failing.append(f"{viewport} {who} {path}: {rule} ({impact}) {target}: {why}")
            else:
                others.add(f"{rule} ({impact}) {path}")

    print(f"\naxe {viewport}: {visited} pages, findings by impact: {impacts}")
    for line in failing:
        print("  " + line)
    for line in sorted(others):
        print("  not failing: " + line)
    assert visited == len(pages(world))
    assert not failing, f"{len(failing)} serious or critical axe findings:\n" + "\n".join(failing)

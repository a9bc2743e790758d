"""The FIFO waitlist end to end in real Chromium against a real gunicorn.

A lot is full; three drivers queue from its page and see their places; its stays are
released one by one (on the My bookings page and through the API), and each freed spot is
offered to the next driver in line, who sees the offer and accepts it.
"""

import re

import requests
from playwright.sync_api import expect
from sqlalchemy import select

from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, OutboxMail, WaitlistEntry, WaitlistStatus
from tests.browser_fixtures import flash, log_in
from tests.conftest import PASSWORD

DRIVERS = [("ann@example.com", "ANN 1"), ("bob@example.com", "BOB 2"), ("cat@example.com", "CAT 3")]


def open_waitlist(page):
    """The driver's waitlist page, through the nav link."""
    page.get_by_role("link", name="Waitlist", exact=True).click()
    page.wait_for_url("**/waitlist")
    return page.locator("section.card")


def entries():
    db.session.rollback()  # the server wrote them: read afresh
    return db.session.scalars(select(WaitlistEntry).order_by(WaitlistEntry.id)).all()


def release_on_my_bookings(page, plate):
    page.get_by_role("link", name="My bookings").click()
    row = page.locator("section#active tr").filter(has_text=plate)
    row.get_by_role("button", name="Release spot").click()  # confirm() is accepted
    expect(flash(page)).to_contain_text("released. Final price")


def release_through_the_api(base_url, email, booking_id):
    with requests.Session() as http:
        token = http.post(
            f"{base_url}/api/v1/auth/token", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        response = http.post(
            f"{base_url}/api/v1/bookings/{booking_id}/release",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text


def accept_offer(page, spot_label):
    """The driver sees the spot held for them and takes it."""
    card = open_waitlist(page)
    expect(card).to_contain_text(f"spot {spot_label} held for you")
    card.get_by_role("button", name="Accept: park now").click()
    expect(flash(page)).to_contain_text(f"Spot {spot_label} is yours from now")
    page.wait_for_url(re.compile(r"/bookings/\d+$"))
    expect(page.locator("main")).to_contain_text("active")


def expect_places(pages, places):
    for page, place in zip(pages, places, strict=True):
        expect(open_waitlist(page).locator("dd strong")).to_have_text(place)


def test_three_drivers_queue_for_a_full_lot_and_get_offers_in_order(
    new_page, live_server, make_user, make_lot
):
    owner = make_user(email="owen@example.com", full_name="Owen Owner")
    lot = make_lot(name="Full Garage", spots={"standard": 3})
    stays = [create_booking(owner, BookingRequest(lot.id, f"FILL{i}")) for i in range(1, 4)]
    spots = [stay.spot.label for stay in stays]
    for email, _ in DRIVERS:
        make_user(email=email)

    drivers = []
    for n, (email, plate) in enumerate(DRIVERS, start=1):
        page = new_page()
        log_in(page, email)
        page.goto(f"/lots/{lot.id}")
        box = page.locator("#waitlist")
        expect(box).to_contain_text("No spot is free right now")
        box.get_by_label("Vehicle plate").fill(plate)
        box.get_by_role("button", name="Join the waitlist").click()
        page.wait_for_url("**/waitlist")
        expect(flash(page)).to_contain_text(f"You are {['1st', '2nd', '3rd'][n - 1]} of {n}")
        drivers.append(page)
    expect_places(drivers, ["1st of 3", "2nd of 3", "3rd of 3"])
    assert [e.status for e in entries()] == [WaitlistStatus.WAITING] * 3

    owner_page = new_page()
    log_in(owner_page, owner.email)
    release_on_my_bookings(owner_page, "FILL1")
    accept_offer(drivers[0], spots[0])
    expect_places(drivers[1:], ["1st of 2", "2nd of 2"])

    release_through_the_api(live_server.url, owner.email, stays[1].id)
    accept_offer(drivers[1], spots[1])
    expect_places(drivers[2:], ["1st of 1"])

    release_on_my_bookings(owner_page, "FILL3")
    accept_offer(drivers[2], spots[2])
    expect(open_waitlist(drivers[2])).to_contain_text("You are not on any waitlist")

    final = entries()
    assert [e.status for e in final] == [WaitlistStatus.ASSIGNED] * 3
    taken = [db.session.get(Booking, e.booking_id) for e in final]
    assert [(b.plate, b.spot.label, b.status, b.ends_at) for b in taken] == [
        (plate.replace(" ", ""), spot, BookingStatus.ACTIVE, None)
        for (_, plate), spot in zip(DRIVERS, spots, strict=True)
    ]
    # Each driver was told by mail (kept in the outbox: the server has no SMTP).
    offers = db.session.scalars(
        select(OutboxMail.recipients).where(OutboxMail.subject.contains("A spot is free"))
    ).all()
    assert sorted(offers) == [email for email, _ in DRIVERS]

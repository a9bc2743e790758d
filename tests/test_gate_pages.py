"""The booth pages: choose the car park, let vehicles in, take payment, let them out."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Payment, WaitlistEntry
from tests.test_gate import ALMOST_TWO_HOURS, back_in_time


@pytest.fixture
def booth(client, auth, operator, make_lot):
    """An operator logged in at the booth of a lot with two standard spots and an EV spot."""
    lot = make_lot(name="Station Car Park", spots={"standard": 2, "ev": 1})
    auth.login(operator.email)
    response = client.post("/gate/lot", data={"lot": lot.id, "gate": "North"})
    assert response.status_code == 302 and response.location.endswith("/gate")
    return lot


def html(response):
    return response.get_data(as_text=True)


def hidden_fields(text):
    """{name: value} of the hidden inputs of a page."""
    return dict(re.findall(r'<input id="[^"]*" name="([^"]+)" type="hidden" value="([^"]*)"', text))


def let_in(client, plate, **fields):
    data = {"entry-plate": plate, **{f"entry-{k}": v for k, v in fields.items()}}
    return client.post("/gate/entry", data=data)


def only_booking():
    db.session.rollback()
    return db.session.scalar(select(Booking))


def test_the_gate_is_for_operators_and_admins(client, auth, make_user, lot):
    assert client.get("/gate").status_code == 302  # to the login page
    make_user(email="dana@example.com")
    auth.login("dana@example.com")
    assert "Gate</a>" not in html(client.get("/"))
    for path in ("/gate", "/gate/lot"):
        assert client.get(path).status_code == 403
    assert client.post("/gate/entry", data={"entry-plate": "AB12CDE"}).status_code == 403
    assert client.post("/gate/exit", data={"exit-query": "AB12CDE"}).status_code == 403
    auth.logout()
    make_user(email="ada@example.com", roles=("admin",))
    auth.login("ada@example.com")
    assert client.get("/gate").location.endswith("/gate/lot")
    assert "Gate</a>" in html(client.get("/"))


def test_the_booth_remembers_its_car_park(client, booth):
    page = client.get("/gate")
    assert page.status_code == 200
    text = html(page)
    assert "Station Car Park" in text
    plate = re.search(r'<input[^>]*name="entry-plate"[^>]*>', text).group(0)
    assert 'accesskey="n"' in plate and "autofocus" in plate
    exit_field = re.search(r'<input[^>]*name="exit-query"[^>]*>', text).group(0)
    assert 'accesskey="x"' in exit_field and "autofocus" not in exit_field
    assert 'accesskey="x"' in text and 'value="North"' in text


def test_let_in_by_plate_shows_the_ticket_and_the_spot(client, booth):
    response = let_in(client, "ab12 cde", gate="North")
    assert response.status_code == 302
    booking = only_booking()
    assert response.location.endswith(f"/gate/tickets/{booking.id}")
    ticket = client.get(response.location)
    text = html(ticket)
    assert booking.ticket_number in text and booking.spot.label in text
    assert "Level L1" in text and "Zone A" in text
    assert re.search(r"<button[^>]*autofocus[^>]*>Next vehicle", text)
    assert booking.entry_gate == "North" and booking.spot.kind.value == "standard"


def test_an_ev_gets_the_ev_spot(client, booth):
    let_in(client, "EV12", is_ev="y")
    assert only_booking().spot.kind.value == "ev"


@pytest.mark.parametrize(
    ("plate", "status", "message"),
    [("", 422, "Type the plate."), ("A", 422, "A plate is 2 to 10 letters or digits")],
)
def test_entry_errors_are_shown_next_to_the_plate(client, booth, plate, status, message):
    response = let_in(client, plate)
    assert response.status_code == status
    assert re.search(r'class="field has-error".*?name="entry-plate"', html(response), re.S)
    assert message in html(response)


def test_a_vehicle_inside_is_not_let_in_twice(client, booth):
    let_in(client, "TWICE1")
    response = let_in(client, "TWICE1")
    assert response.status_code == 409
    assert "Vehicle TWICE1 is already inside Station Car Park" in html(response)


def test_a_full_lot_offers_the_waitlist(client, booth):
    for plate in ("FULL1", "FULL2", "FULL3"):
        assert let_in(client, plate).status_code == 302
    full = let_in(client, "WAIT 1")
    assert full.status_code == 409
    assert "Station Car Park is full" in html(full)
    assert re.search(r"<button[^>]*autofocus[^>]*>Put on the waitlist", html(full))
    queued = client.post("/gate/waitlist", data={"wait-plate": "WAIT 1"})
    assert queued.status_code == 200
    assert "1st of 1" in html(queued)
    assert db.session.scalar(select(WaitlistEntry.plate)) == "WAIT1"
    again = client.post("/gate/waitlist", data={"wait-plate": "WAIT1"})
    assert again.status_code == 409 and "already on the waitlist" in html(again)


def test_unknown_ticket_or_plate_is_shown_next_to_the_exit_field(client, booth):
    response = client.post("/gate/exit", data={"exit-query": "T-7KQ2MX4PZ9HD"})
    assert response.status_code == 404
    text = html(response)
    assert "No vehicle inside Station Car Park with ticket T-7KQ2MX4PZ9HD." in text
    assert re.search(r'class="field has-error".*?name="exit-query"', text, re.S)
    assert re.search(r'name="exit-query"[^>]*autofocus|autofocus[^>]*name="exit-query"', text)
    by_plate = client.post("/gate/exit", data={"exit-query": "zz 99"})
    assert by_plate.status_code == 404
    assert "No vehicle inside Station Car Park with plate ZZ99." in html(by_plate)
    junk = client.post("/gate/exit", data={"exit-query": "!!"})
    assert junk.status_code == 422 and "neither a ticket number nor a plate" in html(junk)


def test_check_out_two_hours_later_with_cash(client, booth):
    let_in(client, "CASH1", gate="North")
    booking = only_booking()
    back_in_time(booking, ALMOST_TWO_HOURS)
    found = client.post("/gate/exit", data={"exit-query": booking.ticket_number.lower()})
    assert found.status_code == 302 and found.location.endswith(f"/gate/exits/{booking.id}")
    fee = client.get(found.location)
    text = html(fee)
    assert "1 h 59 min" in text
    assert re.search(r'aria-label="Amount due">4\.00 GBP<', text)
    assert re.search(r'aria-label="Paid">0\.00 GBP<', text)
    for name in ("Cash", "Card", "Mobile"):
        assert f'value="{name}"' in text
    form = hidden_fields(text)
    assert form["amount_cents"] == "400" and form["idempotency_key"]
    paid = client.post(f"/gate/exits/{booking.id}/pay", data={**form, "cash": "Cash"})
    assert paid.status_code == 302 and paid.location.endswith(f"/gate/exits/{booking.id}/done")
    done = html(client.get(paid.location))
    assert "Exit allowed — open the barrier" in done
    assert re.search(r'aria-label="Final price">4\.00 GBP<', done)
    receipt = client.get(re.search(r'href="(/payments/\d+/receipt)"', done).group(1))
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    # The same screen submitted twice takes the money once.
    twice = client.post(f"/gate/exits/{booking.id}/pay", data={**form, "cash": "Cash"})
    assert twice.status_code == 302 and twice.location.endswith("/done")
    db.session.rollback()
    payment = db.session.scalar(select(Payment))
    assert db.session.scalar(select(func.count(Payment.id))) == 1
    assert (payment.method.value, payment.amount_cents) == ("cash", 400)
    booking = db.session.get(Booking, booking.id)
    assert booking.status == BookingStatus.COMPLETED and booking.exit_gate == "North"


def test_a_stale_amount_is_refused_and_the_new_amount_shown(client, booth):
    let_in(client, "STALE1")
    booking = only_booking()
    back_in_time(booking, timedelta(hours=1))
    response = client.post(
        f"/gate/exits/{booking.id}/pay",
        data={"amount_cents": "200", "idempotency_key": "stale-key", "card": "Card"},
    )
    assert response.status_code == 422
    text = html(response)
    assert "Wrong amount: 4.00 GBP is due." in text
    assert re.search(r'aria-label="Amount due">4\.00 GBP<', text)
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_nothing_due_opens_the_barrier_at_once(client, booth):
    let_in(client, "GRACE1")
    booking = only_booking()
    response = client.post("/gate/exit", data={"exit-query": "GRACE1"})
    assert response.location.endswith(f"/gate/exits/{booking.id}/done")
    assert "Exit allowed — open the barrier" in html(client.get(response.location))
    assert only_booking().status == BookingStatus.COMPLETED


def test_a_stay_at_another_car_park_is_not_found_here(client, booth, make_lot, operator):
    from parkapp.gate import passage as gate

    other = make_lot(name="Elsewhere", spots={"standard": 1})
    stay, _ = gate.enter(other.id, "AWAY1", operator=operator)
    assert client.post("/gate/exit", data={"exit-query": "AWAY1"}).status_code == 404
    assert client.get(f"/gate/exits/{stay.id}").status_code == 404
    assert client.get(f"/gate/tickets/{stay.id}").status_code == 404

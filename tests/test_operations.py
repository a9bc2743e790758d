"""The operator dashboard: today per lot in its own time zone, fees by method, the queues."""

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from parkapp.booking import claims, lifecycle
from parkapp.booking.claims import BookingRequest
from parkapp.core import codes
from parkapp.extensions import db
from parkapp.gate import dashboard as operations
from parkapp.models import (
    Booking,
    BookingSource,
    BookingStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Spot,
    WaitlistStatus,
    utcnow,
)
from parkapp.waitlist import queue as waitlist
from tests.test_api_contract import Caller

# 11:30 UTC on 23 Nov is 00:30 on 24 Nov in Auckland (UTC+13): its day began 30 minutes ago.
NOW = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
AUCKLAND_MIDNIGHT = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
# In London (UTC+0 in November) the same moment is still 23 Nov.
LONDON_MIDNIGHT = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)  # "now" tests: a day boundary falls inside only by bad luck


def spots_of(lot):
    return db.session.scalars(select(Spot).where(Spot.lot_id == lot.id).order_by(Spot.id)).all()


def stay(lot, spot, checked_in_at, released_at=None, plate=None):
    """A gate stay checked in (and released) at given times, written as the gate would."""
    booking = Booking(
        lot_id=lot.id,
        spot_id=spot.id,
        plate=plate or f"P{secrets.token_hex(4).upper()}",
        source=BookingSource.GATE,
        status=BookingStatus.COMPLETED if released_at else BookingStatus.ACTIVE,
        starts_at=checked_in_at,
        checked_in_at=checked_in_at,
        ends_at=released_at,
        released_at=released_at,
        confirmation_code=codes.new_code(),
        currency=lot.currency,
    )
    db.session.add(booking)
    db.session.commit()
    return booking


def payment(booking, method, amount, paid_at, status=PaymentStatus.PAID, refunded=0):
    row = Payment(
        booking_id=booking.id,
        method=method,
        status=status,
        amount_cents=amount,
        refunded_cents=refunded,
        currency=booking.currency,
        idempotency_key=secrets.token_hex(16),
        receipt_number=secrets.token_hex(8).upper(),
        paid_at=paid_at,
    )
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def auckland(make_lot):
    return make_lot(name="Harbour Auckland", timezone="Pacific/Auckland", currency="NZD")


@pytest.fixture
def london(make_lot):
    return make_lot(name="Riverside London", timezone="Europe/London")


def by_lot(ops):
    return {day.lot.name: day for day in ops.lots}


# --- counting across a lot-local midnight -------------------------------------------------


def test_entries_and_exits_count_from_the_lots_own_midnight(auckland):
    first, second = spots_of(auckland)
    # Checked in and out just before Auckland's midnight: yesterday there.
    stay(auckland, first, AUCKLAND_MIDNIGHT - 3 * MINUTE, AUCKLAND_MIDNIGHT - MINUTE)
    # Checked in before midnight, released after it: an exit today, not an entry.
    stay(auckland, first, AUCKLAND_MIDNIGHT - MINUTE, AUCKLAND_MIDNIGHT + MINUTE)
    # Checked in after midnight and still inside.
    stay(auckland, second, AUCKLAND_MIDNIGHT + 2 * MINUTE)

    day = operations.today(now=NOW).lots[0]

    assert day.day == date(2026, 11, 24)  # Auckland's date, not UTC's 23 Nov
    assert (day.entries, day.exits, day.inside) == (1, 1, 1)
    # Asked just before midnight, Auckland's day was 23 Nov: both entries and the first exit.
    before = operations.today(now=AUCKLAND_MIDNIGHT - 2 * MINUTE).lots[0]
    assert before.day == date(2026, 11, 23)
    assert (before.entries, before.exits) == (2, 1)


def test_each_lot_counts_its_own_day_in_one_go(auckland, london, make_lot):
    wellington = make_lot(name="Wellington Quay", timezone="Pacific/Auckland", currency="NZD")
    for lot in (auckland, london, wellington):
        spot = spots_of(lot)[0]
        # 10:00 UTC: yesterday in Auckland and Wellington, today in London.
        stay(lot, spot, datetime(2026, 11, 23, 10, 0, tzinfo=UTC), AUCKLAND_MIDNIGHT + MINUTE)
    stay(london, spots_of(london)[1], LONDON_MIDNIGHT - MINUTE)  # inside since yesterday

    days = by_lot(operations.today(now=NOW))

    assert [d.lot.name for d in operations.today(now=NOW).lots] == sorted(days)
    assert (days["Harbour Auckland"].entries, days["Harbour Auckland"].exits) == (0, 1)
    assert (days["Wellington Quay"].entries, days["Wellington Quay"].exits) == (0, 1)
    assert (days["Riverside London"].entries, days["Riverside London"].exits) == (1, 1)
    assert days["Riverside London"].inside == 1
    assert days["Riverside London"].day == date(2026, 11, 23)


def test_the_dashboard_takes_the_same_few_queries_for_many_lots(make_lot, app):
    def queries_for(lot_count):
        for i in range(lot_count):
            make_lot(timezone=("Pacific/Auckland", "Europe/London", "UTC")[i % 3])
        statements = []

        def count(*_args):
            statements.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            operations.today(now=NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    few = queries_for(2)
    many = queries_for(7)

    assert few == many <= 6


# --- fees ------------------------------------------------------------------------------


def test_fees_are_summed_by_method_with_refunds_subtracted(auckland):
    spot = spots_of(auckland)[0]
    paid_stay = stay(auckland, spot, AUCKLAND_MIDNIGHT + MINUTE, AUCKLAND_MIDNIGHT + 5 * MINUTE)
    today = AUCKLAND_MIDNIGHT + 10 * MINUTE
    payment(paid_stay, PaymentMethod.CASH, 500, today)
    payment(paid_stay, PaymentMethod.CASH, 250, today)
    payment(paid_stay, PaymentMethod.CARD, 1000, today, refunded=300)  # partly refunded
    payment(paid_stay, PaymentMethod.MOBILE, 700, today, PaymentStatus.REFUNDED, refunded=700)
    payment(paid_stay, PaymentMethod.ONLINE, 400, AUCKLAND_MIDNIGHT - MINUTE)  # yesterday there
    payment(paid_stay, PaymentMethod.ONLINE, 900, None, PaymentStatus.PENDING)
    payment(paid_stay, PaymentMethod.CARD, 800, None, PaymentStatus.FAILED)

    ops = operations.today(now=NOW)

    assert ops.lots[0].fees == {
        PaymentMethod.CASH: 750,
        PaymentMethod.CARD: 700,
        PaymentMethod.MOBILE: 0,
    }
    assert ops.lots[0].fees_total == 1450
    assert ops.totals["fees"] == {"NZD": ops.lots[0].fees}


def test_fee_totals_stay_apart_per_currency(auckland, london):
    for lot, amount in ((auckland, 300), (london, 200)):
        booking = stay(lot, spots_of(lot)[0], AUCKLAND_MIDNIGHT + MINUTE)
        payment(booking, PaymentMethod.CARD, amount, AUCKLAND_MIDNIGHT + 2 * MINUTE)

    totals = operations.today(now=NOW).totals

    assert totals["fees"] == {
        "GBP": {PaymentMethod.CARD: 200},
        "NZD": {PaymentMethod.CARD: 300},
    }
    assert (totals["entries"], totals["inside"]) == (2, 2)


# --- the queue -------------------------------------------------------------------------


@pytest.fixture
def queued_lot(make_lot, make_user):
    """A full one-spot lot: two drivers and a gate vehicle queue, then the spot frees up."""
    lot = make_lot(name="Full Garage", spots={"standard": 1})
    parked = claims.create_booking(make_user(), BookingRequest(lot.id, "PARKED1"))
    waitlist.join(make_user(full_name="Ann First"), lot.id, "ANN1")
    waitlist.join(make_user(full_name="Bob Second"), lot.id, "BOB2")
    waitlist.join(None, lot.id, "GATE3", vehicle_type="van")
    lifecycle.release(parked, parked.user)
    return lot


def test_the_queue_is_listed_in_fifo_order_with_the_offer_first(queued_lot):
    day = operations.today(queued_lot.id).lots[0]

    rows = [(r.entry.plate, r.position, r.entry.status) for r in day.queue]
    assert rows == [
        ("ANN1", None, WaitlistStatus.OFFERED),
        ("BOB2", 1, WaitlistStatus.WAITING),
        ("GATE3", 2, WaitlistStatus.WAITING),
    ]
    offer = day.queue[0].entry
    assert offer.offered_spot.label == spots_of(queued_lot)[0].label
    assert offer.offer_expires_at > utcnow()
    assert (day.waiting, day.offered, day.exits) == (2, 1, 1)
    # The positions agree with what the drivers themselves see.
    assert str(waitlist.position(day.queue[1].entry)) == "1st of 2"


# --- API ---------------------------------------------------------------------------------


def test_api_operations_for_operators(client, queued_lot, london, operator_headers):
    booking = stay(london, spots_of(london)[0], utcnow() - SECOND)
    payment(booking, PaymentMethod.CASH, 450, utcnow())

    body = client.get("/api/v1/reports/operations", headers=operator_headers).get_json()

    lots = {lot["lot_name"]: lot for lot in body["lots"]}
    assert set(lots) == {"Full Garage", "Riverside London"}
    riverside = lots["Riverside London"]
    assert (riverside["entries_today"], riverside["inside_now"]) == (1, 1)
    assert riverside["fees_today"] == [{"method": "cash", "amount_cents": 450, "currency": "GBP"}]
    assert riverside["timezone"] == "Europe/London" and riverside["queue"] == []
    queue = lots["Full Garage"]["queue"]
    assert [(q["vehicle_plate"], q["position"], q["status"]) for q in queue] == [
        ("ANN1", None, "offered"),
        ("BOB2", 1, "waiting"),
        ("GATE3", 2, "waiting"),
    ]
    assert queue[0]["driver"] == "Ann First" and queue[2]["driver"] is None
    assert queue[0]["offered_spot"] and queue[0]["offer_expires_at"]
    assert queue[1]["offered_spot"] is None
    assert body["totals"]["waiting"] == 2 and body["totals"]["offered"] == 1
    assert body["totals"]["exits_today"] == 1 and body["totals"]["inside_now"] == 1


def test_api_operations_and_dashboard_answer_as_documented(
    client, auth, queued_lot, london, operator, admin, driver
):
    spec = client.get("/api/v1/swagger.json").get_json()
    booking = stay(london, spots_of(london)[0], utcnow() - SECOND)
    payment(booking, PaymentMethod.MOBILE, 300, utcnow())

    ops = Caller(client, spec, auth.headers(operator.email))("get", "/reports/operations", 200)
    dashboard = Caller(client, spec, auth.headers(admin.email))("get", "/reports/dashboard", 200)
    Caller(client, spec, auth.headers(driver.email))("get", "/reports/operations", 403)

    assert ops["totals"]["fees_today"] == [
        {"method": "mobile", "amount_cents": 300, "currency": "GBP"}
    ]
    assert (dashboard["entries_today"], dashboard["exits_today"]) == (2, 1)


def test_api_operations_lot_filter(client, queued_lot, london, admin_headers):
    one = client.get(
        f"/api/v1/reports/operations?lot_id={london.id}", headers=admin_headers
    ).get_json()
    unknown = client.get("/api/v1/reports/operations?lot_id=99999", headers=admin_headers)
    junk = client.get("/api/v1/reports/operations?lot_id=abc", headers=admin_headers)

    assert [lot["lot_id"] for lot in one["lots"]] == [london.id]
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "not_found"
    assert junk.status_code == 422 and "lot_id" in junk.get_json()["errors"]


def test_api_operations_is_for_staff_only(client, lot, driver_headers):
    assert client.get("/api/v1/reports/operations").status_code == 401
    forbidden = client.get("/api/v1/reports/operations", headers=driver_headers)
    assert forbidden.status_code == 403 and forbidden.get_json()["code"] == "forbidden"


def test_api_dashboard_counts_entries_and_exits_today(client, lot, admin_headers):
    first, second = spots_of(lot)
    now = utcnow()
    stay(lot, first, now - 2 * SECOND, now - SECOND)
    stay(lot, second, now - SECOND)
    stay(lot, first, now - timedelta(days=3), now - timedelta(days=2))  # another day

    body = client.get("/api/v1/reports/dashboard", headers=admin_headers).get_json()

    assert (body["entries_today"], body["exits_today"]) == (2, 1)


# --- pages -------------------------------------------------------------------------------


def test_operator_sees_the_dashboard_page(client, auth, operator, queued_lot, london):
    booking = stay(london, spots_of(london)[0], utcnow() - SECOND)
    payment(booking, PaymentMethod.CARD, 1250, utcnow())
    auth.login(operator.email)

    page = client.get("/gate/dashboard").get_data(as_text=True)

    assert "Operations today" in page and 'http-equiv="refresh" content="15"' in page
    assert "Full Garage" in page and "Riverside London" in page
    assert "ANN1" in page and "BOB2" in page and "GATE3" in page and "at the gate" in page
    assert "Ann First" in page and "12.50" in page and "Card" in page
    assert page.index("ANN1") < page.index("BOB2") < page.index("GATE3")


def test_the_dashboard_page_filters_by_lot(client, auth, admin, queued_lot, london):
    auth.login(admin.email)

    page = client.get(f"/gate/dashboard?lot_id={london.id}").get_data(as_text=True)
    junk = client.get("/gate/dashboard?lot_id=nope").get_data(as_text=True)

    assert "Riverside London" in page and "ANN1" not in page and "All car parks</h2>" not in page
    assert f'<option selected value="{london.id}">' in page
    assert "Not a valid choice" in junk and "ANN1" in junk  # the error, and every lot


def test_the_dashboard_page_is_for_staff_only(client, auth, driver, lot):
    anonymous = client.get("/gate/dashboard")
    auth.login()
    forbidden = client.get("/gate/dashboard")

    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert forbidden.status_code == 403


def test_the_admin_dashboard_shows_entries_and_exits_today(client, auth, admin, lot):
    first, second = spots_of(lot)
    now = utcnow()
    stay(lot, first, now - 2 * SECOND, now - SECOND)
    stay(lot, second, now - SECOND)
    auth.login(admin.email)

    page = client.get("/admin/").get_data(as_text=True)

    assert "Entries today" in page and "Exits today" in page
    entries = page[page.index('id="stat-entries"') :]
    assert '<div class="value">2</div>' in entries[: entries.index("Entries today")]

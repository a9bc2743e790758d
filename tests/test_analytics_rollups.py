"""The analytics rollups stay equal to a rebuild from bookings and payments after every kind
of change: booking, prepaying, cancelling with a refund, a stay released and paid, a
no-show marked in bulk, a lot moved to another time zone; a rolled-back change marks
nothing, and a bulk statement that does not say what it changed marks everything."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from parkapp.analytics import charts as analytics
from parkapp.analytics import rollups as analytics_rollups
from parkapp.booking import upkeep
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, Payment, PaymentMethod, PaymentStatus, utcnow
from parkapp.models.analytics import lot_day_revenue, lot_days, pending_days
from parkapp.tasks import BEAT_SCHEDULE
from parkapp.tasks.upkeep import refresh_analytics
from tests.conftest import api_book, reservation

API = "/api/v1"


def snapshot():
    """Every rollup row, zero rows left out (a rebuild writes none for an empty day)."""
    days = {
        tuple(row)
        for row in db.session.execute(select(lot_days))
        if any(row[2:])  # an emptied day may keep a row of zeros until it is rolled up
    }
    revenue = {tuple(row) for row in db.session.execute(select(lot_day_revenue))}
    return days, revenue


def assert_rollups_match_a_rebuild():
    analytics_rollups.refresh()
    kept = snapshot()
    assert pending() == 0
    analytics_rollups.rebuild()
    assert snapshot() == kept


def pending():
    return db.session.scalar(select(func.count()).select_from(pending_days))


def today_rates(lot):
    day = utcnow().astimezone(ZoneInfo(lot.timezone)).date().isoformat()
    filters = analytics.parse_filters({"lot_id": str(lot.id), "from": day, "to": day})
    return analytics.rates(filters).rows[0][1:4]


def pay(client, headers, booking, amount):
    body = {"booking_id": booking.id, "method": "online", "amount_cents": amount}
    response = client.post(f"{API}/payments", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return db.session.get(Payment, response.get_json()["id"])


def test_every_kind_of_change_keeps_the_rollups_equal_to_a_rebuild(
    client, driver_headers, make_lot
):
    lot = make_lot(timezone="Asia/Kolkata", spots={"standard": 3})
    make_lot()  # another lot, untouched: a bulk mark of everything would show
    assert_rollups_match_a_rebuild()

    # a prepaid reservation, cancelled in time: refunded in full
    far = reservation(client, driver_headers, lot, 30, 32, plate="CA12NCL")
    pay(client, driver_headers, far, 400)
    assert_rollups_match_a_rebuild()
    response = client.post(f"{API}/bookings/{far.id}/cancel", headers=driver_headers)
    assert response.status_code == 200 and response.get_json()["refund"]["amount_cents"] == 400
    assert_rollups_match_a_rebuild()

    # a park-now stay of 90 minutes, released and paid
    response = api_book(
        client, driver_headers, lot, vehicle_plate="ST12AYS", starts_at=None, ends_at=None
    )
    stay = db.session.get(Booking, response.get_json()["id"])
    stay.starts_at = stay.checked_in_at = utcnow() - timedelta(minutes=90)
    db.session.commit()
    assert_rollups_match_a_rebuild()
    response = client.post(f"{API}/bookings/{stay.id}/release", headers=driver_headers)
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert_rollups_match_a_rebuild()
    pay(client, driver_headers, stay, stay.price_cents)
    assert_rollups_match_a_rebuild()

    # a reservation nobody turned up for, marked by the bulk no-show statement
    missed = reservation(client, driver_headers, lot, 1, 2, plate="NO12SHW")
    missed.starts_at = utcnow() - timedelta(hours=2)
    missed.ends_at = missed.booked_ends_at = utcnow() - timedelta(minutes=30)
    db.session.commit()
    before = pending()
    assert upkeep.expire_no_shows() == 1
    assert pending() == before + 1  # marked one lot's days, not everything
    assert_rollups_match_a_rebuild()

    # a lot moved to another zone: every local day moves with it
    lot.timezone = "America/Los_Angeles"
    db.session.commit()
    assert_rollups_match_a_rebuild()


def test_charts_show_a_change_at_once(client, driver_headers, lot):
    assert today_rates(lot) == [0, 0, 0]
    missed = reservation(client, driver_headers, lot, 1, 2, plate="NO12SHW")
    missed.starts_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert today_rates(lot) == [1, 0, 0]
    upkeep.expire_no_shows()
    assert today_rates(lot) == [1, 0, 1]


def test_a_rolled_back_change_marks_nothing(client, driver_headers, lot):
    booking = reservation(client, driver_headers, lot, 3, 4, plate="RB12ACK")
    analytics_rollups.refresh()
    booking.status = BookingStatus.CANCELLED
    db.session.flush()
    assert pending() == 1
    db.session.rollback()
    assert pending() == 0


def test_a_day_is_marked_once_per_transaction_and_again_after_a_savepoint_rolls_back(
    client, driver_headers, lot
):
    booking = reservation(client, driver_headers, lot, 3, 4, plate="TW12ICE")
    analytics_rollups.refresh()
    with db.session.begin_nested() as savepoint:
        booking.status = BookingStatus.NO_SHOW
        db.session.flush()
        assert pending() == 1
        savepoint.rollback()
    assert pending() == 0
    for status in (BookingStatus.CANCELLED, BookingStatus.RESERVED, BookingStatus.CANCELLED):
        booking.status = status
        db.session.flush()
    assert pending() == 1
    db.session.commit()
    assert_rollups_match_a_rebuild()


def test_a_change_the_charts_do_not_count_marks_nothing(client, driver_headers, lot):
    booking = reservation(client, driver_headers, lot, 3, 4, plate="PL12ATE")
    analytics_rollups.refresh()
    booking.plate = "PL12ATF"
    db.session.commit()
    assert pending() == 0


def test_a_bulk_statement_that_does_not_say_what_it_changed_marks_every_lot(
    client, driver_headers, make_lot
):
    first, second = make_lot(), make_lot()
    reservation(client, driver_headers, first, 3, 4, plate="BU12LKA")
    analytics_rollups.refresh()
    db.session.execute(update(Booking).values(status=BookingStatus.CANCELLED))
    marked = db.session.execute(select(pending_days.c.lot_id, pending_days.c.first_day)).all()
    assert sorted(lot_id for lot_id, _day in marked) == sorted([first.id, second.id])
    db.session.commit()
    assert_rollups_match_a_rebuild()


def test_the_worker_refreshes_every_minute(client, driver_headers, lot):
    assert BEAT_SCHEDULE["analytics-rollups"]["task"] == "parkapp.tasks.upkeep.refresh_analytics"
    reservation(client, driver_headers, lot, 3, 4, plate="WO12RKR")
    assert pending() == 1
    db.session.commit()
    assert refresh_analytics.apply().get() == 1  # lots rolled up, in the task's own session
    assert pending() == 0
    assert refresh_analytics.apply().get() == 0


def test_rebuild_command_rolls_up_rows_loaded_with_plain_sql(runner, lot):
    now = utcnow()
    with db.engine.begin() as conn:  # outside the session: nothing marks it
        conn.execute(
            Booking.__table__.insert().values(
                lot_id=lot.id,
                spot_id=lot.spots[0].id,
                plate="SQ12LLL",
                source="web",
                status="cancelled",
                starts_at=now,
                ends_at=now + timedelta(hours=1),
                confirmation_code="SQL0000001",
                currency=lot.currency,
                created_at=now,
            )
        )
    assert today_rates(lot) == [0, 0, 0]
    result = runner.invoke(args=["analytics-rebuild"])
    assert result.exit_code == 0 and "lots: 1." in result.output
    assert today_rates(lot) == [1, 1, 0]


def test_a_new_booking_and_its_payment_in_one_flush_mark_both_days(lot):
    start = utcnow() - timedelta(days=3)
    booking = Booking(
        lot=lot,
        spot=lot.spots[0],
        plate="NE12WPY",
        status=BookingStatus.COMPLETED,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        checked_in_at=start,
        released_at=start + timedelta(hours=1),
        confirmation_code="NEWPAY0001",
        currency=lot.currency,
    )
    payment = Payment(
        booking=booking,  # no booking id yet: the lot comes through the relationship
        method=PaymentMethod.CARD,
        status=PaymentStatus.PAID,
        amount_cents=200,
        currency=lot.currency,
        idempotency_key="new-pay-1",
        receipt_number="R-NEWPAY-1",
        paid_at=start + timedelta(days=2),  # another day than the stay's
    )
    db.session.add_all([booking, payment])
    db.session.commit()
    assert_rollups_match_a_rebuild()

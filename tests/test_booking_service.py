"""The booking rules of `services/bookings.py` on the real database."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from parkapp.booking import claims
from parkapp.booking.claims import BookingRequest, create_booking
from parkapp.booking.lifecycle import cancel, check_in, final_quote, release
from parkapp.core.exceptions import (
    Conflict,
    Invalid,
    LotFull,
    NotFound,
    SpotUnavailable,
    VehicleBusy,
    WrongState,
)
from parkapp.extensions import db
from parkapp.lots import lots as lot_service
from parkapp.lots import spots as spot_service
from parkapp.models import Booking, BookingStatus, SpotKind, Vehicle, utcnow
from tests.conftest import hours_from_now

PLATE = "AB12CDE"


def book(user, lot, plate=PLATE, spot=None, starts=None, ends=None, kind=None):
    """Book through the service as a driver would."""
    spot_id = spot.id if spot is not None else None
    return create_booking(
        user,
        BookingRequest(
            lot_id=lot.id,
            plate=plate,
            spot_id=spot_id,
            starts_at=starts,
            ends_at=ends,
            spot_kind=kind,
        ),
    )


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def shift(booking, **values):
    """Move a booking's timestamps directly in the table (time travel for tests)."""
    db.session.execute(update(Booking).where(Booking.id == booking.id).values(**values))
    db.session.commit()
    db.session.refresh(booking)


def spots_of(lot):
    return sorted(lot.spots, key=lambda s: s.label)


# --- interval validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts", "ends", "field"),
    [
        (lambda: datetime(2030, 1, 1, 9), lambda: datetime(2030, 1, 1, 11), "starts_at"),
        (lambda: hours_from_now(1), lambda: datetime(2030, 1, 1, 11), "ends_at"),
        (lambda: hours_from_now(-2), lambda: hours_from_now(1), "starts_at"),
        (lambda: hours_from_now(2), lambda: hours_from_now(1), "ends_at"),
        (lambda: hours_from_now(2), lambda: hours_from_now(2), "ends_at"),
        (lambda: hours_from_now(2), lambda: None, "ends_at"),
        (lambda: None, lambda: hours_from_now(-1), "ends_at"),
        (lambda: hours_from_now(1), lambda: hours_from_now(24 * 40), "ends_at"),
    ],
    ids=[
        "naive-start",
        "naive-end",
        "start-in-past",
        "end-before-start",
        "empty-interval",
        "reservation-without-end",
        "park-now-ending-in-past",
        "longer-than-lot-allows",
    ],
)
def test_bad_interval_is_refused_naming_the_field(driver, lot, starts, ends, field):
    with pytest.raises(Invalid) as exc:
        book(driver, lot, starts=starts(), ends=ends())
    assert exc.value.status == 422
    assert field in exc.value.errors
    assert count(Booking) == 0


def test_lot_maximum_booking_length_applies(driver, make_lot):
    lot = make_lot(max_booking_days=2)
    book(driver, lot, starts=hours_from_now(1), ends=hours_from_now(1 + 48))
    with pytest.raises(Invalid) as exc:
        book(driver, lot, plate="ZZ99ZZZ", starts=hours_from_now(1), ends=hours_from_now(50))
    assert "ends_at" in exc.value.errors


def test_bad_plate_and_unknown_kind_are_422(driver, lot):
    with pytest.raises(Invalid) as exc:
        book(driver, lot, plate="!")
    assert "vehicle_plate" in exc.value.errors
    with pytest.raises(Invalid) as exc:
        book(driver, lot, kind="spaceship")
    assert "spot_kind" in exc.value.errors


def test_start_a_few_seconds_ago_counts_as_now(driver, lot):
    booking = book(driver, lot, starts=utcnow() - timedelta(seconds=20), ends=hours_from_now(1))
    assert booking.status == BookingStatus.RESERVED


# --- spots and lots that cannot be booked --------------------------------------------------


def test_spot_under_maintenance_is_409(driver, lot):
    spot = spots_of(lot)[0]
    spot_service.set_spot_status(spot, "maintenance")
    with pytest.raises(SpotUnavailable) as exc:
        book(driver, lot, spot=spot)
    assert exc.value.status == 409


def test_any_spot_skips_spots_under_maintenance(driver, make_lot):
    lot = make_lot(spots={"standard": 2})
    first, second = spots_of(lot)
    spot_service.set_spot_status(first, "maintenance")
    assert book(driver, lot).spot_id == second.id
    spot_service.set_spot_status(second, "maintenance")
    with pytest.raises(LotFull):
        book(driver, lot, plate="XY34ZZZ")


def test_spot_of_another_lot_or_removed_is_404(driver, make_lot):
    lot, other = make_lot(), make_lot()
    with pytest.raises(NotFound):
        book(driver, lot, spot=spots_of(other)[0])
    spot = spots_of(lot)[0]
    release(book(driver, lot, spot=spot), driver)
    spot_service.delete_spot(spot)  # kept as "removed" because it has history
    with pytest.raises(NotFound):
        book(driver, lot, spot=spot)


def test_deactivated_lot_cannot_be_booked(driver, lot):
    lot_service.deactivate_lot(lot)
    with pytest.raises(NotFound) as exc:
        book(driver, lot)
    assert exc.value.status == 404


def test_lot_with_bookings_cannot_be_deactivated(driver, lot):
    book(driver, lot)
    with pytest.raises(Conflict) as exc:
        lot_service.deactivate_lot(lot)
    assert exc.value.status == 409
    assert exc.value.code == "lot_in_use"
    assert lot_service.get_lot(lot.id).is_active


def test_closed_lot_refuses_park_now_and_reservations_at_closed_times(driver, make_lot):
    now = utcnow().replace(second=0, microsecond=0)
    lot = make_lot(
        timezone="UTC",
        opens_at=(now + timedelta(hours=2)).time(),
        closes_at=(now + timedelta(hours=3)).time(),
    )
    with pytest.raises(WrongState) as exc:
        book(driver, lot)
    assert exc.value.code == "lot_closed"
    with pytest.raises(Invalid) as exc:
        book(driver, lot, starts=now + timedelta(hours=4), ends=now + timedelta(hours=5))
    assert "starts_at" in exc.value.errors
    opened = book(
        driver,
        lot,
        starts=now + timedelta(hours=2, minutes=30),
        ends=now + timedelta(hours=2, minutes=50),
    )
    assert opened.status == BookingStatus.RESERVED


# --- choosing a spot --------------------------------------------------------------------------


def test_any_spot_picks_a_free_spot_of_the_kind(driver, make_lot):
    lot = make_lot(spots={"standard": 2, "ev": 1})
    booking = book(driver, lot, kind="ev")
    assert booking.spot.kind == SpotKind.EV
    assert booking.status == BookingStatus.ACTIVE
    assert booking.ends_at is None


def test_any_spot_is_lot_full_when_no_spot_of_the_kind_is_free(driver, make_lot):
    lot = make_lot(spots={"standard": 2, "ev": 1})
    book(driver, lot, kind="ev")
    with pytest.raises(LotFull) as exc:
        book(driver, lot, plate="EV2NDCAR", kind="ev")
    assert exc.value.status == 409
    assert book(driver, lot, plate="PLAIN1").spot.kind == SpotKind.STANDARD


def test_any_spot_uses_a_spot_that_is_free_for_the_requested_interval(make_user, make_lot):
    lot = make_lot(spots={"standard": 2})
    first, second = spots_of(lot)
    book(make_user(), lot, spot=first, starts=hours_from_now(1), ends=hours_from_now(3))
    book(
        make_user(),
        lot,
        plate="OTHER1",
        spot=second,
        starts=hours_from_now(4),
        ends=hours_from_now(6),
    )
    late = book(make_user(), lot, plate="LATE1", starts=hours_from_now(3), ends=hours_from_now(4))
    assert late.spot_id in {first.id, second.id}
    with pytest.raises(LotFull):
        book(make_user(), lot, plate="CLASH1", starts=hours_from_now(2), ends=hours_from_now(5))


def test_chosen_spot_taken_for_an_overlapping_interval_is_409(make_user, lot):
    spot = spots_of(lot)[0]
    hour = timedelta(hours=1)
    base = hours_from_now(0)  # one instant: a loaded machine may tick a second between calls
    book(make_user(), lot, spot=spot, starts=base + hour, ends=base + 3 * hour)
    with pytest.raises(SpotUnavailable):
        book(
            make_user(),
            lot,
            plate="OTHER1",
            spot=spot,
            starts=base + 3 * hour - timedelta(seconds=1),
            ends=base + 5 * hour,
        )


def test_back_to_back_bookings_share_a_spot(make_user, lot):
    spot = spots_of(lot)[0]
    book(make_user(), lot, spot=spot, starts=hours_from_now(1), ends=hours_from_now(3))
    after = book(
        make_user(), lot, plate="NEXT1", spot=spot, starts=hours_from_now(3), ends=hours_from_now(4)
    )
    assert after.spot_id == spot.id


def test_open_park_now_blocks_every_later_reservation_of_its_spot(make_user, lot):
    spot = spots_of(lot)[0]
    book(make_user(), lot, spot=spot)
    with pytest.raises(SpotUnavailable):
        book(
            make_user(),
            lot,
            plate="LATER1",
            spot=spot,
            starts=hours_from_now(24 * 5),
            ends=hours_from_now(24 * 5 + 1),
        )


def test_booking_records_the_quoted_price(driver, lot):
    booking = book(driver, lot, starts=hours_from_now(1), ends=hours_from_now(3.5))
    assert booking.quoted_cents == 3 * 200
    assert booking.confirmation_code


# --- one vehicle, one place at a time ---------------------------------------------------------


def test_same_vehicle_cannot_hold_two_overlapping_bookings(driver, make_lot):
    lot, other = make_lot(), make_lot()
    book(driver, lot, starts=hours_from_now(1), ends=hours_from_now(3))
    with pytest.raises(VehicleBusy) as exc:
        book(driver, other, plate="ab-12 cde", starts=hours_from_now(2), ends=hours_from_now(4))
    assert exc.value.status == 409
    assert "vehicle_plate" in exc.value.errors


def test_plate_is_busy_whoever_books_it(make_user, lot):
    book(make_user(), lot)
    with pytest.raises(VehicleBusy):
        book(make_user(), lot)


def test_a_parked_vehicle_may_reserve_for_later(driver, make_lot):
    lot, other = make_lot(), make_lot()
    book(driver, lot)  # parked now, open-ended
    assert book(driver, other, starts=hours_from_now(24), ends=hours_from_now(26)).id


def test_a_vehicle_with_a_reservation_later_may_park_now(driver, make_lot):
    lot, other = make_lot(), make_lot()
    book(driver, other, starts=hours_from_now(24), ends=hours_from_now(26))
    assert book(driver, lot).status == BookingStatus.ACTIVE


def test_parking_now_during_own_reservation_asks_to_check_in(driver, make_lot):
    lot, other = make_lot(), make_lot()
    book(driver, other, starts=utcnow(), ends=hours_from_now(2))
    with pytest.raises(VehicleBusy) as exc:
        book(driver, lot)
    assert "check in" in exc.value.message


def test_any_spot_prefers_standard_over_ev_and_never_gives_accessible(driver, make_lot):
    lot = make_lot(spots={"accessible": 1, "ev": 1, "standard": 1})
    first = book(driver, lot)
    assert first.spot.kind == SpotKind.STANDARD
    second = book(driver, lot, plate="SECOND1")
    assert second.spot.kind == SpotKind.EV
    with pytest.raises(LotFull):
        book(driver, lot, plate="THIRD1")


def test_same_vehicle_may_book_back_to_back(driver, make_lot):
    lot, other = make_lot(), make_lot()
    book(driver, lot, starts=hours_from_now(1), ends=hours_from_now(3))
    assert book(driver, other, starts=hours_from_now(3), ends=hours_from_now(4)).id


def test_cancelled_booking_frees_spot_and_vehicle(driver, lot):
    spot = spots_of(lot)[0]
    booking = book(driver, lot, spot=spot, starts=hours_from_now(1), ends=hours_from_now(3))
    cancel(booking, driver)
    again = book(driver, lot, spot=spot, starts=hours_from_now(1), ends=hours_from_now(3))
    assert again.status == BookingStatus.RESERVED


# --- cancel, release -----------------------------------------------------------------------


def test_only_a_reservation_can_be_cancelled(driver, lot):
    parked = book(driver, lot)
    with pytest.raises(WrongState):
        cancel(parked, driver)
    reserved = book(driver, lot, plate="RES1", starts=hours_from_now(2), ends=hours_from_now(3))
    assert cancel(reserved, driver).status == BookingStatus.CANCELLED
    with pytest.raises(WrongState):
        cancel(reserved, driver)


def test_other_drivers_cannot_touch_a_booking(driver, make_user, lot):
    booking = book(driver, lot, starts=hours_from_now(2), ends=hours_from_now(3))
    stranger = make_user()
    for action in (cancel, release, check_in):
        with pytest.raises(NotFound):
            action(booking, stranger)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.RESERVED


def test_release_twice_is_409(driver, lot):
    booking = book(driver, lot)
    release(booking, driver)
    with pytest.raises(WrongState) as exc:
        release(booking, driver)
    assert exc.value.status == 409
    assert exc.value.code == "already_released"


def test_reservation_must_be_checked_in_before_release(driver, lot):
    booking = book(driver, lot, starts=hours_from_now(2), ends=hours_from_now(3))
    with pytest.raises(WrongState) as exc:
        release(booking, driver)
    assert exc.value.code == "not_checked_in"


def test_operator_may_release_a_drivers_stay(driver, operator, lot):
    booking = book(driver, lot)
    assert release(booking, operator).status == BookingStatus.COMPLETED


def test_release_within_grace_period_is_free_and_frees_the_spot(make_user, lot):
    spot = spots_of(lot)[0]
    owner = make_user()
    booking = release(book(owner, lot, spot=spot), owner)
    assert booking.status == BookingStatus.COMPLETED
    assert booking.price_cents == 0
    assert booking.ends_at is not None and booking.released_at is not None
    assert book(make_user(), lot, plate="NEXT1", spot=spot).spot_id == spot.id


def test_release_prices_every_started_hour(driver, lot):
    booking = book(driver, lot)
    shift(booking, starts_at=utcnow() - timedelta(hours=2, minutes=30))
    assert release(booking, driver).price_cents == 3 * 200
    assert final_quote(booking).total_cents == 3 * 200
    kept = final_quote(booking)  # the quote release computed, kept for the response
    db.session.expire_all()
    fresh = db.session.get(Booking, booking.id)
    assert fresh.released_quote is kept  # the same object, for the rest of the request
    fresh.released_quote = None
    assert final_quote(fresh) == kept  # and what pricing it again gives


def test_release_applies_the_daily_maximum(driver, lot):
    booking = book(driver, lot)
    shift(booking, starts_at=utcnow() - timedelta(hours=29, minutes=30))
    assert release(booking, driver).price_cents == 1500 + 6 * 200


def test_reservation_released_early_bills_the_booked_interval(driver, lot):
    booking = book(driver, lot, starts=utcnow() + timedelta(minutes=5), ends=hours_from_now(3))
    check_in(booking, driver)
    released = release(booking, driver)
    assert released.price_cents == 3 * 200
    # The claim ends now (kept one second long at least), long before the booked end.
    assert released.ends_at <= released.released_at + timedelta(seconds=1)
    assert released.ends_at < released.booked_ends_at - timedelta(hours=2)
    assert final_quote(released).total_cents == 3 * 200


def test_overstay_bills_until_release(driver, lot):
    booking = book(driver, lot, starts=utcnow() + timedelta(minutes=5), ends=hours_from_now(1))
    check_in(booking, driver)
    shift(
        booking,
        starts_at=utcnow() - timedelta(hours=3, minutes=30),
        ends_at=utcnow() - timedelta(hours=1),
        booked_ends_at=utcnow() - timedelta(hours=1),
    )
    assert release(booking, driver).price_cents == 4 * 200


def test_park_now_starts_after_the_previous_stay_on_its_spot_ended(
    make_user, make_lot, monkeypatch
):
    lot = make_lot(spots={"standard": 1})
    leaving = make_user()
    first = book(leaving, lot)
    real_check = claims.check_interval

    def previous_driver_leaves_meanwhile(*args):
        result = real_check(*args)
        release(first, leaving)  # committed while the next request is under way
        return result

    monkeypatch.setattr(claims, "check_interval", previous_driver_leaves_meanwhile)
    second = book(make_user(), lot, plate="NEXT1")
    assert second.spot_id == first.spot_id
    assert second.starts_at >= first.ends_at  # the spot's history has no overlap


# --- check-in ----------------------------------------------------------------------------------


def test_check_in_too_early_is_refused(driver, lot):
    booking = book(driver, lot, starts=hours_from_now(1), ends=hours_from_now(2))
    with pytest.raises(WrongState) as exc:
        check_in(booking, driver)
    assert exc.value.code == "too_early"
    assert booking.status == BookingStatus.RESERVED


def test_check_in_after_the_reservation_ended_is_refused(driver, lot):
    booking = book(driver, lot, starts=hours_from_now(1), ends=hours_from_now(2))
    shift(booking, starts_at=utcnow() - timedelta(hours=2), ends_at=utcnow() - timedelta(hours=1))
    with pytest.raises(WrongState) as exc:
        check_in(booking, driver)
    assert exc.value.code == "reservation_over"


def test_early_check_in_claims_the_spot_from_now(driver, lot):
    start = utcnow() + timedelta(minutes=10)
    booking = check_in(book(driver, lot, starts=start, ends=hours_from_now(2)), driver)
    assert booking.status == BookingStatus.ACTIVE
    assert booking.starts_at < start
    assert booking.checked_in_at == booking.starts_at
    with pytest.raises(WrongState):
        check_in(booking, driver)


def test_early_check_in_is_blocked_while_the_spot_is_still_taken(make_user, lot):
    spot = spots_of(lot)[0]
    start = utcnow() + timedelta(minutes=10)
    book(make_user(), lot, plate="EARLY1", spot=spot, ends=start)  # parked until we start
    owner = make_user()
    booking = book(owner, lot, spot=spot, starts=start, ends=hours_from_now(2))
    with pytest.raises(SpotUnavailable):
        check_in(booking, owner)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.RESERVED
    assert booking.starts_at == start


def test_early_check_in_is_blocked_while_the_vehicle_is_parked_elsewhere(driver, make_lot):
    lot, other = make_lot(), make_lot()
    start = utcnow() + timedelta(minutes=10)
    book(driver, other, ends=start)  # the same car is parked at the other lot until then
    booking = book(driver, lot, starts=start, ends=hours_from_now(2))
    with pytest.raises(VehicleBusy):
        check_in(booking, driver)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.RESERVED
    assert booking.starts_at == start


# --- all or nothing ----------------------------------------------------------------------------


def test_failed_booking_leaves_no_rows_behind(driver, make_lot):
    lot = make_lot(spots={"standard": 1})
    book(driver, lot)
    before = (count(Booking), count(Vehicle))
    with pytest.raises(LotFull):
        book(driver, lot, plate="NEWCAR1")  # a new plate would add a vehicle
    with pytest.raises(SpotUnavailable):
        book(driver, lot, plate="NEWCAR2", spot=spots_of(lot)[0])
    with pytest.raises(VehicleBusy):
        book(driver, make_lot(), plate=PLATE)
    assert (count(Booking), count(Vehicle)) == before


def test_successful_booking_adds_the_vehicle_once(driver, make_lot):
    lot = make_lot(spots={"standard": 3})
    book(driver, lot, starts=hours_from_now(1), ends=hours_from_now(2))
    book(driver, lot, starts=hours_from_now(3), ends=hours_from_now(4))
    assert count(Vehicle) == 1
    assert count(Booking) == 2


# --- the database's own guarantee (PostgreSQL) ---------------------------------------------

postgres_only = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the exclusion constraints exist on PostgreSQL only (DATABASE_URL is not PostgreSQL)",
)

INSERT = text(
    "INSERT INTO bookings (lot_id, spot_id, plate, source, status, starts_at, ends_at, "
    "confirmation_code, currency, created_at) VALUES (:lot, :spot, :plate, 'web', :status, "
    ":starts, :ends, :code, 'GBP', now())"
)
T0 = datetime(2031, 6, 1, 9, tzinfo=UTC)


def raw_insert(lot, spot, plate, starts, ends, code, status="reserved"):
    with db.engine.begin() as conn:
        conn.execute(
            INSERT,
            {
                "lot": lot.id,
                "spot": spot.id,
                "plate": plate,
                "status": status,
                "starts": starts,
                "ends": ends,
                "code": code,
            },
        )


def assert_exclusion_violation(exc_info, constraint):
    assert exc_info.value.orig.pgcode == "23P01"
    assert exc_info.value.orig.diag.constraint_name == constraint


@postgres_only
def test_sql_insert_overlapping_a_spot_is_rejected_by_postgres(lot):
    spot = spots_of(lot)[0]
    raw_insert(lot, spot, "AAA1", T0, T0 + timedelta(hours=2), "C1")
    with pytest.raises(IntegrityError) as exc:
        raw_insert(lot, spot, "BBB2", T0 + timedelta(hours=1), T0 + timedelta(hours=3), "C2")
    assert_exclusion_violation(exc, "bookings_no_overlap")
    with pytest.raises(IntegrityError) as exc:
        raw_insert(lot, spot, "CCC3", T0 + timedelta(hours=1), None, "C3", status="active")
    assert_exclusion_violation(exc, "bookings_no_overlap")


@postgres_only
def test_sql_insert_overlapping_a_plate_is_rejected_by_postgres(make_lot):
    lot = make_lot(spots={"standard": 3})
    first, second, third = spots_of(lot)
    raw_insert(lot, first, "AAA1", T0, None, "C1", status="active")
    with pytest.raises(IntegrityError) as exc:
        raw_insert(lot, second, "AAA1", T0 + timedelta(days=3), None, "C2", status="active")
    assert_exclusion_violation(exc, "bookings_plate_active_no_overlap")
    raw_insert(lot, second, "AAA1", T0 + timedelta(days=3), T0 + timedelta(days=4), "C3")
    with pytest.raises(IntegrityError) as exc:
        raw_insert(lot, third, "AAA1", T0 + timedelta(days=3), T0 + timedelta(days=5), "C4")
    assert_exclusion_violation(exc, "bookings_plate_reserved_no_overlap")


@postgres_only
def test_postgres_allows_what_does_not_hold_a_spot(make_lot):
    lot = make_lot(spots={"standard": 1})
    spot = spots_of(lot)[0]
    raw_insert(lot, spot, "AAA1", T0, T0 + timedelta(hours=2), "C1")
    raw_insert(lot, spot, "BBB2", T0 + timedelta(hours=2), T0 + timedelta(hours=3), "C2")
    for n, status in enumerate(("cancelled", "completed", "no_show")):
        raw_insert(lot, spot, "AAA1", T0, T0 + timedelta(hours=3), f"X{n}", status=status)
    assert count(Booking) == 5

"""Memberships: the quote's membership lines, vehicle limits, usage, cancel and renew, and the
daily renewal task (renews once, reminds once).

The API and the pages have their own modules: test_api_memberships.py,
test_pages_memberships.py.
"""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from parkapp.accounts.vehicles import add_vehicle
from parkapp.billing import bills as billing
from parkapp.billing import savings
from parkapp.booking import claims, lifecycle
from parkapp.booking.claims import BookingRequest
from parkapp.core.exceptions import Conflict, Invalid, NotFound, WrongState
from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.memberships import renewals as membership_renewals
from parkapp.memberships import subscriptions as memberships
from parkapp.memberships.subscriptions import PlanInput, add_months
from parkapp.models import (
    Booking,
    DiscountKind,
    Membership,
    MembershipStatus,
    MembershipVehicle,
    utcnow,
)
from parkapp.pricing.quoting import MembershipTerms
from tests.conftest import hours_from_now
from tests.rate_tables import quote
from tests.test_exports import run_task

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass
class RateCard:
    """A lot's own rate, without a database."""

    hourly_rate_cents: int = 200
    daily_max_cents: int | None = 1500
    grace_minutes: int = 10
    currency: str = "GBP"


@dataclass
class PromoCode:
    """A promo code as pricing sees it."""

    code: str
    kind: DiscountKind
    value: int


def make_plan(**fields):
    values = {
        "name": "Commuter",
        "price_cents": 4900,
        "currency": "GBP",
        "vehicle_limit": 3,
        "included_hours": 2,
        "discount_percent": 20,
        **fields,
    }
    return memberships.create_plan(PlanInput(**values))


def a_car(user):
    """The id of one of the user's vehicles (added the first time): memberships need one."""
    return user.vehicles[0].id if user.vehicles else add_vehicle(user, f"CAR{user.id}", "car").id


def vehicles_of(user, count, prefix="MEM"):
    return [add_vehicle(user, f"{prefix}{user.id}X{n}", "car") for n in range(count)]


def reserve(user, lot, plate, hours, starts_in=2):
    request = BookingRequest(
        lot_id=lot.id,
        plate=plate,
        starts_at=hours_from_now(starts_in),
        ends_at=hours_from_now(starts_in + hours),
    )
    return claims.create_booking(user, request)


# --- the quote ------------------------------------------------------------------------------


def test_quote_frees_included_hours_then_takes_the_percent_then_the_code():
    terms = MembershipTerms("Commuter", 120, 20)
    lines = quote(RateCard(), None, None, START, START + 5 * HOUR, membership=terms).lines
    assert [(ln.label, ln.amount_cents) for ln in lines] == [
        ("5 h at 2.00 GBP/h", 1000),
        ("Membership Commuter: 2 h included", -400),
        ("Membership Commuter: 20% off", -120),
    ]


def test_promo_code_applies_to_what_the_membership_left():
    terms = MembershipTerms("Commuter", 60, 50)
    code = PromoCode("HALF", DiscountKind.PERCENT, 50)
    result = quote(RateCard(), None, None, START, START + 3 * HOUR, discount=code, membership=terms)
    assert [ln.amount_cents for ln in result.lines] == [600, -200, -200, -100]
    assert result.lines[-1].label == "Code HALF: 50% off"
    assert result.total_cents == 100


def test_included_hours_cover_a_short_stay_entirely():
    terms = MembershipTerms("Gold", 600, 10)
    result = quote(RateCard(), None, None, START, START + 3 * HOUR, membership=terms)
    assert result.total_cents == 0
    assert [ln.label for ln in result.lines][1] == "Membership Gold: 3 h included"


terms_strategy = st.builds(
    MembershipTerms, st.just("Plan"), st.integers(0, 2000), st.integers(0, 100)
)
cards = st.builds(
    RateCard,
    hourly_rate_cents=st.integers(0, 10_000),
    daily_max_cents=st.one_of(st.none(), st.integers(0, 100_000)),
    grace_minutes=st.integers(0, 60),
)
durations = st.integers(1, 10 * 24 * 3600).map(lambda s: timedelta(seconds=s))


@given(cards, terms_strategy, durations)
def test_membership_price_is_never_negative_nor_above_the_plain_price(card, terms, duration):
    plain = quote(card, None, None, START, START + duration).total_cents
    member = quote(card, None, None, START, START + duration, membership=terms)
    assert 0 <= member.total_cents <= plain
    assert sum(ln.amount_cents for ln in member.lines) == member.total_cents


@given(cards, terms_strategy, durations, durations)
def test_membership_price_never_decreases_as_the_stay_grows(card, terms, duration, extra):
    def total(length):
        return quote(card, None, None, START, START + length, membership=terms).total_cents

    assert total(duration) <= total(duration + extra)


def test_add_months_clamps_to_the_end_of_the_month():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(2028, 1, 15, tzinfo=UTC)


# --- plans ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("duration_months", 0),
        ("duration_months", 25),
        ("vehicle_limit", 0),
        ("included_hours", -1),
        ("discount_percent", 101),
        ("price_cents", -5),
        ("currency", "EURO"),
        ("name", " "),
        ("lot_ids", [999999]),
    ],
)
def test_plan_fields_are_checked(field, value):
    with pytest.raises(Invalid) as refused:
        make_plan(**{field: value})
    assert field in refused.value.errors


def test_plan_names_are_unique():
    make_plan()
    with pytest.raises(Conflict):
        make_plan(price_cents=100)


# --- subscribing and vehicles ---------------------------------------------------------------


def test_a_fourth_vehicle_on_a_three_vehicle_plan_is_refused_and_nothing_changes(driver):
    plan = make_plan(vehicle_limit=3)
    cars = vehicles_of(driver, 4)
    with pytest.raises(Conflict) as refused:
        memberships.subscribe(driver, plan.id, [v.id for v in cars])
    assert refused.value.message == "This plan covers at most 3 vehicles."
    assert db.session.scalar(select(func.count(Membership.id))) == 0
    membership = memberships.subscribe(driver, plan.id, [v.id for v in cars[:3]])
    with pytest.raises(Conflict) as again:
        memberships.attach_vehicle(membership, cars[3].id)
    assert again.value.code == "vehicle_limit"
    db.session.expire_all()
    assert db.session.scalar(select(func.count(MembershipVehicle.id))) == 3


def test_one_membership_per_plan_and_only_own_vehicles(driver, make_user):
    plan = make_plan()
    stranger_car = vehicles_of(make_user(email="s@example.com"), 1)[0]
    with pytest.raises(Invalid):
        memberships.subscribe(driver, plan.id, [stranger_car.id])
    memberships.subscribe(driver, plan.id, [a_car(driver)])
    with pytest.raises(Conflict) as twice:
        memberships.subscribe(driver, plan.id, [a_car(driver)])
    assert twice.value.code == "already_member"
    memberships.set_plan_active(plan, False)
    with pytest.raises(NotFound):
        late = make_user(email="late@example.com")
        memberships.subscribe(late, plan.id, [a_car(late)])


def test_subscribing_records_the_price_as_charged(driver):
    plan = make_plan(duration_months=3, price_cents=12000)
    membership = memberships.subscribe(driver, plan.id, [a_car(driver)])
    assert membership.price_cents == membership.total_paid_cents == 12000
    assert membership.paid_at is not None
    assert membership.ends_at == add_months(membership.starts_at, 3)


# --- bookings and usage ---------------------------------------------------------------------


def test_a_booking_of_an_attached_vehicle_is_priced_with_the_membership(driver, lot):
    plan = make_plan(included_hours=2, discount_percent=20)
    car, other = vehicles_of(driver, 2)
    membership = memberships.subscribe(driver, plan.id, [car.id])
    booking = reserve(driver, lot, car.plate, 5)
    assert booking.membership_id == membership.id
    assert booking.quoted_cents == 1000 - 400 - 120
    plain = reserve(driver, lot, other.plate, 5)
    assert plain.membership_id is None and plain.quoted_cents == 1000


def test_included_hours_are_used_up_in_booking_order(driver, lot):
    plan = make_plan(included_hours=3, discount_percent=0)
    car = vehicles_of(driver, 1)[0]
    membership = memberships.subscribe(driver, plan.id, [car.id])
    first = reserve(driver, lot, car.plate, 2, starts_in=2)
    second = reserve(driver, lot, car.plate, 2, starts_in=6)
    assert first.quoted_cents == 0
    labels = [ln.label for ln in lifecycle.final_quote(second).lines]
    assert labels == ["2 h at 2.00 GBP/h", "Membership Commuter: 1 h included"]
    assert second.quoted_cents == 200
    usage = savings.usage(membership)
    assert (usage.hours_used, usage.hours_left, usage.stays) == (3, 0, 2)
    assert usage.saved_cents == 400 + 200
    assert 27 <= usage.days_remaining <= 31
    lifecycle.cancel(second, driver)  # a cancelled stay uses nothing
    assert savings.usage(membership).hours_used == 2


def test_a_plan_covers_only_its_lots(driver, make_lot):
    covered, elsewhere = make_lot(), make_lot()
    plan = make_plan(lot_ids=[covered.id])
    car = vehicles_of(driver, 1)[0]
    memberships.subscribe(driver, plan.id, [car.id])
    assert reserve(driver, covered, car.plate, 5).membership_id is not None
    assert reserve(driver, elsewhere, car.plate, 5, starts_in=10).membership_id is None


# --- cancel and renew -----------------------------------------------------------------------


def test_cancel_stops_renewal_but_keeps_the_membership_until_its_end(driver, lot):
    plan = make_plan()
    car = vehicles_of(driver, 1)[0]
    membership = memberships.subscribe(driver, plan.id, [car.id])
    memberships.cancel(membership)
    assert membership.status == MembershipStatus.CANCELLED and membership.auto_renew is False
    assert reserve(driver, lot, car.plate, 3).membership_id == membership.id
    with pytest.raises(WrongState):
        memberships.cancel(membership)


def test_renew_adds_a_term_and_charges_it(driver):
    plan = make_plan(price_cents=4900)
    membership = memberships.subscribe(driver, plan.id, [a_car(driver)])
    memberships.cancel(membership)
    ends = membership.ends_at
    memberships.renew(membership)
    assert membership.ends_at == add_months(ends, 1)
    assert membership.total_paid_cents == 9800 and membership.renewals == 1
    assert membership.status == MembershipStatus.ACTIVE and membership.auto_renew is True


# --- the daily task -------------------------------------------------------------------------


def _move(membership, starts_at, ends_at):
    membership.starts_at, membership.ends_at = starts_at, ends_at
    db.session.commit()


def test_renewal_task_renews_an_ended_membership_exactly_once(driver):
    plan = make_plan(price_cents=4900)
    membership = memberships.subscribe(driver, plan.id, [a_car(driver)])
    now = utcnow()
    _move(membership, now - timedelta(days=31), now - timedelta(minutes=5))
    first = membership_renewals.settle_due(now)
    second = membership_renewals.settle_due(now)
    db.session.expire_all()
    assert first["renewed"] == 1 and sum(first.values()) == 1
    assert sum(second.values()) == 0
    assert membership.total_paid_cents == 9800 and membership.renewals == 1
    assert membership.ends_at > now and membership.status == MembershipStatus.ACTIVE


def test_renewal_task_expires_a_cancelled_membership(driver):
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    memberships.cancel(membership)
    now = utcnow()
    _move(membership, now - timedelta(days=31), now - timedelta(minutes=5))
    settled = membership_renewals.settle_due(now)
    assert settled["expired"] == 1 and sum(settled.values()) == 1
    db.session.expire_all()
    assert membership.status == MembershipStatus.EXPIRED and membership.total_paid_cents == 4900


def test_renewal_reminder_is_mailed_once_before_renewal(driver, make_user, mailbox):
    membership = memberships.subscribe(driver, make_plan(price_cents=4900).id, [a_car(driver)])
    later_user = make_user(email="later@example.com")
    later = memberships.subscribe(later_user, make_plan(name="Weekender").id, [a_car(later_user)])
    now = utcnow()
    _move(membership, now - timedelta(days=25), now + timedelta(days=6))
    _move(later, now, now + timedelta(days=20))
    assert membership_renewals.upkeep(now)["reminded"] == 1
    assert membership_renewals.upkeep(now)["reminded"] == 0
    (message,) = mailbox.messages
    assert message["To"] == "driver@example.com"
    assert "Commuter" in message["Subject"]
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert "49.00 GBP" in text.get_payload(decode=True).decode()


def test_beat_runs_the_registered_renewal_task_daily(app, driver, mailbox):
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()
    entry = celery.conf.beat_schedule["membership-renewals"]
    assert entry["task"] == "parkapp.tasks.upkeep.membership_renewals"
    assert entry["schedule"].day_of_month == set(range(1, 32)) and len(entry["schedule"].hour) == 1
    membership = memberships.subscribe(driver, make_plan().id, [a_car(driver)])
    now = utcnow()
    _move(membership, now - timedelta(days=31), now - timedelta(minutes=1))
    result = run_task(app, "parkapp.tasks.upkeep.membership_renewals")
    assert result.result == {
        "renewed": 1,
        "failed": 0,
        "retrying": 0,
        "lapsed": 0,
        "expired": 0,
        "mailed": 0,
        "reminded": 0,
        "receipts": 2,  # the renewal's, and the first term's that no worker here had sent
    }
    receipts = mailbox.to("driver@example.com")
    assert len(receipts) == 2 and all(r["Subject"].startswith("Receipt M-") for r in receipts)
    assert run_task(app, "parkapp.tasks.upkeep.membership_renewals").result["renewed"] == 0
    assert db.session.get(Membership, membership.id).renewals == 1


def test_no_booking_changes_when_membership_is_priced(driver, lot):
    """A later booking never changes an earlier one's price."""
    plan = make_plan(included_hours=2, discount_percent=0)
    car = vehicles_of(driver, 1)[0]
    memberships.subscribe(driver, plan.id, [car.id])
    first = reserve(driver, lot, car.plate, 1, starts_in=8)
    reserve(driver, lot, car.plate, 3, starts_in=2)
    db.session.expire_all()
    first = db.session.get(Booking, first.id)
    assert lifecycle.final_quote(first).total_cents == 0


def _race(app, count, work):
    """Run `work(index)` in `count` threads started together; return their outcomes."""
    barrier, outcomes = threading.Barrier(count), []

    def run(index):
        with app.app_context():
            try:
                barrier.wait()
                outcomes.append(work(index))
            except Exception as exc:  # the caller's assertion shows it
                outcomes.append(getattr(exc, "code", repr(exc)))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_concurrent_renewal_runs_renew_once(app, driver):
    membership = memberships.subscribe(driver, make_plan(price_cents=4900).id, [a_car(driver)])
    now = utcnow()
    _move(membership, now - timedelta(days=31), now - timedelta(minutes=5))
    db.session.commit()
    outcomes = _race(app, 4, lambda _: membership_renewals.settle_due(now)["renewed"])
    assert sorted(outcomes) == [0, 0, 0, 1], outcomes
    db.session.expire_all()
    assert membership.renewals == 1 and membership.total_paid_cents == 9800


def test_concurrent_attaches_never_pass_the_vehicle_limit(app, driver):
    plan = make_plan(vehicle_limit=2)
    cars = vehicles_of(driver, 5)
    car_ids = [car.id for car in cars]
    membership_id = memberships.subscribe(driver, plan.id, car_ids[:1]).id
    db.session.commit()

    def attach(index):
        own = db.session.get(Membership, membership_id)
        memberships.attach_vehicle(own, car_ids[index + 1])
        return "attached"

    outcomes = _race(app, 4, attach)
    assert sorted(outcomes) == ["attached"] + ["vehicle_limit"] * 3, outcomes
    count = select(func.count(MembershipVehicle.id))
    assert db.session.scalar(count) == 2


def test_a_members_car_entering_at_the_gate_is_priced_by_the_plan(driver, make_lot, operator):
    lot = make_lot(hourly_rate_cents=300)
    plan = make_plan(included_hours=1, discount_percent=50)
    (car,) = vehicles_of(driver, 1)
    membership = memberships.subscribe(driver, plan.id, [car.id])

    stay, _ = gate.enter(lot.id, car.plate, operator=operator)
    assert (stay.membership_id, stay.user_id, stay.vehicle_id) == (membership.id, driver.id, car.id)
    stay.starts_at = stay.checked_in_at = stay.starts_at - timedelta(hours=2, minutes=59)
    db.session.commit()
    labels = [line.label for line in billing.bill(stay).quote.lines]
    assert labels[1:] == ["Membership Commuter: 1 h included", "Membership Commuter: 50% off"]
    assert billing.bill(stay).due_cents == 300  # 3 h at 3.00, the first free, half off the rest

    stranger, _ = gate.enter(lot.id, "NOT A MEMBER", operator=operator)
    assert stranger.membership_id is None and stranger.user_id is None

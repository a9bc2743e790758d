"""The demo data looks like a city car park: its shapes, its people, its present, its seed.

The whole seed runs once here (as `flask seed-demo` does on the first run) and the peak-hours
chart the admin sees is read back as CSV: weekday mornings dwarf the small hours, Saturday
shoppers stay briefly, no driver books more than a person would, nothing is double-booked.
"""

import csv
import io
import random
import statistics
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import pairwise

from sqlalchemy import select

from parkapp import demo
from parkapp.accounts.users import ensure_roles
from parkapp.core.timezones import lot_zone
from parkapp.demo import history, people
from parkapp.extensions import db
from parkapp.models import (
    Booking,
    BookingSource,
    BookingStatus,
    ChargingSession,
    ChargingStatus,
    Lot,
    Membership,
    MembershipStatus,
    User,
    WaitlistEntry,
    utcnow,
)

HOLDING = (BookingStatus.RESERVED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)


def peak_hours(client, lot):
    """The admin's peak-hours chart over the demo's eight weeks, {(weekday, hour): arrivals}."""
    today = utcnow().date()
    response = client.get(
        "/admin/analytics/peak-hours.csv",
        query_string={"from": (today - timedelta(days=56)).isoformat(), "to": today.isoformat(),
                      "lot_id": lot.id},
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    return {(row["weekday"], int(row["hour"])): int(row["arrivals"]) for row in rows}


def local_stays(lot_bookings, lot):
    """(local start, minutes) of the stays that happened."""
    zone = lot_zone(lot)
    return [
        (b.starts_at.astimezone(zone), (b.ends_at - b.starts_at).total_seconds() / 60)
        for b in lot_bookings
        if b.status == BookingStatus.COMPLETED
    ]


def test_demo_is_a_city_car_park(client, auth, password_hash):
    demo.seed(7)
    admin = db.session.scalar(select(User).where(User.email == "admin@parkapp.example.com"))
    admin.password = password_hash
    db.session.commit()
    auth.login("admin@parkapp.example.com")
    lots = db.session.scalars(select(Lot).order_by(Lot.id)).all()
    bookings = db.session.scalars(select(Booking)).all()

    for lot in lots:  # the chart the admin sees, in the lot's own time
        grid = peak_hours(client, lot)
        weekday = ("Mon", "Tue", "Wed", "Thu", "Fri")
        morning = sum(grid[(d, h)] for d in weekday for h in (8, 9))
        small_hours = sum(grid[(d, h)] for d in weekday for h in (2, 3))
        assert morning > 20 * max(small_hours, 1), (lot.name, morning, small_hours)
        lunch, mid_morning = (
            sum(grid[(d, 12)] for d in weekday),
            sum(grid[(d, 10)] for d in weekday),
        )
        assert lunch > mid_morning, (lot.name, lunch, mid_morning)  # the lunchtime bump
        saturday = sum(grid[("Sat", h)] for h in range(10, 16))
        assert saturday > sum(grid[("Sat", h)] for h in range(6, 9)) * 3, lot.name

    old_town = lots[2]
    stays = local_stays([b for b in bookings if b.lot_id == old_town.id], old_town)
    shopping = [m for start, m in stays if start.weekday() == 5 and 10 <= start.hour < 16]
    commuting = [m for start, m in stays if start.weekday() < 5 and 8 <= start.hour < 9]
    assert statistics.median(shopping) < 150 < 6 * 60 < statistics.median(commuting)

    per_driver_month = Counter(
        (b.user_id, b.starts_at.strftime("%Y-%m")) for b in bookings if b.user_id
    )
    assert max(per_driver_month.values()) <= 60, per_driver_month.most_common(3)
    assert statistics.median(per_driver_month.values()) >= 8  # regulars, not one-offs

    now = utcnow()
    assert sum(b.status == BookingStatus.RESERVED and b.starts_at > now for b in bookings) >= 3
    assert any(
        b.status == BookingStatus.ACTIVE and b.source == BookingSource.GATE for b in bookings
    )
    members = db.session.scalars(select(Membership)).all()
    assert sum(m.status == MembershipStatus.ACTIVE for m in members) >= 3
    assert any(b.membership_id for b in bookings)
    charges = db.session.scalars(select(ChargingSession)).all()
    assert {ChargingStatus.FINISHED, ChargingStatus.CHARGING} <= {c.status for c in charges}
    assert len(db.session.scalars(select(WaitlistEntry)).all()) >= 2

    by_spot = defaultdict(list)
    for b in bookings:
        if b.status in HOLDING:
            by_spot[b.spot_id].append((b.starts_at, b.ends_at or now + timedelta(days=365)))
    for spans in by_spot.values():
        spans.sort()
        for (_, end), (start, _) in pairwise(spans):
            assert end <= start


def test_same_seed_same_history(make_user, make_lot):
    lot = demo._make_lot(*demo.LOTS[1])
    driver = make_user(email="regular@example.com")
    regulars = people.driver_regulars(driver, [lot, lot, lot])
    now = utcnow()

    def shape(seed):
        stays = history.generate(random.Random(seed), [lot], regulars, days=7, now=now)
        return [(s.row["starts_at"], s.row["spot_id"], s.row["status"]) for s in stays]

    first = shape(11)
    assert len(first) > 50
    assert shape(11) == first
    assert shape(12) != first


def test_a_driver_is_in_one_place_at_a_time_across_lots():
    """An occasional driver walks in at every lot; never at two of them at once (the plate's
    exclusion constraints refuse that on PostgreSQL, so the seed would fail there)."""
    ensure_roles()
    lots = [demo._make_lot(*demo.LOTS[0]), demo._make_lot(*demo.LOTS[1])]
    occasional = people.occasional_drivers(random.Random(3), count=1)
    stays = history.generate(random.Random(5), lots, days=21, now=utcnow(), occasional=occasional)
    later = utcnow() + timedelta(days=365)
    spans = sorted(
        (s.row["starts_at"], s.row["ends_at"] or later, s.row["lot_id"])
        for s in stays
        if s.row["user_id"] and s.row["status"] in HOLDING
    )
    assert len(spans) > 20 and len({lot for _, _, lot in spans}) == 2
    for (_, end, _), (start, _, _) in pairwise(spans):
        assert end <= start

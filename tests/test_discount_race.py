"""A promo code's uses are counted exactly once under concurrent redemption: real HTTP
against gunicorn on PostgreSQL. (test_discounts.py races the service on any database.)"""

import os
from collections import Counter

import pytest
from sqlalchemy import text

from parkapp.billing import discounts
from parkapp.billing.discounts import DiscountInput
from parkapp.extensions import db
from tests.live_server import LiveServer
from tests.test_race import bearer, fresh_snapshot, race

CLIENTS = 30
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="HTTP races need PostgreSQL (set DATABASE_URL=postgresql://...); SQLite serialises "
    "writers, which test_discounts.py::test_the_service_redeems_concurrently_on_any_database covers",
)


@pytest.fixture(scope="module")
def live_server(app):
    """gunicorn (4 workers x 8 threads) on the test database, for this module."""
    with LiveServer(os.environ["DATABASE_URL"], workers=4, threads=8) as server:
        yield server


def counts(discount_id):
    """(uses_count, redemption rows, bookings carrying the code), read with SQL."""
    fresh_snapshot()
    return tuple(
        db.session.scalar(text(sql), {"id": discount_id})
        for sql in (
            "SELECT uses_count FROM discounts WHERE id = :id",
            "SELECT count(*) FROM discount_redemptions WHERE discount_id = :id",
            "SELECT count(*) FROM bookings WHERE discount_id = :id",
        )
    )


def assert_answers(results, server, winners, loser_code):
    statuses = Counter(status for status, _ in results)
    unexpected = [r for r in results if r[0] not in (201, 422)][:3]
    assert statuses == {201: winners, 422: len(results) - winners}, (
        f"{statuses}; unexpected: {unexpected}\n{server.log(2000)}"
    )
    for status, body in results:
        if status == 422:
            assert body["code"] == loser_code and "discount_code" in body["errors"], body
        else:
            assert (
                body["discount_code"] is not None and body["quote"]["lines"][-1]["amount_cents"] < 0
            )


def test_a_code_with_five_uses_is_used_exactly_five_times(live_server, make_user, make_lot):
    lot = make_lot(spots={"standard": CLIENTS + 5})
    code = discounts.create(DiscountInput(code="FIVEONLY", kind="percent", value=20, max_uses=5))
    users = [make_user() for _ in range(CLIENTS)]
    results = race(
        live_server,
        [
            (
                {"lot_id": lot.id, "vehicle_plate": f"DISC{i}", "discount_code": "fiveonly"},
                bearer(user),
            )
            for i, user in enumerate(users)
        ],
    )
    assert_answers(results, live_server, winners=5, loser_code="exhausted")
    assert counts(code.id) == (5, 5, 5)
    booked = db.session.scalar(
        text("SELECT count(*) FROM bookings WHERE lot_id = :lot"), {"lot": lot.id}
    )
    assert booked == 5  # a refused code booked nothing


def test_one_driver_racing_a_once_per_driver_code_gets_it_once(live_server, driver, make_lot):
    lot = make_lot(spots={"standard": CLIENTS})
    code = discounts.create(
        DiscountInput(code="ONCEEACH", kind="fixed", value=100, max_uses_per_user=1)
    )
    headers = bearer(driver)
    results = race(
        live_server,
        [
            ({"lot_id": lot.id, "vehicle_plate": f"MINE{i}", "discount_code": "ONCEEACH"}, headers)
            for i in range(CLIENTS)
        ],
    )
    assert_answers(results, live_server, winners=1, loser_code="used_up")
    assert counts(code.id) == (1, 1, 1)

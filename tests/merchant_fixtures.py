"""Merchants for tests: a shop validating at a lot, with one staff member."""

import pytest

from parkapp.extensions import db
from parkapp.merchants import merchants
from parkapp.merchants.merchants import MerchantInput
from parkapp.models import Merchant


def make_merchant(lots, staff=(), name="Odeon", kind="free_hours", value=2, **more):
    """A committed merchant at `lots` with `staff` users linked (they get the role)."""
    merchant = merchants.create(
        MerchantInput(
            name=name,
            give_kind=kind,
            give_value=value,
            lot_ids=[lot.id for lot in lots],
            staff_user_ids=[user.id for user in staff],
            **more,
        )
    )
    return db.session.get(Merchant, merchant.id)


@pytest.fixture
def clerk(make_user):
    """A user who will be a merchant's staff (a driver account until linked)."""
    return make_user(email="clerk@shop.example", full_name="Casey Clerk")


@pytest.fixture
def shop(lot, clerk):
    """'Odeon' gives the first 2 hours free at `lot`; `clerk` validates for it."""
    return make_merchant([lot], [clerk])

"""Merchants for tests: a shop validating at some lots, with its staff."""

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

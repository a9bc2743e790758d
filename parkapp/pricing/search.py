"""Lot search with prices: each lot's quote for an interval, a price ceiling, cheapest first.

The quote is `pricing.quote` for a standard car over the interval: the rate table's price
before demand adjustments, memberships and promo codes (those need the driver and the lot's
occupancy, and apply on the lot's own quote and at booking). A lot closed for the interval
(closed at the start, or closing before the end without overnight stays) has no quote.
"""

from dataclasses import dataclass

from parkapp.core.exceptions import DomainError, Invalid
from parkapp.lots import hours
from parkapp.lots.lots import LotFilter, Summaries, find_lots
from parkapp.models import SpotKind, VehicleType
from parkapp.pricing.quoting import Stay, quote

SORTS = ("name", "distance", "price")


@dataclass
class PricedSearch:
    """A lot search: a LotFilter, availability over an interval (or now) for a spot kind,
    a price ceiling for the interval, and the order (None: distance when near, else name)."""

    where: LotFilter
    starts_at: object = None
    ends_at: object = None
    kind: SpotKind | None = None
    max_price_cents: int | None = None
    sort: str | None = None


def check(search):
    """Raise Invalid for a sort or price ceiling the search cannot honour."""
    if search.sort not in (None, *SORTS):
        raise Invalid("sort", f"Sort by {', '.join(SORTS)}.")
    if search.sort == "distance" and search.where.near is None:
        raise Invalid("sort", "Sorting by distance needs lat and lon.")
    priced = search.starts_at is not None and search.ends_at is not None
    if search.sort == "price" and not priced:
        raise Invalid("sort", "Sorting by price needs starts_at and ends_at.")
    if search.max_price_cents is not None and not priced:
        raise Invalid("max_price_cents", "A price ceiling needs starts_at and ends_at.")


def find(search):
    """The lots a PricedSearch finds, as a lazily counted sequence of LotSummary (with
    `quote` set when the interval has an end)."""
    check(search)
    priced = search.starts_at is not None and search.ends_at is not None
    lots, distances = find_lots(search.where, with_rates=priced)
    rows = [
        (
            lot,
            distances[i] if distances is not None else None,
            interval_quote(lot, search) if priced else None,
        )
        for i, lot in enumerate(lots)
    ]
    if search.max_price_cents is not None:
        rows = [r for r in rows if r[2] is not None and r[2].total_cents <= search.max_price_cents]
    if search.sort == "price":
        # closed lots last; a tie keeps the order found (by distance when near, else name)
        rows.sort(key=lambda r: (r[2] is None, r[2].total_cents if r[2] else 0))
    elif search.sort == "name" and distances is not None:
        rows.sort(key=lambda r: r[0].name)
    return PricedSummaries(rows, search)


def interval_quote(lot, search):
    """The Quote of a standard car's stay over the searched interval; None when closed."""
    try:
        hours.check_stay(lot, search.starts_at, search.ends_at, park_now=False)
    except DomainError:
        return None
    stay = Stay(
        lot,
        search.starts_at,
        search.ends_at,
        spot_kind=SpotKind.STANDARD,
        vehicle_type=VehicleType.CAR,
    )
    return quote(stay)


class PricedSummaries(Summaries):
    """Summaries of priced lots: each carries its quote; spots are counted only for the
    items taken (a page)."""

    def __init__(self, rows, search):
        distances = [r[1] for r in rows] if search.where.near is not None else None
        super().__init__(
            [r[0] for r in rows], distances, search.starts_at, search.ends_at, search.kind
        )
        self.quotes = [r[2] for r in rows]

    def _summaries(self, positions):
        found = super()._summaries(positions)
        for i, summary in zip(positions, found, strict=True):
            summary.quote = self.quotes[i]
        return found

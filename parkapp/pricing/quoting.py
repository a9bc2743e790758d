"""The one pricing function: what a stay costs, itemised, in integer cents.

`quote` prices the time from the lot's rate table (the rules are in
`parkapp.pricing.rate_table`), then applies, each as its own line: the demand adjustment,
the membership's included hours and percent, a promo code, and a merchant's validation.
The total is never below zero.
"""

from dataclasses import dataclass
from datetime import UTC, timedelta

from parkapp.core.money import money
from parkapp.models.billing import DiscountKind
from parkapp.models.merchants import GiveKind
from parkapp.pricing.quotes import Quote, QuoteLine
from parkapp.pricing.rate_table import RateTable, span_words

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Stay:
    """What is priced: a stay at a lot over `[starts_at, ends_at)` and what applies to it.

    `ends_at=None` is an open-ended stay. `spot_kind` and `vehicle_type` pick the rate rows;
    `discount` is a Discount the caller has checked may be used; `demand` a DemandAdjustment;
    `membership` the MembershipTerms of a covering membership; `validation` the
    ValidationTerms of a merchant's validation of the stay.
    """

    lot: object
    starts_at: object
    ends_at: object = None
    spot_kind: object = None
    vehicle_type: object = None
    discount: object = None
    demand: object = None
    membership: object = None
    validation: object = None


@dataclass(frozen=True)
class ValidationTerms:
    """What a merchant's validation takes off a stay: the full fee, the fee of its first
    `value` hours, or `value` cents; never more than `limit_cents` (None: no limit)."""

    merchant_name: str
    kind: GiveKind
    value: int = 0
    limit_cents: int | None = None


@dataclass(frozen=True)
class MembershipTerms:
    """What a driver's membership takes off a stay: included minutes left, then a percent."""

    name: str
    included_minutes: int  # left in the membership period the stay starts in
    discount_percent: int


def quote(stay):
    """Price a Stay by its lot's rate table, then its demand, membership and discount lines.

    See `parkapp.pricing.rate_table` for the rules of the time charge. An open-ended stay
    quotes the first unit and is marked open-ended. The demand adjustment adds its own line
    right after the time lines (see `demand_cents`); the membership then frees its included
    hours and takes its percent off the rest; a discount (percent, fixed or free hours) last.
    """
    lot, discount, demand, membership = stay.lot, stay.discount, stay.demand, stay.membership
    starts_at, ends_at = stay.starts_at, stay.ends_at
    table = RateTable(lot, stay.spot_kind, stay.vehicle_type)
    # In UTC: two times in one ZoneInfo would subtract as wall-clock times across DST.
    starts_at = starts_at.astimezone(UTC)
    ends_at = ends_at.astimezone(UTC) if ends_at is not None else None
    open_ended = ends_at is None
    duration = table.first_unit(starts_at) if open_ended else ends_at - starts_at
    if duration <= timedelta(0):
        return Quote(lot.currency, (), open_ended)
    grace = table.grace_at(starts_at)
    if not open_ended and duration <= timedelta(minutes=grace):
        return Quote(lot.currency, (QuoteLine(f"Within the {grace}-minute grace period", 0),))
    lines = table.lines(starts_at, duration)
    if demand is not None:
        lines += demand_lines(lot, demand, lines, duration)
    if membership is not None:
        lines += membership_lines(membership, table, starts_at, duration, lines, demand)
    if discount is not None:
        subtotal = sum(line.amount_cents for line in lines)
        first_hours = None
        if discount.kind == DiscountKind.FREE_HOURS:
            free = min(duration, discount.value * HOUR)
            first_hours = sum(ln.amount_cents for ln in table.lines(starts_at, free))
            first_hours += demand_cents(lot, demand, first_hours, free)
        lines.append(discount_line(discount, subtotal, first_hours))
    if stay.validation is not None:
        lines += validation_lines(stay.validation, table, starts_at, duration, lines, demand)
    return Quote(lot.currency, tuple(lines), open_ended)


def validation_lines(terms, table, starts_at, duration, lines, demand=None):
    """A validation's negative line, last: never more than what the lines so far come to
    (nor than its limit); [] when it takes nothing off."""
    subtotal = sum(line.amount_cents for line in lines)
    if terms.kind == GiveKind.FULL_FEE:
        off = subtotal
    elif terms.kind == GiveKind.FREE_HOURS:
        free = min(duration, terms.value * HOUR)
        off = (
            sum(ln.amount_cents for ln in table.lines(starts_at, free))
            if free > timedelta(0)
            else 0
        )
        off += demand_cents(table.lot, demand, off, free)
    else:
        off = terms.value
    if terms.limit_cents is not None:
        off = min(off, terms.limit_cents)
    off = max(0, min(subtotal, off))
    if off == 0:
        return []
    return [QuoteLine(f"Validated by {terms.merchant_name}", -off)]


def membership_lines(terms, table, starts_at, duration, lines, demand=None):
    """A membership's negative lines: the price of its included hours of this stay, then its
    percent off what is left; together never more than the lines so far."""
    subtotal = sum(line.amount_cents for line in lines)
    result = []
    included = min(duration, max(0, terms.included_minutes) * MINUTE)
    if included > timedelta(0) and subtotal > 0:
        first = sum(line.amount_cents for line in table.lines(starts_at, included))
        first += demand_cents(table.lot, demand, first, included)
        off = min(subtotal, first)
        label = f"Membership {terms.name}: {span_words(-(-included // MINUTE))} included"
        result.append(QuoteLine(label, -off))
        subtotal -= off
    if terms.discount_percent and subtotal > 0:
        off = min(subtotal, (subtotal * terms.discount_percent + 50) // 100)
        result.append(QuoteLine(f"Membership {terms.name}: {terms.discount_percent}% off", -off))
    return result


def discount_line(discount, subtotal, first_hours_cents=None):
    """The negative line a discount takes off `subtotal`, never more than the subtotal."""
    if discount.kind == DiscountKind.PERCENT:
        off = (subtotal * discount.value + 50) // 100  # round half up, in whole cents
        label = f"Code {discount.code}: {discount.value}% off"
    elif discount.kind == DiscountKind.FIXED:
        off = discount.value
        label = f"Code {discount.code}: {money(discount.value, '').strip()} off"
    else:
        off = first_hours_cents or 0
        label = f"Code {discount.code}: first {discount.value} h free"
    return QuoteLine(label, -min(subtotal, off))


@dataclass(frozen=True)
class DemandAdjustment:
    """A demand step applied to a stay: `percent` on its time charge, set when the lot was
    `occupancy_percent` full (None: not known)."""

    percent: int
    occupancy_percent: int | None = None


def demand_cents(lot, demand, time_cents, duration):
    """What a demand adjustment adds to (negative: takes off) a time charge of `time_cents`.

    The percent applies to the whole time charge (rate table, flats and daily caps alike),
    rounded half up to a cent. The lot's demand floor and ceiling bound the effective hourly
    rate: with H the started hours of the stay, a rise never lifts the charge above
    ceiling x H and a cut never lowers it below floor x H; a charge already past that bound
    is left as it is (the adjustment never moves a price the other way). Each bound is
    monotone in the stay, so a longer stay never costs less.
    """
    if demand is None or not demand.percent or time_cents <= 0:
        return 0
    hours = -(-duration // HOUR)
    adjusted = (time_cents * (100 + demand.percent) + 50) // 100
    if demand.percent > 0 and getattr(lot, "demand_ceiling_cents", None) is not None:
        adjusted = min(adjusted, max(time_cents, lot.demand_ceiling_cents * hours))
    elif demand.percent < 0 and getattr(lot, "demand_floor_cents", None) is not None:
        adjusted = max(adjusted, min(time_cents, lot.demand_floor_cents * hours))
    return adjusted - time_cents


def demand_lines(lot, demand, time_lines, duration):
    """The demand line for a stay's time lines: [] when it changes nothing."""
    time_cents = sum(line.amount_cents for line in time_lines)
    cents = demand_cents(lot, demand, time_cents, duration)
    if not cents:
        return []
    label = f"Demand {demand.percent:+d}%"
    if demand.occupancy_percent is not None:
        label += f" (lot {demand.occupancy_percent}% full)"
    exact = (time_cents * (100 + demand.percent) + 50) // 100 - time_cents
    if cents != exact:
        bound = "ceiling" if demand.percent > 0 else "floor"
        amount = lot.demand_ceiling_cents if demand.percent > 0 else lot.demand_floor_cents
        label += f", held to the {bound} of {money(amount, lot.currency)}/h"
    return [QuoteLine(label, cents)]

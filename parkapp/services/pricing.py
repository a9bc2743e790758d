"""The one pricing function: what a stay costs, itemised, in integer cents."""

import math
from dataclasses import dataclass, field
from datetime import timedelta

from parkapp.models.discounts import DiscountKind

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class QuoteLine:
    """One item of a quote: a label and an amount in cents (negative for reductions)."""

    label: str
    amount_cents: int


@dataclass(frozen=True)
class Quote:
    """An itemised price for a stay."""

    currency: str
    lines: tuple[QuoteLine, ...] = field(default_factory=tuple)
    open_ended: bool = False

    @property
    def total_cents(self):
        return max(0, sum(line.amount_cents for line in self.lines))

    def as_dict(self):
        return {
            "currency": self.currency,
            "total_cents": self.total_cents,
            "open_ended": self.open_ended,
            "lines": [{"label": ln.label, "amount_cents": ln.amount_cents} for ln in self.lines],
        }


def money(cents, currency):
    """Format cents for people: 1250, "USD" -> "12.50 USD"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d} {currency}"


def quote(lot, spot_kind, vehicle_type, starts_at, ends_at, discount=None):
    """Price a stay at `lot` over `[starts_at, ends_at)`, less an optional discount.

    Hourly rate per started hour, capped per day at the daily maximum; a stay no longer
    than the grace period is free. `ends_at=None` (an open-ended stay) quotes the first
    hour and is marked open-ended. `spot_kind` and `vehicle_type` select rates once lots
    carry rate tables; today every kind pays the lot's rate. `discount` is a Discount
    (percent, fixed or free hours); the caller has checked that it may be used.
    """
    open_ended = ends_at is None
    duration = HOUR if open_ended else ends_at - starts_at
    if duration <= timedelta(0):
        return Quote(lot.currency, (), open_ended)
    grace = timedelta(minutes=lot.grace_minutes or 0)
    if not open_ended and duration <= grace:
        return Quote(
            lot.currency, (QuoteLine(f"Within the {lot.grace_minutes}-minute grace period", 0),)
        )
    lines = _time_lines(lot, spot_kind, vehicle_type, starts_at, duration)
    if discount is not None:
        subtotal = sum(line.amount_cents for line in lines)
        first_hours = None
        if discount.kind == DiscountKind.FREE_HOURS:
            free = min(duration, discount.value * HOUR)
            first_hours = sum(
                ln.amount_cents for ln in _time_lines(lot, spot_kind, vehicle_type, starts_at, free)
            )
        lines.append(discount_line(discount, subtotal, first_hours))
    return Quote(lot.currency, tuple(lines), open_ended)


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


def _time_lines(lot, spot_kind, vehicle_type, starts_at, duration):
    """Lines for whole days at the daily maximum, then started hours capped per day."""
    del spot_kind, vehicle_type, starts_at  # one rate per lot for now
    rate, cap = lot.hourly_rate_cents, lot.daily_max_cents
    if cap is None:
        hours = math.ceil(duration / HOUR)
        return [QuoteLine(f"{hours} h at {money(rate, lot.currency)}/h", hours * rate)]
    days, rest = divmod(duration, DAY)
    lines = []
    if days:
        lines.append(QuoteLine(f"{days} day(s) at the daily maximum", days * cap))
    if rest:
        hours = math.ceil(rest / HOUR)
        if hours * rate > cap:
            lines.append(QuoteLine(f"{hours} h, capped at the daily maximum", cap))
        else:
            lines.append(QuoteLine(f"{hours} h at {money(rate, lot.currency)}/h", hours * rate))
    return lines

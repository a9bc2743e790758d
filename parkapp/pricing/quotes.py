"""Quotes: itemised prices in integer cents."""

from dataclasses import dataclass, field


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

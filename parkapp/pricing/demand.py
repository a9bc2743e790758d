"""Demand pricing: how full a lot is, which step applies, and the admin's settings.

A lot with demand pricing on moves its hourly rate by the step its occupancy matches:
an "above T" step applies at T% full or more (the highest such T wins), a "below T" step
under T% full (the lowest such T wins). Occupancy is the share of the lot's spots in
service that a holding booking covers at the instant, in whole percent rounded down.
Every "above" threshold must lie over every "below" one, so at most one side matches.
The floor and ceiling bound the adjusted hourly rate: a step that would take the lot's
hourly rate past either is refused, and `pricing.demand_cents` clamps every quote.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from parkapp.core.exceptions import Invalid
from parkapp.core.money import money
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.lots import availability
from parkapp.models import DemandDirection, DemandStep, Lot, Spot, SpotStatus, utcnow
from parkapp.models.pricing import MAX_ADJUST, MIN_ADJUST
from parkapp.pricing import quoting as pricing
from parkapp.pricing.quoting import HOUR, DemandAdjustment

MAX_BOUND = 10_000_000  # cents, as rates.MAX_AMOUNT
MAX_STEPS = 20
INSTANT = timedelta(microseconds=1)  # occupancy at an instant: the stays covering [at, at+1µs)


@dataclass(frozen=True)
class StepInput:
    direction: str
    threshold_percent: int
    adjust_percent: int


@dataclass(frozen=True)
class Settings:
    """A lot's demand settings as the admin gives them (bounds in cents, None: no bound)."""

    enabled: bool
    floor_cents: int | None
    ceiling_cents: int | None
    steps: tuple[StepInput, ...] = ()


# -- occupancy and the step in force --------------------------------------------------------


def occupancy(lot, at):
    """(occupied, in service): the lot's active spots, and how many a booking covers at `at`."""
    in_service = db.session.scalar(
        select(func.count(Spot.id)).where(Spot.lot_id == lot.id, Spot.status == SpotStatus.ACTIVE)
    )
    free = availability.available_by_lot([lot.id], at, at + INSTANT).get(lot.id, 0)
    return in_service - free, in_service


def occupancy_percent(lot, at):
    """How full the lot is at `at`, in whole percent rounded down (0 for a lot without spots)."""
    occupied, in_service = occupancy(lot, at)
    return occupied * 100 // in_service if in_service else 0


def step_for(steps, percent):
    """The step that applies at `percent` full, or None."""
    above = [
        s for s in steps if s.direction == DemandDirection.ABOVE and percent >= s.threshold_percent
    ]
    if above:
        return max(above, key=lambda s: s.threshold_percent)
    below = [
        s for s in steps if s.direction == DemandDirection.BELOW and percent < s.threshold_percent
    ]
    return min(below, key=lambda s: s.threshold_percent) if below else None


def adjustment(lot, at):
    """The DemandAdjustment for a stay starting at `at`, by occupancy known now; None if none."""
    if not lot.demand_enabled or not lot.demand_steps:
        return None
    percent = occupancy_percent(lot, at)
    step = step_for(lot.demand_steps, percent)
    if step is None:
        return None
    return DemandAdjustment(step.adjust_percent, percent)


@dataclass(frozen=True)
class Status:
    """A lot's demand pricing now: how full it is and what that does to its hourly rate."""

    occupied: int
    in_service: int
    occupancy_percent: int
    adjustment: DemandAdjustment | None
    hourly_rate_cents: int
    adjusted_hourly_rate_cents: int


def status(lot, at=None):
    """The lot's occupancy at `at` (default now) and the adjustment a stay starting then gets."""
    at = at or utcnow()
    occupied, in_service = occupancy(lot, at)
    percent = occupied * 100 // in_service if in_service else 0
    step = step_for(lot.demand_steps, percent) if lot.demand_enabled else None
    adjust = DemandAdjustment(step.adjust_percent, percent) if step else None
    base = lot.hourly_rate_cents
    return Status(
        occupied,
        in_service,
        percent,
        adjust,
        base,
        base + pricing.demand_cents(lot, adjust, base, HOUR),
    )


# -- settings -----------------------------------------------------------------------------


def validate(lot, settings):
    """Check settings against the lot's hourly rate; Invalid naming every bad field."""
    errors = {}

    def bad(field, problem):
        errors.setdefault(field, []).append(problem)

    for name in ("floor_cents", "ceiling_cents"):
        value = getattr(settings, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BOUND
        ):
            bad(name, f"Give a whole number of cents from 0 to {MAX_BOUND}, or null.")
    floor, ceiling = settings.floor_cents, settings.ceiling_cents
    if not errors and floor is not None and ceiling is not None and floor > ceiling:
        bad("ceiling_cents", "The ceiling must not be below the floor.")
    if len(settings.steps) > MAX_STEPS:
        bad("steps", f"Give at most {MAX_STEPS} steps.")
    seen = set()
    for i, step in enumerate(settings.steps):
        _check_step(lot, step, f"steps.{i}", bad, floor if not errors else None, ceiling)
        key = (step.direction, step.threshold_percent)
        if key in seen:
            bad(f"steps.{i}.threshold_percent", "Another step has this direction and threshold.")
        seen.add(key)
    _check_order(settings.steps, bad)
    if errors:
        first = next(iter(errors))
        exc = Invalid(first, errors[first][0], f"{first}: {errors[first][0]}")
        exc.errors = errors
        raise exc


def _check_step(lot, step, where, bad, floor, ceiling):
    if step.direction not in [d.value for d in DemandDirection]:
        bad(f"{where}.direction", "Give above or below.")
    if not _whole(step.threshold_percent, 0, 100):
        bad(f"{where}.threshold_percent", "Give a whole percent from 0 to 100.")
    if not _whole(step.adjust_percent, MIN_ADJUST, MAX_ADJUST) or step.adjust_percent == 0:
        bad(
            f"{where}.adjust_percent",
            f"Give a whole, non-zero percent from {MIN_ADJUST} to +{MAX_ADJUST}.",
        )
        return
    base, currency = lot.hourly_rate_cents, lot.currency
    adjusted = base * (100 + step.adjust_percent)  # in hundredths of a cent: exact
    shown = money((adjusted + 50) // 100, currency)
    if ceiling is not None and adjusted > ceiling * 100:
        bad(
            f"{where}.adjust_percent",
            f"{step.adjust_percent:+d}% makes the hourly rate {shown}, "
            f"above the ceiling of {money(ceiling, currency)}.",
        )
    if floor is not None and adjusted < floor * 100:
        bad(
            f"{where}.adjust_percent",
            f"{step.adjust_percent:+d}% makes the hourly rate {shown}, "
            f"below the floor of {money(floor, currency)}.",
        )


def _check_order(steps, bad):
    above = [s.threshold_percent for s in steps if s.direction == DemandDirection.ABOVE]
    below = [s.threshold_percent for s in steps if s.direction == DemandDirection.BELOW]
    above = [t for t in above if _whole(t, 0, 100)]
    below = [t for t in below if _whole(t, 0, 100)]
    if above and below and min(above) <= max(below):
        bad(
            "steps",
            f"Every 'above' threshold must be higher than every 'below' one "
            f"(above {min(above)}% is not over below {max(below)}%).",
        )


def _whole(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def replace_settings(lot, settings):
    """Set a lot's demand settings and replace its steps at once; nothing changes on error."""
    with write_transaction() as session:
        locked = session.scalar(select(Lot).where(Lot.id == lot.id).with_for_update())
        validate(locked, settings)
        session.execute(delete(DemandStep).where(DemandStep.lot_id == locked.id))
        locked.demand_enabled = bool(settings.enabled)
        locked.demand_floor_cents = settings.floor_cents
        locked.demand_ceiling_cents = settings.ceiling_cents
        for step in settings.steps:
            session.add(
                DemandStep(
                    lot_id=locked.id,
                    direction=DemandDirection(step.direction),
                    threshold_percent=step.threshold_percent,
                    adjust_percent=step.adjust_percent,
                )
            )
    db.session.expire(lot, ["demand_steps"])
    return lot


def ordered(steps):
    """Steps as people read them: "below" ones, then "above" ones, by threshold."""
    return sorted(steps, key=lambda s: (s.direction != DemandDirection.BELOW, s.threshold_percent))


def describe(step):
    """A step in words: "+25% at 85% full or more", "-25% under 40% full"."""
    if step.direction == DemandDirection.ABOVE:
        return f"{step.adjust_percent:+d}% at {step.threshold_percent}% full or more"
    return f"{step.adjust_percent:+d}% under {step.threshold_percent}% full"

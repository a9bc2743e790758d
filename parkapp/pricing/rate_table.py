"""The rate-table walk: what the time of a stay costs at a lot.

A lot prices a stay from its rate table (`Rate` rows), falling back to its own hourly
rate (per started 60 minutes), daily maximum and grace period when no row is in force.

- Candidates: the lot's active rows whose `spot_kind` and `vehicle_type` are NULL or equal
  to the stay's.
- A row is in force at an instant when, in the lot's local time, its time window (if any)
  contains the local time, `[band_starts, band_ends)`, wrapping midnight when band_ends <=
  band_starts, and the local date of that band occurrence has its weekday bit set and lies
  within `effective_from..effective_until` (inclusive, NULL open). The occurrence's date is
  the day it began: the 00:00-06:00 part of a Friday 18:00-06:00 band is Friday's, so a
  "Mon-Fri nights" row covers Friday night until Saturday 06:00 and not Monday's early
  hours. Rows without a time window are judged on each local date.
- A row "has a band" when it has a time window or does not run every weekday. The rate in
  force at t: banded rows beat base rows; then the more specific (spot_kind set and
  vehicle_type set count one each); then the newest (highest id); else the lot default.
- Walk from the start, t = starts_at, while t < ends_at, with the rate in force at t:
  HOURLY charges `amount_cents` for one unit of `unit_minutes` from t, t += unit (units
  are real time: an hour across a DST change is 60 minutes). FLAT with a band charges once
  and jumps t to the end of that band occurrence (a weekday-only band's occurrence is the
  local day). FLAT without a band charges once per 24-hour window of the stay and jumps
  to the end of that window.
- Daily maximum: the stay is cut into 24-hour windows from starts_at; what the units and
  flats starting in a window cost is capped at the daily maximum of the base (unbanded)
  row in force at the window's start (its NULL, or no such row: the lot's; NULL: no cap).
- Grace: a stay no longer than the grace minutes of the rate in force at its start (NULL:
  the lot's) is free. An open-ended stay (no end) quotes its first unit (or flat).
- Lines group the charges per rate, then one line per group of capped days; they add up
  exactly to the total before the discount, which is never below zero.

The walk does not step unit by unit: the rate in force can only change at a local band
boundary, a local midnight or a DST transition, so it prices whole runs of units between
those instants at once (a 30-day stay in 15-minute units takes about a millisecond).
"""

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from parkapp.core.money import money
from parkapp.core.timezones import lot_zone
from parkapp.models.pricing import ALL_WEEKDAYS, RateKind
from parkapp.pricing.quotes import QuoteLine

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)
TRANSITION_SCAN = timedelta(hours=6)
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DASH, TIMES = "\u2013", "\u00d7"  # en dash and multiplication sign, for labels

# -- words --------------------------------------------------------------------------------


def weekday_words(mask):
    """A weekday bitmask in words: "every day", "Mon-Fri", "Sat, Sun", "Mon, Wed-Fri"."""
    if mask & ALL_WEEKDAYS == ALL_WEEKDAYS:
        return "every day"
    runs, day = [], 0
    while day < 7:
        if mask >> day & 1:
            last = day
            while last + 1 < 7 and mask >> (last + 1) & 1:
                last += 1
            runs.append((day, last))
            day = last
        day += 1
    return ", ".join(
        WEEKDAY_NAMES[a]
        if a == b
        else f"{WEEKDAY_NAMES[a]}{DASH if b > a + 1 else ', '}{WEEKDAY_NAMES[b]}"
        for a, b in runs
    )


def band_words(weekdays, starts, ends):
    """When a band applies, in words ("Mon-Fri 18:00-06:00", "Sat, Sun", "every day")."""
    days = weekday_words(weekdays)
    if starts is None or ends is None:
        return days
    clock = f"{starts.strftime('%H:%M')}{DASH}{ends.strftime('%H:%M')}"
    return clock if days == "every day" else f"{days} {clock}"


def span_words(minutes):
    """A unit length in words: 15 -> "15 min", 60 -> "1 h", 90 -> "1 h 30 min"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


# -- the rate table -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Row:
    """A rate row as the walk sees it; the lot's default rate is one without a name."""

    name: str | None
    kind: RateKind
    amount: int
    unit: timedelta
    daily_max: int | None
    grace: int | None
    weekdays: int = ALL_WEEKDAYS
    starts: time | None = None  # local time window, both set or both None
    ends: time | None = None
    effective_from: date | None = None
    effective_until: date | None = None
    rank: tuple = ()

    @property
    def banded(self):
        return self.weekdays != ALL_WEEKDAYS or self.starts is not None

    def occurrence(self, local):
        """The local date the band occurrence covering `local` began, or None."""
        day, clock = local.date(), local.time()
        if self.starts is None:
            return day
        if self.starts < self.ends:
            return day if self.starts <= clock < self.ends else None
        if clock >= self.starts:
            return day
        return day - DAY if clock < self.ends else None

    def in_force(self, local):
        day = self.occurrence(local)
        return (
            day is not None
            and self.weekdays >> day.weekday() & 1
            and (self.effective_from is None or self.effective_from <= day)
            and (self.effective_until is None or day <= self.effective_until)
        )


@dataclass(frozen=True)
class _Charge:
    window: int  # which 24-hour window of the stay the charge starts in
    row: _Row
    count: int
    cents: int


def _build(lot, spot_kind, vehicle_type):
    """(zone, rows best first, base rows, the lot default, local band clocks)."""
    rows = [
        _row(rate)
        for rate in getattr(lot, "rates", None) or ()
        if rate.is_active
        and (rate.spot_kind is None or rate.spot_kind == spot_kind)
        and (rate.vehicle_type is None or rate.vehicle_type == vehicle_type)
    ]
    rows = sorted(rows, key=lambda row: row.rank, reverse=True)
    default = _Row(None, RateKind.HOURLY, lot.hourly_rate_cents, HOUR, lot.daily_max_cents, None)
    clocks = {time(0)} if rows else set()
    for row in rows:
        if row.starts is not None:
            clocks |= {row.starts, row.ends}
    bases = [row for row in rows if not row.banded]
    return lot_zone(lot), rows, bases, default, sorted(clocks)


def _row(rate):
    has_window = rate.band_starts is not None and rate.band_ends is not None
    specificity = (rate.spot_kind is not None) + (rate.vehicle_type is not None)
    return _Row(
        name=rate.name,
        kind=RateKind(rate.kind),
        amount=rate.amount_cents,
        unit=(rate.unit_minutes or 60) * MINUTE,
        daily_max=rate.daily_max_cents,
        grace=rate.grace_minutes,
        weekdays=rate.weekdays if rate.weekdays is not None else ALL_WEEKDAYS,
        starts=rate.band_starts if has_window else None,
        ends=rate.band_ends if has_window else None,
        effective_from=rate.effective_from,
        effective_until=rate.effective_until,
        rank=(
            rate.weekdays not in (None, ALL_WEEKDAYS) or has_window,
            specificity,
            rate.id or 0,
        ),
    )


# Built tables by everything they are built from, so a lot's table is built once per
# process and a change to the lot or any of its rows (edit, new row, deactivation) gives a
# new key: nothing to invalidate, and a stale table is never used.
_BUILT = {}
MAX_BUILT = 512
RATE_FIELDS = (
    "id",
    "name",
    "kind",
    "amount_cents",
    "unit_minutes",
    "daily_max_cents",
    "grace_minutes",
    "spot_kind",
    "vehicle_type",
    "weekdays",
    "band_starts",
    "band_ends",
    "effective_from",
    "effective_until",
    "is_active",
)


def _table_key(lot, spot_kind, vehicle_type):
    rates = getattr(lot, "rates", None) or ()
    return (
        getattr(lot, "timezone", None),
        lot.hourly_rate_cents,
        lot.daily_max_cents,
        spot_kind,
        vehicle_type,
        tuple(tuple(getattr(rate, name) for name in RATE_FIELDS) for rate in rates),
    )


class RateTable:
    """The rows of a lot's rate table that apply to one spot kind and vehicle type."""

    def __init__(self, lot, spot_kind, vehicle_type):
        self.lot = lot
        key = _table_key(lot, spot_kind, vehicle_type)
        built = _BUILT.get(key)
        if built is None:
            built = _build(lot, spot_kind, vehicle_type)
            if len(_BUILT) >= MAX_BUILT:
                _BUILT.clear()
            _BUILT[key] = built
        self.zone, self.rows, self.bases, self.default, self.clocks = built

    # -- what is in force ---------------------------------------------------------------

    def rate_at(self, instant):
        """The row in force at an aware instant (the lot default when none is)."""
        local = instant.astimezone(self.zone)
        return next((row for row in self.rows if row.in_force(local)), self.default)

    def cap_at(self, instant):
        """The daily maximum of the base row in force at `instant` (None: no cap)."""
        local = instant.astimezone(self.zone)
        base = next((row for row in self.bases if row.in_force(local)), self.default)
        return base.daily_max if base.daily_max is not None else self.lot.daily_max_cents

    def grace_at(self, instant):
        """The grace minutes of the rate in force at `instant`."""
        row = self.rate_at(instant)
        return row.grace if row.grace is not None else (self.lot.grace_minutes or 0)

    def first_unit(self, instant):
        """How long an open-ended stay is quoted for: the first unit of the rate at start."""
        row = self.rate_at(instant)
        return row.unit if row.kind == RateKind.HOURLY else TICK

    # -- the walk -------------------------------------------------------------------------

    def lines(self, starts_at, duration):
        """The itemised charges of `duration` from `starts_at` (no grace, no discount)."""
        start = starts_at.astimezone(UTC)
        if duration <= timedelta(0):
            return []
        return self._lines(start, self.walk(start, start + duration))

    def walk(self, start, end):
        """The charges the units and flats starting in `[start, end)` make, in time order."""
        points = self._breakpoints(start, end)
        charges, t, i = [], start, 0
        while t < end:
            row = self.rate_at(t)
            window = (t - start) // DAY
            i = bisect.bisect_right(points, t, i)
            if row.kind == RateKind.FLAT:
                charges.append(_Charge(window, row, 1, row.amount))
                if row.banded:
                    t = self._occurrence_end(row, t, points, i)
                else:
                    t = start + (window + 1) * DAY
                continue
            # The rate cannot change before the next breakpoint: price that run at once.
            upto = min(points[i], end) if i < len(points) else end
            whole, rest = divmod(upto - t, row.unit)
            count = whole + (1 if rest else 0)
            charges.append(_Charge(window, row, count, count * row.amount))
            t += count * row.unit
        return charges

    def _occurrence_end(self, row, t, points, i):
        began = row.occurrence(t.astimezone(self.zone))
        for point in points[i:]:
            if row.occurrence(point.astimezone(self.zone)) != began:
                return point
        return t + DAY  # not reached: the breakpoints run two days past the stay

    def _breakpoints(self, start, end):
        """Sorted instants after which the rate in force or the 24-hour window may change."""
        windows = -(-(end - start) // DAY)
        points = {start + n * DAY for n in range(1, windows + 1)}
        if self.clocks:
            points |= self._local_points(start - DAY, end + 2 * DAY)
        return sorted(points)

    def _local_points(self, start, stop):
        """Every instant from start to stop where the local clock shows a band boundary or
        midnight, and every UTC offset change (where local time jumps)."""
        zone, points = self.zone, set()
        edges = [start, *_transitions(zone, start, stop), stop]
        for low, high in pairwise(edges):
            points.add(low)
            offset = low.astimezone(zone).utcoffset()  # the same until `high`
            day, last = (low + offset).date(), (high + offset).date()
            while day <= last:
                for clock in self.clocks:
                    instant = (datetime.combine(day, clock) - offset).replace(tzinfo=UTC)
                    if low <= instant < high:
                        points.add(instant)
                day += DAY
        return points

    # -- lines ---------------------------------------------------------------------------

    def _lines(self, start, charges):
        spent = defaultdict(int)
        for charge in charges:
            spent[charge.window] += charge.cents
        caps = {window: self.cap_at(start + window * DAY) for window in spent}
        capped = {w for w, cents in spent.items() if caps[w] is not None and cents > caps[w]}
        groups, seen = {}, set()  # key -> [count, cents], in order of first charge
        for charge in charges:
            if charge.window in capped:
                if charge.window not in seen:
                    seen.add(charge.window)
                    group = groups.setdefault(("cap", caps[charge.window]), [0, 0])
                    group[0] += 1
                    group[1] += caps[charge.window]
                continue
            group = groups.setdefault(("rate", charge.row), [0, 0])
            group[0] += charge.count
            group[1] += charge.cents
        return [QuoteLine(self._label(key, count), cents) for key, (count, cents) in groups.items()]

    def _label(self, key, count):
        currency = self.lot.currency
        what, subject = key
        if what == "cap":
            days = "1 day" if count == 1 else f"{count} days"
            return f"{days} at the daily maximum ({money(subject, currency)} a day)"
        row, price = subject, money(subject.amount, currency)
        if row.kind == RateKind.FLAT:
            when = band_words(row.weekdays, row.starts, row.ends) if row.banded else "per day"
            times = f"{count} {TIMES} " if count > 1 else ""
            return f"{times}{row.name} flat at {price} ({when})"
        minutes = row.unit // MINUTE
        if minutes == 60:
            text = f"{count} h at {price}/h"
        else:
            text = f"{count} {TIMES} {span_words(minutes)} at {price}"
        return f"{text} ({row.name})" if row.name else text


def _transitions(zone, start, stop):
    """The instants in (start, stop) at which the zone's UTC offset changes."""
    found, at, offset = [], start, start.astimezone(zone).utcoffset()
    while at < stop:
        step = min(at + TRANSITION_SCAN, stop)  # zones never change offset twice in 6 hours
        if step.astimezone(zone).utcoffset() != offset:
            low, high = at, step
            while high - low > TICK:
                middle = low + (high - low) // 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append(high)
            offset = high.astimezone(zone).utcoffset()
        at = step
    return found

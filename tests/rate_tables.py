"""Rate tables without the database, for the pricing tests: rows, a lot with a rate table,
a reference model of the pricing rules, and hypothesis strategies that build tables."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from parkapp.models import ALL_WEEKDAYS, DiscountKind
from parkapp.pricing import quoting

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def quote(lot, spot_kind, vehicle_type, starts_at, ends_at, discount=None, **applies):
    """`quoting.quote` for the tests' positional tables of stays (demand, membership by name)."""
    stay = quoting.Stay(lot, starts_at, ends_at, spot_kind, vehicle_type, discount, **applies)
    return quoting.quote(stay)


@dataclass
class Row:
    """A Rate row without the database."""

    id: int
    name: str = "Rate"
    kind: str = "hourly"
    amount_cents: int = 200
    unit_minutes: int = 60
    daily_max_cents: int | None = None
    grace_minutes: int | None = None
    spot_kind: str | None = None
    vehicle_type: str | None = None
    weekdays: int = ALL_WEEKDAYS
    band_starts: time | None = None
    band_ends: time | None = None
    effective_from: date | None = None
    effective_until: date | None = None
    is_active: bool = True


@dataclass
class Table:
    """A lot's own rate, its rate table and its time zone."""

    hourly_rate_cents: int = 200
    daily_max_cents: int | None = 1500
    grace_minutes: int = 10
    currency: str = "GBP"
    rates: list = field(default_factory=list)
    timezone: str = "Europe/London"


@dataclass
class Code:
    """A Discount without the database."""

    kind: DiscountKind
    value: int
    code: str = "TEST"


class Reference:
    """The pricing module docstring's rules, unit by unit and minute by minute, no shortcuts."""

    def __init__(self, lot, spot_kind, vehicle_type):
        self.lot, self.zone = lot, ZoneInfo(lot.timezone)
        self.rows = [
            r
            for r in lot.rates
            if r.is_active
            and r.spot_kind in (None, spot_kind)
            and r.vehicle_type in (None, vehicle_type)
        ]

    @staticmethod
    def banded(r):
        return r.weekdays != ALL_WEEKDAYS or r.band_starts is not None

    def began(self, r, t):
        """The local date the band occurrence covering t began, or None."""
        local = t.astimezone(self.zone)
        day, now, s, e = local.date(), local.time(), r.band_starts, r.band_ends
        if s is None:
            return day
        if s < e:
            return day if s <= now < e else None
        if now >= s:
            return day
        return day - timedelta(days=1) if now < e else None

    def in_force(self, r, t):
        day = self.began(r, t)
        return (
            day is not None
            and r.weekdays >> day.weekday() & 1
            and (r.effective_from is None or r.effective_from <= day)
            and (r.effective_until is None or day <= r.effective_until)
        )

    def best(self, t, bases_only=False):
        live = [r for r in self.rows if self.in_force(r, t) and not (bases_only and self.banded(r))]
        return max(
            live,
            key=lambda r: (
                self.banded(r),
                (r.spot_kind is not None) + (r.vehicle_type is not None),
                r.id,
            ),
            default=None,
        )

    def cap(self, t):
        base = self.best(t, bases_only=True)
        own = base.daily_max_cents if base else None
        return own if own is not None else self.lot.daily_max_cents

    def grace(self, t):
        first = self.best(t)
        own = first.grace_minutes if first else None
        return own if own is not None else self.lot.grace_minutes

    def windows(self, start, end):
        """{24-hour window: (charged before the cap, the cap)} of a stay, grace aside."""
        spent, t = defaultdict(int), start
        while t < end:
            r, w = self.best(t), (t - start) // DAY
            if r is None:
                spent[w] += self.lot.hourly_rate_cents
                t += HOUR
            elif r.kind == "hourly":
                spent[w] += r.amount_cents
                t += r.unit_minutes * MINUTE
            elif not self.banded(r):
                spent[w] += r.amount_cents
                t = start + (w + 1) * DAY
            else:
                spent[w] += r.amount_cents
                occurrence, t = self.began(r, t), t.replace(second=0, microsecond=0) + MINUTE
                while self.began(r, t) == occurrence:  # boundaries fall on whole minutes
                    t += MINUTE
        return {w: (cents, self.cap(start + w * DAY)) for w, cents in spent.items()}

    def total(self, start, end):
        if end - start <= timedelta(minutes=self.grace(start)):
            return 0
        windows = self.windows(start, end).values()
        return sum(c if cap is None else min(c, cap) for c, cap in windows)


# Stays start a day or two before one of the zone's DST changes (UTC and India have none).
NEAR = {
    "UTC": [date(2026, 3, 27)],
    "Asia/Kolkata": [date(2026, 10, 23)],
    "Europe/London": [date(2026, 3, 27), date(2026, 10, 23)],
    "America/New_York": [date(2026, 3, 6), date(2026, 10, 30)],
    "Australia/Lord_Howe": [date(2026, 4, 3), date(2026, 10, 2)],  # half-hour DST
    "America/Santiago": [date(2026, 4, 3), date(2026, 9, 4)],  # changes at midnight
}
quarter_hours = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
units = st.sampled_from([5, 15, 20, 30, 60, 90, 120, 1440]) | st.integers(10, 1440)


weekday_sets = st.sampled_from(
    [ALL_WEEKDAYS] * 4 + [0b0011111, 0b1100000, 0b0010000, 0b1010101]
) | st.integers(1, ALL_WEEKDAYS)
bands = st.tuples(quarter_hours, quarter_hours).filter(lambda band: band[0] != band[1])


@st.composite
def rate_rows(draw, n, near, capped=True):
    """One rate row: hourly or flat, maybe banded, capped, per kind, with effective dates."""
    band = draw(st.none() | bands)
    weekdays = draw(weekday_sets)
    base = band is None and weekdays == ALL_WEEKDAYS
    days = st.integers(-3, 6).map(lambda n: near + timedelta(days=n))
    first, last = draw(st.one_of(st.none(), st.none(), days)), draw(st.one_of(st.none(), days))
    if first and last and last < first:
        first, last = last, first
    return Row(
        id=n,
        kind=draw(st.sampled_from(["hourly", "hourly", "flat"])),
        amount_cents=draw(st.just(0) | st.integers(1, 2_000)),
        unit_minutes=draw(units),
        daily_max_cents=draw(st.none() | st.integers(0, 10_000)) if base and capped else None,
        grace_minutes=draw(st.none() | st.integers(0, 120)),
        spot_kind=draw(st.sampled_from([None, None, "ev"])),
        vehicle_type=draw(st.sampled_from([None, None, "motorcycle"])),
        weekdays=weekdays,
        band_starts=band[0] if band else None,
        band_ends=band[1] if band else None,
        effective_from=first,
        effective_until=last,
        is_active=draw(st.sampled_from([True] * 5 + [False])),
    )


@st.composite
def rate_tables(draw, zones=tuple(NEAR), hours=(0, 72), capped=True):
    """A lot in one of `zones` with up to six rates, and a start `hours` after a day or two
    before a DST change (`capped` False: no daily maximum, which would hide differences)."""
    zone = draw(st.sampled_from(zones))
    near = draw(st.sampled_from(NEAR[zone]))
    lot = Table(
        hourly_rate_cents=draw(st.integers(0, 1_000)),
        daily_max_cents=draw(st.none() | st.integers(0, 10_000)) if capped else None,
        grace_minutes=draw(st.integers(0, 120)),
        rates=[draw(rate_rows(n, near, capped)) for n in range(1, draw(st.integers(0, 6)) + 1)],
        timezone=zone,
    )
    seconds = draw(st.integers(hours[0] * 3600, hours[1] * 3600))
    return lot, datetime.combine(near, time(0), UTC) + seconds * SECOND


# Up to four days, to the second; often short, where grace periods and first units matter.
stays = (st.integers(1, 4 * 86_400) | st.integers(1, 4 * 3600)).map(lambda s: s * SECOND)
whom = st.tuples(
    st.sampled_from(["ev", "ev", None, "standard"]),
    st.sampled_from(["motorcycle", "motorcycle", None, "car"]),
)
codes = st.builds(Code, st.just(DiscountKind.PERCENT), st.integers(1, 100)) | st.builds(
    Code, st.sampled_from([DiscountKind.FIXED, DiscountKind.FREE_HOURS]), st.integers(1, 100_000)
).map(lambda c: Code(c.kind, c.value if c.kind == DiscountKind.FIXED else c.value % 72 + 1))


# Starts 12 to 54 hours after NEAR: the changes come 39 to 55 hours after it.
DST_ZONES = ("America/New_York", "America/Santiago", "Australia/Lord_Howe", "Europe/London")

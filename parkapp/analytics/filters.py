"""The analytics dashboard's filters (range, lot, day, span) and a chart's table and CSV."""

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from parkapp.core.csv import safe_cell
from parkapp.core.exceptions import Invalid, NotFound
from parkapp.core.inputs import check_day
from parkapp.core.timezones import zone as zone_named
from parkapp.extensions import db
from parkapp.models import Lot, utcnow

DEFAULT_DAYS = 30
MAX_DAYS = 366
SPANS = ("day", "week")


def day_bounds(zone, first, last):
    """[start, end) in UTC of the local days first..last in `zone` (a ZoneInfo)."""
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters: a range of days, an optional lot, the occupancy day and span."""

    first: date
    last: date
    lot: Lot | None = None
    day: date | None = None
    span: str = "day"

    @property
    def zone_name(self):
        return self.lot.timezone if self.lot else "UTC"

    def days(self):
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def query_args(self):
        """The filters as query-string arguments (for links)."""
        args = {"from": self.first.isoformat(), "to": self.last.isoformat(), "span": self.span}
        if self.lot:
            args["lot_id"] = self.lot.id
        if self.day:
            args["day"] = self.day.isoformat()
        return args


@dataclass
class Chart:
    """One chart's data as a table: what the page draws, the API returns and the CSV holds."""

    name: str
    title: str
    timezone: str
    columns: list
    rows: list
    summary: dict = field(default_factory=dict)
    note: str = ""

    def as_dict(self, filters):
        return {
            "chart": self.name,
            "title": self.title,
            "from": filters.first.isoformat(),
            "to": filters.last.isoformat(),
            "lot_id": filters.lot.id if filters.lot else None,
            "timezone": self.timezone,
            "note": self.note,
            "columns": self.columns,
            "rows": self.rows,
            "summary": self.summary,
        }


MAX_ID = 2**31 - 1


def _date(name, raw):
    try:
        value = date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise Invalid(name, "Give a date as YYYY-MM-DD.") from None
    return check_day(name, value)


def parse_filters(args, now=None):
    """Filters from query arguments (from, to, lot_id, day, span); 422 for bad values."""
    lot = None
    if args.get("lot_id") not in (None, ""):
        try:
            lot_id = int(args["lot_id"])
        except ValueError:
            raise Invalid("lot_id", "Must be a whole number.") from None
        if not 1 <= lot_id <= MAX_ID:
            raise Invalid("lot_id", f"Must be between 1 and {MAX_ID}.")
        lot = db.session.get(Lot, lot_id)
        if lot is None:
            raise NotFound("No such lot.")
    zone = zone_named(lot.timezone if lot else "UTC")
    today = (now or utcnow()).astimezone(zone).date()
    last = _date("to", args["to"]) if args.get("to") else today
    first = _date("from", args["from"]) if args.get("from") else last - timedelta(DEFAULT_DAYS - 1)
    if last < first:
        raise Invalid("to", "The range ends before it starts.")
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid("to", f"The range can span at most {MAX_DAYS} days.")
    day = _date("day", args["day"]) if args.get("day") else min(today, last)
    span = args.get("span") or "day"
    if span not in SPANS:
        raise Invalid("span", "Choose day or week.")
    return Filters(first, last, lot, day, span)


def csv_text(result):
    """The chart's table as CSV text, header first, formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if cell is None else safe_cell(cell) for cell in row])
    return out.getvalue()

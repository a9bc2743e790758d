"""Opening hours: open or closed at an instant, the next closing and opening, what to tell people.

Opening hours are local times in the lot's zone (NULL for both: open 24 hours). A lot whose
closing time is before its opening time is open across midnight (e.g. 18:00-02:00).
"""

from datetime import datetime, timedelta

from parkapp.core.exceptions import Invalid, WrongState
from parkapp.core.timezones import lot_zone

SOON = timedelta(minutes=60)  # "closing in 30 min" is shown this long before closing


class LotClosed(WrongState):
    """The lot is closed at the time asked for (409 for now, see `closed_at_start`)."""

    code = "lot_closed"


def is_open_at(lot, instant):
    """Whether the lot is open at an aware instant (opening hours are local times)."""
    if lot.opens_at is None or lot.closes_at is None:
        return True
    local = instant.astimezone(lot_zone(lot)).time()
    if lot.opens_at < lot.closes_at:
        return lot.opens_at <= local < lot.closes_at
    return local >= lot.opens_at or local < lot.closes_at  # open across midnight


def _next_local(lot, clock, after):
    """The first instant strictly after `after` when the lot's local clock shows `clock`."""
    zone = lot_zone(lot)
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(4):  # yesterday, today, tomorrow (and a spare day around DST changes)
        candidate = datetime.combine(day, clock, tzinfo=zone)
        if candidate > after:
            return candidate.astimezone(after.tzinfo)
        day += timedelta(days=1)
    return None  # unreachable: one of four consecutive days has the clock time after `after`


def next_closing(lot, after):
    """When the lot next closes after an instant (None: open 24 hours)."""
    if lot.opens_at is None or lot.closes_at is None:
        return None
    return _next_local(lot, lot.closes_at, after)


def next_opening(lot, after):
    """When the lot next opens after an instant (None: open 24 hours)."""
    if lot.opens_at is None or lot.closes_at is None:
        return None
    return _next_local(lot, lot.opens_at, after)


def check_stay(lot, starts_at, ends_at, park_now):
    """Refuse a stay that starts while the lot is closed, or runs past closing when the lot
    does not allow overnight stays; an open-ended stay leaves by the booth after closing."""
    if not is_open_at(lot, starts_at):
        opens = _clock(lot.opens_at)
        if park_now:
            raise LotClosed(
                f"{lot.name} is closed now; it opens at {opens}.",
                errors={"lot_id": [f"Closed now; opens at {opens}."]},
            )
        problem = f"{lot.name} is closed at that time (open {opening_hours_text(lot)})."
        raise _invalid("starts_at", problem)
    closing = next_closing(lot, starts_at)
    if (
        ends_at is not None
        and closing is not None
        and ends_at > closing
        and not lot.allow_overnight
    ):
        local = closing.astimezone(lot_zone(lot))
        raise _invalid(
            "ends_at",
            f"{lot.name} closes at {local:%H:%M} and does not allow overnight stays: "
            "end your stay by then.",
            code="crosses_closing",
        )


def _invalid(field, problem, code="lot_closed"):
    error = Invalid(field, problem, problem)
    error.code = code
    return error


def check_self_exit(lot, now):
    """A driver releasing their own stay after closing is told to leave through the booth."""
    if not is_open_at(lot, now):
        raise LotClosed(
            f"{lot.name} is closed now: the exit barrier opens only at the booth, where the "
            "operator lets you out and takes any fee due.",
            code="closed_use_booth",
        )


def opening_hours_text(lot):
    """'07:00-22:00' or '24 hours'."""
    if lot.opens_at is None or lot.closes_at is None:
        return "24 hours"
    return f"{_clock(lot.opens_at)}-{_clock(lot.closes_at)}"


def osm_opening_hours(lot):
    """The hours in OpenStreetMap's opening_hours syntax, as ParkAPI publishes them."""
    if lot.opens_at is None or lot.closes_at is None:
        return "24/7"
    return f"Mo-Su {_clock(lot.opens_at)}-{_clock(lot.closes_at)}"


def notice(lot, now):
    """What a driver should know right now: 'Closed · opens at 07:00', 'Closing in 30 min'."""
    if lot.opens_at is None or lot.closes_at is None:
        return None
    if not is_open_at(lot, now):
        return f"Closed · opens at {_clock(lot.opens_at)}"
    left = next_closing(lot, now) - now
    if left <= SOON:
        minutes = max(1, int(left.total_seconds() // 60))
        return f"Closing in {minutes} min"
    return None


def _clock(value):
    return value.strftime("%H:%M") if value is not None else None

"""Time zones: one resolver with one fallback, and local formatting of UTC instants.

Lots store an IANA name; an unknown or empty name falls back to UTC everywhere (pricing,
pages, exports, analytics), so one lot can never be priced in one zone and shown in another.
"""

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_ZONE = ZoneInfo("UTC")


@lru_cache(maxsize=256)
def zone(name):
    """The ZoneInfo for an IANA name; UTC for an empty or unknown one."""
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC_ZONE


def lot_zone(lot):
    """A lot's time zone (UTC without a lot)."""
    return zone(getattr(lot, "timezone", None))


def local_text(instant, zone_name, fmt="%Y-%m-%d %H:%M"):
    """An aware instant as text in the named zone ('' for None)."""
    if instant is None:
        return ""
    return instant.astimezone(zone(zone_name)).strftime(fmt)


def localtime(instant, lot, fmt="%a %d %b %Y, %H:%M"):
    """An aware instant in the lot's zone, for people ('—' for None)."""
    if instant is None:
        return "—"
    return instant.astimezone(lot_zone(lot)).strftime(fmt)

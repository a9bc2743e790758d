"""Jinja filters and helpers shared by every page."""

from parkapp.booking.lifecycle import check_in_open, check_in_opens_at
from parkapp.core.money import money
from parkapp.core.timezones import localtime
from parkapp.lots import hours
from parkapp.models import utcnow
from parkapp.pricing import rates


def cents(amount, currency):
    """Format integer cents with the currency ('—' for None)."""
    return "—" if amount is None else money(amount, currency)


def duration(delta):
    """A timedelta as '2 h 05 min' ('—' for None)."""
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if hours or days else [])
    return " ".join([*parts, f"{minutes:02d} min"])


def minutes_words(minutes):
    """30 -> '30 min', 60 -> '1 h', 90 -> '1 h 30 min'."""
    hours, rest = divmod(int(minutes), 60)
    parts = ([f"{hours} h"] if hours else []) + ([f"{rest} min"] if rest or not hours else [])
    return " ".join(parts)


def rate_terms(lot):
    """The lot's rates drivers see, as (name, plain words) pairs."""
    return [(rate.name, rates.describe(rate, lot.currency)) for rate in rates.published(lot)]


def hours_notice(lot):
    """'Closing in 30 min' or 'Closed · opens at 07:00' for the lot now, else None."""
    return hours.notice(lot, utcnow())


def register(app):
    """Install the filters."""
    app.add_template_filter(localtime)
    app.add_template_filter(cents)
    app.add_template_filter(duration)
    app.add_template_filter(rate_terms)
    app.add_template_global(check_in_open)
    app.add_template_global(check_in_opens_at)
    app.add_template_filter(minutes_words)
    app.add_template_filter(hours_notice)

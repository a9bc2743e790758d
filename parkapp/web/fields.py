"""Form helpers every page blueprint uses: local date-time fields read in a lot's zone, field errors."""

from datetime import UTC, datetime

from wtforms import (
    DateTimeLocalField,
)
from wtforms.validators import Optional

from parkapp.web.inputs import years_validator

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def local_field(label):
    """An optional datetime-local input that renders as the browser expects (no seconds)."""
    return DateTimeLocalField(label, format=LOCAL_FORMATS, validators=[Optional(), years_validator])


def to_utc(naive, zone):
    """Read a wall-clock time in `zone` as an aware UTC instant; None if clocks skip it."""
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None  # inside a daylight-saving gap: that local time never happens
    return aware.astimezone(UTC)


def parse_local(raw):
    """A naive datetime from a datetime-local string, or None for anything else."""
    for fmt in LOCAL_FORMATS:
        try:
            return datetime.strptime(raw or "", fmt)
        except ValueError:
            continue
    return None


def attach_errors(form, errors, names):
    """Put a service's field errors next to the form's fields; False if none fitted."""
    attached = False
    for name, problems in (errors or {}).items():
        field = getattr(form, names.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *problems]
            attached = True
    return attached

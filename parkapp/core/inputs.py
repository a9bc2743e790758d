"""What any input must be before the app looks at it: storable text, reasonable years,
JSON of bounded depth; and error messages that quote only a short prefix of a bad value.

One place for all of it, so the API, the pages and the domains refuse the same things the
same way instead of each field remembering to; the web layer applies it at the door.
"""

import re
from datetime import UTC, date, datetime

from parkapp.core.exceptions import Invalid

MAX_JSON_DEPTH = 32  # our deepest body is 3 levels; this leaves room and stays far from recursion
EARLIEST_YEAR, LATEST_YEAR = 1970, 8999
EARLIEST = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(LATEST_YEAR + 1, 1, 1, tzinfo=UTC)  # exclusive; well short of datetime.max
YEARS_PATTERN = r"^(19[7-9]\d|[2-8]\d{3})-"  # a timestamp or date within those years
YEARS_PROBLEM = f"Give a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
TEXT_PROBLEM = "Text cannot contain NUL characters or unpaired surrogates."
# PostgreSQL text cannot hold NUL; an unpaired surrogate cannot be encoded as UTF-8 at all.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
PREFIX = 40  # characters of a bad value an error message may quote
MAX_MESSAGE = 300
QUOTED = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""", re.S)


# -- text -----------------------------------------------------------------------------------


def storable(text):
    """True when a string has no NUL character and no unpaired surrogate."""
    return not UNSTORABLE.search(text)


def check_text(field, text):
    """Refuse (422, naming the field) text that no database column can hold."""
    if isinstance(text, str) and not storable(text):
        raise Invalid(field, TEXT_PROBLEM)
    return text


def clip(value, limit=PREFIX):
    """A value as an error message may quote it: at most `limit` characters and "…"."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit + 1 else text[:limit] + "…"


def clip_message(message):
    """A message with every quoted literal cut to a short prefix, and a bounded length."""
    if not isinstance(message, str):
        message = str(message)

    def shorten(match):
        quoted = match.group(0)
        return quoted if len(quoted) <= PREFIX + 3 else quoted[: PREFIX + 1] + "…" + quoted[-1]

    message = QUOTED.sub(shorten, message)
    return clip(UNSTORABLE.sub("\ufffd", message), MAX_MESSAGE)


# -- times ----------------------------------------------------------------------------------


def reasonable_year(value):
    """True when a date or datetime falls within the years the app accepts."""
    return value is None or EARLIEST_YEAR <= value.year <= LATEST_YEAR


def check_instant(field, value):
    """An aware datetime in UTC within the accepted years; 422 naming the field otherwise."""
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 has no UTC equivalent
        raise Invalid(field, YEARS_PROBLEM) from None
    if not EARLIEST <= value < LATEST:
        raise Invalid(field, YEARS_PROBLEM)
    return value


def check_day(field, value):
    """A date within the accepted years; 422 naming the field otherwise."""
    if isinstance(value, date) and not reasonable_year(value):
        raise Invalid(field, YEARS_PROBLEM)
    return value


# -- JSON bodies ----------------------------------------------------------------------------


class TooDeep(ValueError):
    """A JSON body nested deeper than MAX_JSON_DEPTH."""


class UnstorableText(Invalid, ValueError):
    """A JSON body with a string no column can hold (a ValueError, so `silent` callers skip it)."""


def checked_json(data):
    """The decoded body, refusing deep nesting and unstorable text (keys included)."""
    stack = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise TooDeep()
        if isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else key
                if not storable(key):
                    raise UnstorableText(path or "body", TEXT_PROBLEM)
                stack.append((item, where, depth + 1))
        elif isinstance(value, list):
            stack.extend(
                (item, f"{path}.{n}" if path else str(n), depth + 1) for n, item in enumerate(value)
            )
        elif isinstance(value, str) and not storable(value):
            raise UnstorableText(clip(path or "body"), TEXT_PROBLEM)
    return data

"""Log configuration for web processes, Celery workers and beat: JSON or text on stderr.

`LOG_FORMAT` (json | text) and `LOG_LEVEL` come from the config. Every record gets a
`request_id` attribute (the current request's or task's, "-" outside both) from a record
factory, so every handler sees it, including ones added later such as pytest's.
"""

import logging
import sys

from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from config import ConfigError
from parkapp.observability import request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(name)s] [%(request_id)s] %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message", "request_id")
FORMATS = ("json", "text")


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def formatter(kind):
    """The formatter for LOG_FORMAT `kind`."""
    if kind == "json":
        return JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level"})
    return logging.Formatter(TEXT_FORMAT)


def configure(app):
    """Install our one root handler (replacing any we installed before) at LOG_LEVEL."""
    kind = app.config.get("LOG_FORMAT", "text").lower()
    if kind not in FORMATS:
        raise ConfigError(f"LOG_FORMAT={kind!r}: use json or text")
    level = (app.config.get("LOG_LEVEL") or "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"LOG_LEVEL={level!r} is not a logging level")
    _install_record_factory()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter(kind))
    root.addHandler(handler)
    root.setLevel(level)
    app.logger.removeHandler(default_handler)  # records reach the root handler instead


def _install_record_factory():
    """Stamp each log record with the current request id, once per process."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_request_id", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = request_id.current() or "-"
        return record

    factory.stamps_request_id = True
    logging.setLogRecordFactory(factory)

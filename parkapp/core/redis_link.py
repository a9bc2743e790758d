"""The app's one Redis connection for live counts and token revocations, failing open.

After a Redis error the link is skipped for RETRY_SECONDS, so a Redis outage costs each
process one short timeout, not one per request.
"""

import logging
import time

import redis
from flask import current_app

log = logging.getLogger(__name__)
RETRY_SECONDS = 5


class RedisLink:
    """A lazily connected client and when Redis last failed."""

    def __init__(self, url):
        self.url = url
        self.client = None
        self.down_until = 0.0

    def redis(self):
        """The client, or None without Redis or for a few seconds after it failed."""
        if not self.url or time.monotonic() < self.down_until:
            return None
        if self.client is None:
            self.client = redis.Redis.from_url(
                self.url, socket_connect_timeout=0.5, socket_timeout=0.5
            )
        return self.client

    def failed(self, what, exc):
        """Note a failure: skip Redis for a while and say so once."""
        self.down_until = time.monotonic() + RETRY_SECONDS
        log.warning("redis: %s failed, going on without it: %s", what, exc)


def init_app(app):
    """One link per app, from REDIS_URL."""
    app.extensions["redis_link"] = RedisLink(app.config.get("REDIS_URL"))


def link():
    """The current app's link."""
    return current_app.extensions["redis_link"]

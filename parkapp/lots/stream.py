"""Availability pushed as server-sent events: one at once, then one within a second of a change.

With Redis, every process hears every commit on the `live.CHANNEL` pub/sub channel, so a
change made through any worker or host reaches every stream. Without Redis (one process,
the embedded default) the stream looks again every second. Each stream ends after a set
time; the browser's EventSource reconnects by itself (the `retry` field), so no connection
is held for ever.
"""

import json
import time

import redis
from sqlalchemy import func, select

from parkapp.extensions import db
from parkapp.lots import live
from parkapp.models import HOLDING, Booking

RETRY_MS = 1000  # how soon the browser reconnects after the stream ends
REFRESH_SECONDS = 15.0  # count again this often even when nothing was heard (a lost message)


def availability(lot_id):
    """The event's data: `{lot_id, available_now, by_kind}`, or None for an unknown lot."""
    doc, _ = live.snapshot([lot_id])
    db.session.rollback()  # hand the connection back while the stream waits
    entry = doc.get(str(lot_id))
    if entry is None:
        return None
    return {"lot_id": lot_id, "available_now": entry["available_now"], "by_kind": entry["by_kind"]}


def _fingerprint(lot_id):
    """(newest booking id, bookings holding a spot) at the lot: moves with every booking change."""
    row = db.session.execute(
        select(
            func.max(Booking.id), func.count(Booking.id).filter(Booking.status.in_(HOLDING))
        ).where(Booking.lot_id == lot_id)
    ).one()
    db.session.rollback()
    return tuple(row)


def event(name, data):
    """One server-sent event."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def events(lot_id, seconds, heartbeat=15.0, poll=1.0):
    """Server-sent event text for `seconds`: availability now, then after each change."""
    listener = live.listener()  # before the first count: a change after it is heard
    try:
        last = availability(lot_id), _fingerprint(lot_id)
        yield f"retry: {RETRY_MS}\n\n"
        yield event("availability", last[0])
        now = time.monotonic()
        deadline, next_beat, next_refresh = now + seconds, now + heartbeat, now + REFRESH_SECONDS
        while (now := time.monotonic()) < deadline:
            heard = _wait(listener, lot_id, min(poll, deadline - now))
            if heard is None:  # Redis went away: look every second instead
                listener, heard = None, True
            if heard or now >= next_refresh:
                next_refresh = now + REFRESH_SECONDS
                current = availability(lot_id), _fingerprint(lot_id)
                # A change that keeps the counts (a freed spot held for the waitlist) is news too.
                if current != last:
                    last = current
                    yield event("availability", current[0])
            if time.monotonic() >= next_beat:
                next_beat += heartbeat
                yield ": keep-alive\n\n"
    finally:
        if listener is not None:
            live.close_listener(listener)


def _wait(listener, lot_id, timeout):
    """True when a change to the lot was heard within `timeout`; False when not; None on error.

    Without a listener it sleeps `timeout` and says True (poll).
    """
    if listener is None:
        time.sleep(max(timeout, 0))
        return True
    wanted = {str(lot_id).encode(), live.EVERY_LOT.encode()}
    end = time.monotonic() + timeout
    try:
        while (left := end - time.monotonic()) > 0:
            message = listener.get_message(ignore_subscribe_messages=True, timeout=left)
            if message and message.get("data") in wanted:
                return True
    except (redis.RedisError, OSError):
        return None
    return False

"""Live availability: a version per lot, bumped after every committed change, and free counts
cached under it.

With REDIS_URL set, every commit that touches a booking, spot or lot bumps the lots' versions
(Redis INCR) and publishes the lot ids on the Redis channel CHANNEL. The counts of "free now"
are cached under the versions for LIVE_CACHE_SECONDS, so a change made by any process is seen
by the next request, and time passing (a reservation starting) within seconds. Without Redis
nothing is cached: a per-process cache could not hear of a booking made in another gunicorn
worker, so every request counts afresh (one grouped query). Redis or the cache failing never
fails a request or a booking: it is logged and skipped.
"""

import contextlib
import hashlib
import itertools
import json
import logging
from datetime import UTC

import redis
from flask import current_app, has_app_context
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from parkapp.core import redis_link
from parkapp.extensions import cache, db
from parkapp.lots.availability import spot_taken
from parkapp.models import Booking, Lot, Spot, SpotKind, SpotStatus, utcnow

log = logging.getLogger(__name__)

CHANNEL = "parkapp:availability"
EVERY_LOT = "*"  # published when a bulk statement changed lots we cannot name
WATCHED = (Booking, Spot, Lot)
WATCHED_TABLES = {model.__table__.name for model in WATCHED}
VERSION_KEY = "parkapp:live:v:"
MAX_IDS = 100


# -- noticing changes ---------------------------------------------------------------------------


def _pending(session):
    return session.info.setdefault("live_lots", set())


def _after_flush(session, _context):
    pending = _pending(session)
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, WATCHED):
            # read what is loaded only: no SQL in the middle of a flush
            loaded = inspect(obj).dict
            lot_id = loaded.get("id") if isinstance(obj, Lot) else loaded.get("lot_id")
            pending.add(EVERY_LOT if lot_id is None else lot_id)


def _on_orm_execute(state):
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        _pending(state.session).add(EVERY_LOT)  # a bulk statement: its lots are unknown


def _after_commit(session):
    lot_ids = session.info.pop("live_lots", None)
    if lot_ids and has_app_context():
        try:
            changed(*lot_ids)
        except Exception:  # the change is committed: a notice failing must not undo the request
            log.exception("live availability: could not announce a change of lots %s", lot_ids)


def _after_transaction_end(session, transaction):
    if transaction.parent is None:  # a rolled back transaction's changes never happened
        session.info.pop("live_lots", None)


def _listen():
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_orm_execute)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_transaction_end", _after_transaction_end)


def init_app(app):
    """Watch commits for availability changes (Redis is reached through `core.redis_link`)."""
    _listen()


def _state():
    return redis_link.link()


# -- versions -----------------------------------------------------------------------------------


def changed(*lot_ids):
    """Bump the lots' versions and tell subscribers; call after the change committed."""
    state = _state()
    keys = [str(lot_id) for lot_id in lot_ids]
    client = state.redis()
    if client is None:
        return  # no Redis: nothing cached; Redis down: cached counts expire within seconds
    try:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.incr(VERSION_KEY + key)
            pipe.publish(CHANNEL, key)
        pipe.execute()
    except redis.RedisError as exc:
        state.failed("publishing a change", exc)


def versions(lot_ids):
    """{lot_id: version} with the EVERY_LOT version under "*"; None without Redis or when down."""
    state = _state()
    keys = [str(lot_id) for lot_id in lot_ids] + [EVERY_LOT]
    client = state.redis()
    if client is None:
        return None
    try:
        values = client.mget([VERSION_KEY + key for key in keys])
    except redis.RedisError as exc:
        state.failed("reading versions", exc)
        return None
    return {key: int(value or 0) for key, value in zip(keys, values, strict=True)}


def listener():
    """A pub/sub subscription to CHANNEL on a connection of its own; None without Redis."""
    state = _state()
    if state.redis() is None:
        return None
    try:
        # A pool of its own, passed in: a client that made its pool closes it when it is
        # garbage collected, which would cut the subscription off without a word.
        pool = redis.ConnectionPool.from_url(state.url, socket_connect_timeout=0.5)
        subscription = redis.Redis(connection_pool=pool).pubsub(ignore_subscribe_messages=True)
        subscription.subscribe(CHANNEL)
        return subscription
    except redis.RedisError as exc:
        state.failed("subscribing", exc)
        return None


def close_listener(subscription):
    """Unsubscribe and close the listener's connection, ignoring a Redis already gone."""
    with contextlib.suppress(redis.RedisError):
        subscription.close()
        subscription.connection_pool.disconnect()


# -- counts -------------------------------------------------------------------------------------


def kind_counts(lot_ids):
    """{lot_id: {SpotKind: (spots in service, free now)}} for active lots, cached.

    Unknown or deactivated lots are left out.
    """
    return {lot_id: _kinds(entry) for lot_id, entry in _entries(lot_ids).items() if entry["active"]}


def lot_counts(lot_id, starts_at=None, ends_at=None):
    """{SpotKind: (spots in service, bookable)} of one lot, active or not, now or over
    `[starts_at, ends_at)` (`ends_at` None: open-ended), cached."""
    entry = _entries([lot_id], starts_at, ends_at).get(lot_id)
    return _kinds(entry) if entry else {}


def totals(lot_ids, kind=None, starts_at=None, ends_at=None):
    """{lot_id: (spots in service, free)} over all kinds or one, now or over
    `[starts_at, ends_at)`; none free if inactive."""
    result = {}
    for lot_id, entry in _entries(lot_ids, starts_at, ends_at).items():
        pairs = [pair for name, pair in entry["kinds"].items() if kind is None or name == kind]
        free = sum(f for _, f in pairs) if entry["active"] else 0
        result[lot_id] = (sum(t for t, _ in pairs), free)
    return result


def lot_cached(lot_id, name, compute):
    """`compute()` about the lot now, cached under its version for LIVE_CACHE_SECONDS (read
    before computing, as for the counts); computed afresh without Redis."""
    keys = _keys([lot_id])
    if keys is None:
        return compute()
    key = f"{keys[lot_id]}:{name}"
    try:
        value = cache.get(key)
    except Exception as exc:  # any cache backend error: compute instead
        _state().failed("reading the cache", exc)
        return compute()
    if value is not None:
        return value
    value = compute()
    try:
        cache.set(key, value, current_app.config.get("LIVE_CACHE_SECONDS", 5))
    except Exception as exc:  # any cache backend error: skip caching
        _state().failed("writing the cache", exc)
    return value


def _kinds(entry):
    return {SpotKind(kind): tuple(pair) for kind, pair in entry["kinds"].items()}


def _entries(lot_ids, starts_at=None, ends_at=None):
    """The cached count entries of the lots, computing (in one go) those not cached.

    The versions are read once, before counting, and the counts stored under them: a
    change committed while counting bumps a version after that read, so the next request
    misses. (Reading them again to store could file counts that missed the change under
    the bumped version.)
    """
    lot_ids = sorted(set(lot_ids))
    if not lot_ids:
        return {}
    keys = _keys(lot_ids, starts_at, ends_at)
    found = _cached(keys) if keys else {}
    missing = [lot_id for lot_id in lot_ids if lot_id not in found]
    if missing:
        fresh = _count(missing, starts_at, ends_at)
        found.update(fresh)
        if keys:
            _store(keys, fresh, starts_at is None)
    return found


def snapshot(lot_ids):
    """The availability document of /lots/availability and its ETag (a hash of it)."""
    doc = {}
    for lot_id, kinds in kind_counts(lot_ids).items():
        doc[str(lot_id)] = {
            "available_now": sum(free for _, free in kinds.values()),
            "total_spots": sum(total for total, _ in kinds.values()),
            "by_kind": {
                kind.value: {"total": total, "available": free}
                for kind, (total, free) in kinds.items()
            },
        }
    body = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return doc, hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()[:20]


def _keys(lot_ids, starts_at=None, ends_at=None):
    """{lot_id: cache key} built from the versions, or None when they cannot be read."""
    found = versions(lot_ids)
    if found is None:
        return None
    every = found[EVERY_LOT]
    when = "now" if starts_at is None else f"{_stamp(starts_at)}/{_stamp(ends_at)}"
    return {
        lot_id: f"live:counts:{lot_id}:{found[str(lot_id)]}:{every}:{when}" for lot_id in lot_ids
    }


def _stamp(instant):
    return "open" if instant is None else instant.astimezone(UTC).isoformat()


def _cached(keys):
    try:
        values = cache.get_many(*keys.values())
    except Exception as exc:  # any cache backend error: compute instead
        _state().failed("reading the cache", exc)
        return {}
    return {lot_id: value for lot_id, value in zip(keys, values, strict=True) if value}


def _store(keys, entries, now):
    # "Now" moves: its counts live seconds. A fixed interval's counts change only with a
    # commit, which bumps the version in the key: they may live longer.
    setting = "LIVE_CACHE_SECONDS" if now else "INTERVAL_CACHE_SECONDS"
    timeout = current_app.config.get(setting, 5 if now else 300)
    try:
        cache.set_many({keys[lot_id]: entry for lot_id, entry in entries.items()}, timeout)
    except Exception as exc:  # any cache backend error: skip caching
        _state().failed("writing the cache", exc)


def _count(lot_ids, starts_at=None, ends_at=None):
    """{lot_id: {"active": bool, "kinds": {kind: [total, free]}}} from the database, now or
    over `[starts_at, ends_at)`."""
    active = dict(
        db.session.execute(select(Lot.id, Lot.is_active).where(Lot.id.in_(lot_ids))).all()
    )
    total_rows = db.session.execute(
        select(Spot.lot_id, Spot.kind, func.count(Spot.id))
        .where(Spot.lot_id.in_(lot_ids), Spot.status != SpotStatus.REMOVED)
        .group_by(Spot.lot_id, Spot.kind)
    )
    free_rows = db.session.execute(
        select(Spot.lot_id, Spot.kind, func.count(Spot.id))
        .where(
            Spot.lot_id.in_(lot_ids),
            Spot.status == SpotStatus.ACTIVE,
            ~spot_taken(starts_at or utcnow(), None if starts_at is None else ends_at),
        )
        .group_by(Spot.lot_id, Spot.kind)
    )
    free = {(lot_id, kind): count for lot_id, kind, count in free_rows}
    entries = {
        lot_id: {"active": bool(is_active), "kinds": {}} for lot_id, is_active in active.items()
    }
    for lot_id, kind, count in sorted(total_rows, key=lambda row: (row[0], row[1].value)):
        entries[lot_id]["kinds"][kind.value] = [count, free.get((lot_id, kind), 0)]
    return entries


def parse_ids(raw):
    """Lot ids from "1,2,3"; None when the text is not such a list (at most MAX_IDS)."""
    parts = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if not parts or len(parts) > MAX_IDS or not all(p.isdigit() and len(p) < 10 for p in parts):
        return None
    return sorted({int(part) for part in parts})

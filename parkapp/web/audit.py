"""The audit log of staff actions, written by a flush listener in the same transaction.

After every flush made during a request by an admin or an operator, each object the flush
created, changed or deleted becomes an `audit_events` row holding the changed columns
before and after. The row is inserted on the flush's own connection, so a change that is
rolled back leaves no audit row and a committed one always has its row. Secrets are never
copied: columns such as password hashes, tokens and TOTP secrets show as "[redacted]".
Bulk UPDATE/DELETE statements bypass the ORM's unit of work and are not recorded.
"""

import enum
import re
from datetime import date, datetime, time
from decimal import Decimal

from flask import g, has_request_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session

from parkapp.core.exceptions import Invalid
from parkapp.extensions import db
from parkapp.models import ADMIN, OPERATOR
from parkapp.models.accounts import AuditEvent
from parkapp.models.types import utcnow

REDACTED = "[redacted]"
SECRET_COLUMN = re.compile(r"password|secret|token|uniquifier|recovery_codes|webauthn")
# Bookkeeping that is not anyone's action: the log itself, revoked JWT ids, kept mails.
UNAUDITED = {"audit_events", "revoked_tokens", "outbox_mails"}
# Requests whose main object gets a name of its own instead of "<type>.<create|update|delete>".
NAMED = {
    "check.gate_entry": ("booking", "gate.entry"),
    "api.gate_gate_entry": ("booking", "gate.entry"),
    "check.gate_exit": ("booking", "gate.exit"),
    "check.gate_leave": ("booking", "gate.exit"),
    "api.gate_gate_exit": ("booking", "gate.exit"),
    "check.gate_waitlist": ("waitlist_entry", "gate.waitlist"),
    "api.gate_gate_waitlist": ("waitlist_entry", "gate.waitlist"),
    "admin.deactivate_user": ("user", "user.deactivate"),
    "admin.reactivate_user": ("user", "user.reactivate"),
    "admin.user_roles": ("user", "user.roles"),
    "admin.reset_two_factor": ("user", "user.reset_two_factor"),
    "admin.deactivate_lot": ("lot", "lot.deactivate"),
    "admin.reactivate_lot": ("lot", "lot.reactivate"),
    "security.login": ("user", "user.login"),
    "security.two_factor_token_validation": ("user", "user.two_factor"),
    "security.two_factor_setup": ("user", "user.two_factor"),
}
MAX_ID = 2**31 - 1  # a larger number cannot be a user id: it is searched as email text
VERBS = {"new": "create", "dirty": "update", "deleted": "delete"}
WRITTEN = "audit_rows"  # session.info: this transaction's event per (type, id)


def listen():
    """Install the flush listeners once per process."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_transaction_end", _forget_rows)


def acting_staff():
    """The admin or operator making the current request (API token or page session), or None."""
    if not has_request_context():
        return None
    user = _token_user() or _session_user()
    if user is None or not (user.has_role(ADMIN) or user.has_role(OPERATOR)):
        return None
    return user


def _token_user():
    # flask-jwt-extended keeps the verified token's user on g; absent when no token was checked
    loaded = g.get("_jwt_extended_jwt_user") or {}
    return loaded.get("loaded_user")


def _session_user():
    from flask_login import current_user

    user = current_user._get_current_object() if current_user else None
    return user if user is not None and user.is_authenticated else None


# -- the listener ------------------------------------------------------------------------------


def _after_flush(session, _context):
    # The session still shows the flush's new/dirty/deleted objects and their attribute
    # history here, and new rows already have their primary keys.
    if not isinstance(session, FlaskSession):
        return  # another database's session (the Celery broker's on SQLite): not ours
    actor = acting_staff()
    if actor is None:
        return
    changes = []
    for state_name, objects in (
        ("new", session.new),
        ("dirty", session.dirty),
        ("deleted", session.deleted),
    ):
        changes.extend(row for obj in objects if (row := _event_row(obj, state_name)))
    if not changes:
        return
    common = {
        "created_at": utcnow(),
        "actor_id": actor.id,
        "actor_email": actor.email,  # kept as text: the account may change or go later
        "ip": request.remote_addr,
        "endpoint": request.endpoint,
    }
    written = session.info.setdefault(WRITTEN, {})
    connection = session.connection()
    for change in changes:
        key = (change["target_type"], change["target_id"])
        earlier = written.get(key)
        if (
            earlier is not None
            and change["verb"] != "delete"
            and _merge(connection, earlier, change)
        ):
            continue  # one event per object per transaction, however often it flushes
        row = {**common, **change, "action": _action(common["endpoint"], **change)}
        del row["verb"]
        result = connection.execute(insert(AuditEvent.__table__).values(**row))
        written[key] = {"id": result.inserted_primary_key[0], **change}


def _merge(connection, earlier, change):
    """Fold a later flush's changes into the transaction's event for the same object."""
    before = earlier["before"]
    if before is not None:  # keep the oldest value seen of each field
        before = {**(change["before"] or {}), **before}
    after = {**(earlier["after"] or {}), **(change["after"] or {})}
    table = AuditEvent.__table__
    updated = connection.execute(
        table.update().where(table.c.id == earlier["id"]).values(before=before, after=after)
    )
    if updated.rowcount != 1:  # a rolled-back savepoint took the earlier row with it
        return False
    earlier.update(before=before, after=after)
    return True


def _forget_rows(session, transaction):
    if transaction.parent is None:
        session.info.pop(WRITTEN, None)


def _action(endpoint, verb, target_type, **_change):
    named = NAMED.get(endpoint)
    if named is not None and named[0] == target_type:
        return named[1]
    return f"{target_type}.{verb}"


def _event_row(obj, state_name):
    state = inspect(obj)
    mapper = state.mapper
    if mapper.persist_selectable.name in UNAUDITED:
        return None
    if state_name == "new":
        before, after = None, _snapshot(state)
    elif state_name == "deleted":
        before, after = _snapshot(state), None
    else:
        before, after = _changes(state)
        if not after and not before:
            return None
    key = mapper.primary_key_from_instance(obj)
    return {
        "verb": VERBS[state_name],
        "target_type": _type_name(type(obj)),
        "target_id": ",".join(str(part) for part in key) if None not in key else None,
        "before": before,
        "after": after,
    }


def _columns(state):
    return [prop for prop in state.mapper.column_attrs if prop.key != "id"]


def _snapshot(state):
    """The object's loaded column values (nothing is loaded from the database)."""
    values = {}
    for prop in _columns(state):
        if prop.key in state.dict and state.dict[prop.key] is not None:
            values[prop.key] = _safe(prop.key, state.dict[prop.key])
    return values


def _changes(state):
    """The columns a flush changed (old values only where they were loaded before)."""
    before, after = {}, {}
    for prop in _columns(state):
        history = state.attrs[prop.key].history
        if not history.has_changes():
            continue
        new = history.added[0] if history.added else None
        if history.deleted:
            old = history.deleted[0]
            if old == new:
                continue
            before[prop.key] = _safe(prop.key, old)
        after[prop.key] = _safe(prop.key, new)
    for rel in state.mapper.relationships:
        if rel.secondary is None:
            continue  # other relationships change a foreign key column recorded above
        history = state.attrs[rel.key].history
        if history.has_changes():
            before[rel.key] = sorted(_label(o) for o in (*history.unchanged, *history.deleted))
            after[rel.key] = sorted(_label(o) for o in (*history.unchanged, *history.added))
    return before, after


def _label(obj):
    name = inspect(obj).dict.get("name")
    return str(name) if name is not None else str(inspect(obj).dict.get("id"))


def _safe(key, value):
    """A JSON value for a column, or REDACTED for anything secret."""
    if SECRET_COLUMN.search(key):
        return REDACTED
    return _json(value)


def _json(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _type_name(cls):
    """EvStation -> ev_station."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


# -- reading the log ---------------------------------------------------------------------------


def query(actor=None, action=None, since=None, until=None):
    """Events newest first, filtered: actor by id or part of an email, action exactly or by
    its type ("lot" matches "lot.update"), and a [since, until) time window."""
    stmt = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    actor, action = (actor or "").strip(), (action or "").strip()
    for name, value in (("actor", actor), ("action", action)):
        if "\x00" in value:  # PostgreSQL text cannot hold NUL characters
            raise Invalid(name, "Must not contain NUL characters.")
    if actor.isascii() and actor.isdigit() and int(actor) <= MAX_ID:
        stmt = stmt.where(AuditEvent.actor_id == int(actor))
    elif actor:
        pattern = "%" + actor.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        stmt = stmt.where(func.lower(AuditEvent.actor_email).like(pattern + "%", escape="\\"))
    if action and "." in action:
        stmt = stmt.where(AuditEvent.action == action)
    elif action:
        stmt = stmt.where(AuditEvent.action.startswith(action + ".", autoescape=True))
    if since is not None:
        stmt = stmt.where(AuditEvent.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.created_at < until)
    return stmt


def count(**filters):
    """How many events match (tests and the page's summary)."""
    return db.session.scalar(select(func.count()).select_from(query(**filters).subquery()))

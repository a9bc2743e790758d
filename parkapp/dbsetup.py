"""Engine tuning per database, and the one write-lock helper the booking rules rely on."""

from contextlib import contextmanager

from sqlalchemy import event

from parkapp.extensions import db


def configure_engine(app):
    """Give SQLite real transactions (explicit BEGIN, optional IMMEDIATE) and sane pragmas."""
    with app.app_context():
        engine = db.engine
    _track_writes(engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(keep_loaded=False):
    """One unit of work that commits on success and rolls back on any error.

    `keep_loaded`: what the unit loaded and wrote stays loaded after the commit (no read
    again to answer with what was just written).

    On SQLite the transaction takes the database's write lock before its first read, so a
    check followed by an insert cannot interleave with another writer. PostgreSQL relies on
    its constraints and row locks instead, so it gets an ordinary transaction.
    """
    session = db.session()  # the scoped session's Session: the proxy lacks in_transaction()
    sqlite = db.engine.dialect.name == "sqlite"
    if session.in_transaction() and (sqlite or _has_writes(session)):
        # SQLite: a read transaction cannot safely become a write one (BUSY_SNAPSHOT), so
        # it ends and BEGIN IMMEDIATE takes the lock. Elsewhere only earlier writes must be
        # committed apart: a failing unit of work must not roll them back. A transaction
        # that only read carries on: READ COMMITTED gives each statement a fresh snapshot,
        # and the loaded user and lot stay loaded instead of expiring on a commit.
        session.commit()
    if sqlite:
        session.connection(execution_options={"sqlite_immediate": True})
    try:
        yield session
        if keep_loaded:
            session.expire_on_commit = False
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.expire_on_commit = True


def end_read_transaction():
    """End the session's open transaction, if any, keeping what it loaded.

    For code that runs after its caller committed (hooks): nothing is pending, so the
    objects stay loaded, and a later write does not start from an old SQLite snapshot.
    """
    session = db.session()
    if not session.in_transaction():
        return  # committing now would autobegin a transaction only to expire everything
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _has_writes(session):
    """Whether the session's transaction changed anything, flushed or not."""
    if session.new or session.dirty or session.deleted:
        return True
    return bool(session.connection().info.get(WROTE))


WROTE = "parkapp_transaction_wrote"
READS = ("SELECT", "SAVEPOINT", "RELEASE", "BEGIN", "PRAGMA", "SHOW", "SET")


def _track_writes(engine):
    """Note on the connection when its transaction runs anything but a read."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, _cursor, statement, *_args):
        if not statement.lstrip()[:9].upper().startswith(READS):
            conn.info[WROTE] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn):
        if not conn.invalidated:  # a dead connection's info goes with it (checkin clears it)
            conn.info.pop(WROTE, None)

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        record.info.pop(WROTE, None)


def cache_config(app):
    """Redis-backed cache when REDIS_URL is set, else a per-process memory cache."""
    if app.config.get("REDIS_URL"):
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": app.config["REDIS_URL"],
            "CACHE_KEY_PREFIX": "parkapp:",
            "CACHE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    return {"CACHE_TYPE": "SimpleCache"}

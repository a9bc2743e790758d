"""Engine tuning per database, and the one write-lock helper the booking rules rely on."""

from contextlib import contextmanager

from sqlalchemy import event

from parkapp.extensions import db


def configure_engine(app):
    """Give SQLite real transactions (explicit BEGIN, optional IMMEDIATE) and sane pragmas."""
    with app.app_context():
        engine = db.engine
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
def write_transaction():
    """One unit of work that commits on success and rolls back on any error.

    On SQLite the transaction takes the database's write lock before its first read, so a
    check followed by an insert cannot interleave with another writer. PostgreSQL relies on
    its constraints and row locks instead, so it gets an ordinary transaction.
    """
    session = db.session()  # the scoped session's Session: the proxy lacks in_transaction()
    if session.in_transaction():
        session.commit()
    if db.engine.dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_immediate": True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


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

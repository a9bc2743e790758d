"""The PostgreSQL database a benchmark owns: named from DATABASE_URL, loopback only."""

import os
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def bench_database_url(name, script):
    """DATABASE_URL with the database switched to `name`; PostgreSQL on this machine only."""
    raw = os.environ.get("DATABASE_URL", "")
    if not raw.startswith(("postgresql://", "postgres://", "postgresql+psycopg2://")):
        sys.exit(f"{script} needs DATABASE_URL=postgresql://... (PostgreSQL)")
    url = make_url(raw.replace("postgres://", "postgresql://", 1))
    if url.host not in LOOPBACK and url.host is not None:
        sys.exit("DATABASE_URL must point at a PostgreSQL server on 127.0.0.1")
    return url.set(drivername="postgresql+psycopg2", database=name)


def ensure_database(url):
    """Create the url's database when it does not exist yet."""
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    engine.dispose()

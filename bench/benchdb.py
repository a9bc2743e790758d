"""The PostgreSQL database a benchmark owns: named from DATABASE_URL, loopback only."""

import os
import sys
from pathlib import Path

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


def migrate_and_empty(url):
    """Point the app at the url's database, run the migrations, empty every table; the app."""
    root = Path(__file__).resolve().parent.parent
    os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    from flask_migrate import upgrade

    from parkapp import create_app
    from parkapp.extensions import db

    app = create_app("testing")
    with app.app_context():
        upgrade(directory=str(root / "migrations"))
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return app


def seed_lot(name, spot_count, label_prefix):
    """One always-open UTC lot of standard spots at 2.50/h (20.00 a day), not committed."""
    from parkapp.lots import spots
    from parkapp.lots.lots import LotInput, create_lot

    lot = create_lot(
        LotInput(
            name=name,
            city="Benchville",
            timezone="UTC",
            currency="EUR",
            hourly_rate_cents=250,
            daily_max_cents=2000,
        )
    )
    spots.create_spots(lot, spot_count, "standard", "L1", "A", label_prefix=label_prefix)
    return lot

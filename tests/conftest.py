"""Fixtures: the app on a real database (PostgreSQL when DATABASE_URL is set, else SQLite),
schema built once by the migrations, every table emptied after each test."""

import email
import os
import socket
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from flask import g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_security import hash_password
from sqlalchemy import text

from parkapp import create_app
from parkapp.accounts.datastore import user_datastore
from parkapp.accounts.users import ensure_roles
from parkapp.extensions import db
from parkapp.lots import spots as spot_service
from parkapp.lots.lots import LotInput, create_lot
from parkapp.models import Booking, Lot, utcnow

PASSWORD = "correct-horse-battery-42"


def _reset_schema(app):
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(directory=os.path.join(app.root_path, "..", "migrations"))


class Inbox:
    """An aiosmtpd handler keeping every message it receives, parsed."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted"

    def to(self, address):
        """Messages addressed to one recipient."""
        with self._lock:
            return [m for m in self.messages if address in (m["To"] or "")]

    def clear(self):
        with self._lock:
            self.messages.clear()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on loopback for the whole session."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller
    controller.stop()


class FreshGlobalsClient(FlaskClient):
    """A test client whose every request starts as in production: empty `g`, nothing loaded.

    The test's app context stays pushed during requests (so tests can call services), and
    Flask reuses it, which would otherwise carry Flask-Login's cached user between requests,
    and the session's loaded objects too: in production each request has a session of its own,
    so a request never sees what an earlier one loaded (a write may keep what it wrote loaded
    after its commit, see dbsetup.write_transaction).
    """

    def open(self, *args, **kwargs):
        vars(g).clear()
        db.session.expire_all()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(smtp_server):
    """The application, with the schema migrated once for the whole session."""
    app = create_app(
        "testing",
        {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, "MAIL_SUPPRESS_SEND": False},
    )
    app.test_client_class = FreshGlobalsClient
    with app.app_context():
        _reset_schema(app)
        if app.config.get("REDIS_URL"):
            import redis

            redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    return app


@pytest.fixture(autouse=True)
def app_ctx(app):
    """Each test runs in an app context and leaves every table empty behind it."""
    with app.app_context():
        yield
        db.session.remove()
        _empty_tables()


def _empty_tables():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def mailbox(smtp_server):
    """The SMTP server's inbox, emptied for this test."""
    smtp_server.handler.clear()
    return smtp_server.handler


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def password_hash(app):
    """One argon2 hash of PASSWORD, reused by the user factory to keep tests quick."""
    with app.app_context():
        return hash_password(PASSWORD)


@pytest.fixture
def make_user(password_hash):
    """Factory: a committed user with roles (default: a driver)."""
    counter = {"n": 0}

    def make(email=None, roles=("user",), full_name="Test Driver", active=True):
        counter["n"] += 1
        ensure_roles()
        user = user_datastore.create_user(
            email=email or f"user{counter['n']}@example.com",
            password=password_hash,
            full_name=full_name,
            roles=list(roles),
            active=active,
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def driver(make_user):
    return make_user(email="driver@example.com", full_name="Dana Driver")


@pytest.fixture
def admin(make_user):
    return make_user(email="admin@example.com", roles=("admin",), full_name="Avery Admin")


@pytest.fixture
def operator(make_user):
    return make_user(email="operator@example.com", roles=("operator",), full_name="Oli Operator")


@pytest.fixture
def make_lot():
    """Factory: a committed lot with spots, e.g. make_lot(spots={"standard": 3, "ev": 1})."""
    counter = {"n": 0}

    def make(spots=None, **fields):
        counter["n"] += 1
        values = {
            "name": f"Test Lot {counter['n']}",
            "city": "Testville",
            "latitude": 51.5,
            "longitude": -0.12,
            "timezone": "Europe/London",
            "currency": "GBP",
            "hourly_rate_cents": 200,
            "daily_max_cents": 1500,
            "grace_minutes": 10,
        }
        values.update(fields)
        lot = create_lot(LotInput(**values))
        for kind, count in (spots or {"standard": 2}).items():
            spot_service.create_spots(
                lot, count, kind, "L1", "A", label_prefix=f"{kind[:2].upper()}"
            )
        return db.session.get(Lot, lot.id)

    return make


@pytest.fixture
def lot(make_lot):
    return make_lot()


class AuthActions:
    """Log in through the pages (session cookie) or get API tokens."""

    def __init__(self, client):
        self._client = client

    def login(self, email="driver@example.com", password=PASSWORD):
        return self._client.post(
            "/login", data={"email": email, "password": password}, follow_redirects=True
        )

    def logout(self):
        return self._client.post("/logout", follow_redirects=True)

    def tokens(self, email="driver@example.com", password=PASSWORD):
        response = self._client.post(
            "/api/v1/auth/token", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def headers(self, email="driver@example.com", password=PASSWORD):
        return {"Authorization": f"Bearer {self.tokens(email, password)['access_token']}"}


@pytest.fixture
def auth(client):
    return AuthActions(client)


def iso(dt):
    """ISO 8601 with offset, as the API expects."""
    return dt.isoformat()


def hours_from_now(hours):
    return (utcnow() + timedelta(hours=hours)).replace(microsecond=0)


@pytest.fixture
def driver_headers(auth, driver):
    return auth.headers(driver.email)


@pytest.fixture
def other_headers(auth, make_user):
    return auth.headers(make_user(email="other@example.com").email)


@pytest.fixture
def admin_headers(auth, admin):
    return auth.headers(admin.email)


@pytest.fixture
def operator_headers(auth, operator):
    return auth.headers(operator.email)


def api_book(client, headers, lot, **fields):
    """POST /api/v1/bookings: a reservation from +2 h to +4 h unless fields say otherwise.

    A field given as None is left out of the body.
    """
    body = {
        "lot_id": lot.id,
        "vehicle_plate": "AB12CDE",
        "starts_at": iso(hours_from_now(2)),
        "ends_at": iso(hours_from_now(4)),
        **fields,
    }
    return client.post(
        "/api/v1/bookings", json={k: v for k, v in body.items() if v is not None}, headers=headers
    )


def reservation(client, headers, lot, start_h=30, end_h=32, plate="AB12CDE"):
    """A reservation from +start_h to +end_h hours through the API, as its Booking row."""
    response = api_book(
        client,
        headers,
        lot,
        vehicle_plate=plate,
        starts_at=iso(hours_from_now(start_h)),
        ends_at=iso(hours_from_now(end_h)),
    )
    assert response.status_code == 201, response.get_json()
    return db.session.get(Booking, response.get_json()["id"])


class Statements(list):
    """The SQL statements run while counting, one line each, for assertion messages."""

    def listing(self):
        return "\n".join(f"{n:3}. {' '.join(s.split())[:160]}" for n, s in enumerate(self, 1))


@pytest.fixture
def count_queries(app):
    """Context manager: `with count_queries() as statements:` records every statement run."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting():
        statements = Statements()

        def record(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return counting

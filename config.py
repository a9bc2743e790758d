"""Configuration classes, read from the environment (and `.env` via python-dotenv)."""

import os
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
load_dotenv(BASE_DIR / ".env")

DEV_SECRET = "dev-only-not-secret"


class ConfigError(RuntimeError):
    """The environment holds a value the app cannot start with."""


def env_bool(name, default=False):
    """Parse a boolean environment variable, refusing anything ambiguous."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


def env_int(name, default):
    """Parse an integer environment variable."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc


def sqlite_url(name):
    """A SQLite database file in the instance folder."""
    return f"sqlite:///{INSTANCE_DIR / name}"


def normalise_db_url(url):
    """Use psycopg2 for PostgreSQL URLs, including the `postgres://` some hosts hand out."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme) :]
    return url


class Config:
    """Defaults shared by every environment; everything needs no server installed."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET)
    SQLALCHEMY_DATABASE_URI = normalise_db_url(
        os.environ.get("DATABASE_URL", sqlite_url("parkapp.db"))
    )
    # No ping per checkout (a round trip each request): connections are recycled before
    # servers or proxies drop idle ones, and a connection found dead invalidates the pool
    # (the request answers 503, the next one gets a new connection).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": env_int("DB_POOL_RECYCLE", 1800)}
    REDIS_URL = os.environ.get("REDIS_URL", "")

    # Flask-Security-Too
    SECURITY_PASSWORD_SALT = os.environ.get("SECURITY_PASSWORD_SALT", DEV_SECRET)
    SECURITY_PASSWORD_HASH = "argon2"
    SECURITY_PASSWORD_LENGTH_MIN = 10
    SECURITY_REGISTERABLE = True
    SECURITY_SEND_REGISTER_EMAIL = False
    SECURITY_RECOVERABLE = True
    SECURITY_CHANGEABLE = True
    SECURITY_TRACKABLE = True
    SECURITY_USERNAME_ENABLE = False
    SECURITY_EMAIL_VALIDATOR_ARGS = {"check_deliverability": False}
    SECURITY_EMAIL_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "parkapp <no-reply@parkapp.local>"
    )
    SECURITY_POST_LOGIN_VIEW = "/"
    SECURITY_POST_REGISTER_VIEW = "/"
    SECURITY_POST_LOGOUT_VIEW = "/"
    SECURITY_MSG_LOGIN = ("Please log in to continue.", "info")
    SECURITY_CSRF_PROTECT_MECHANISMS = ["session", "basic"]
    SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS = False
    # Login and reset answer alike whether or not the email has an account.
    SECURITY_RETURN_GENERIC_RESPONSES = True
    SECURITY_MSG_GENERIC_AUTHN_FAILED = ("Wrong email or password.", "error")
    SECURITY_MSG_PASSWORD_RESET_REQUEST = (
        "If %(email)s has an account, a link to choose a new password is on its way.",
        "info",
    )
    # None renders a bare directive; Flask-Security's default (True) gave "private=True".
    SECURITY_CACHE_CONTROL = {"private": None, "no-store": None}
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_DURATION = timedelta(days=env_int("REMEMBER_COOKIE_DAYS", 14))
    HSTS_SECONDS = 0  # production sends Strict-Transport-Security
    WTF_CSRF_ENABLED = True
    WTF_CSRF_CHECK_DEFAULT = False  # CSRFProtect checks forms; the JWT API is exempt
    # Two-factor with an authenticator app (TOTP); secrets are stored encrypted with this key
    SECURITY_TWO_FACTOR = True
    SECURITY_TWO_FACTOR_ENABLED_METHODS = ["authenticator"]
    SECURITY_TWO_FACTOR_RESCUE_EMAIL = False  # a lost device is reset by an admin, not by mail
    SECURITY_TWO_FACTOR_POST_SETUP_VIEW = "/account/"
    SECURITY_TOTP_ISSUER = "parkapp"
    SECURITY_TOTP_SECRETS = {"1": os.environ.get("TOTP_SECRET_KEY", SECRET_KEY)}
    STAFF_REQUIRE_2FA = env_bool("STAFF_REQUIRE_2FA", False)  # admins and operators must use it

    # JWT for the API
    JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY", SECRET_KEY)
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15))
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=env_int("JWT_REFRESH_DAYS", 14))
    JWT_TOKEN_LOCATION = ["headers"]
    PROPAGATE_EXCEPTIONS = True  # lets flask-jwt-extended errors reach their handlers

    # Request bodies past this many bytes are refused with 413 (no upload or import needs more;
    # exports are downloads, not uploads).
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 1024 * 1024)

    # Flask-RESTX
    RESTX_MASK_SWAGGER = False
    RESTX_ERROR_404_HELP = False
    RESTX_VALIDATE = True

    # Mail
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = SECURITY_EMAIL_SENDER
    MAIL_SUPPRESS_SEND = not MAIL_SERVER

    # Where the site is reached, for links in mail sent outside a request (e.g. https://park.example.com)
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "")

    # Caching and rate limits fall back to process memory without Redis
    CACHE_DEFAULT_TIMEOUT = 5
    # The open occupancy feed may be cached by clients and proxies this long.
    OPEN_DATA_MAX_AGE = env_int("OPEN_DATA_MAX_AGE", 30)
    LIVE_CACHE_SECONDS = env_int("LIVE_CACHE_SECONDS", 5)  # free counts "now" are this fresh
    # Counts over a fixed interval change only with a commit (which bumps their key's version)
    INTERVAL_CACHE_SECONDS = env_int("INTERVAL_CACHE_SECONDS", 300)
    LIVE_POLL_SECONDS = env_int("LIVE_POLL_SECONDS", 3)  # pages refresh their free counts
    # GET /api/v1/lots/<id>/stream: each stream lasts this long (the browser reconnects), and a
    # process holds at most this many, so streams never take every thread of a gthread worker.
    STREAM_SECONDS = env_int("STREAM_SECONDS", 60)
    STREAM_HEARTBEAT_SECONDS = env_int("STREAM_HEARTBEAT_SECONDS", 15)
    STREAM_MAX_PER_PROCESS = env_int("STREAM_MAX_PER_PROCESS", 8)
    # A map of the search results when set (e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png)
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    # Redis down: count in process memory (warned once per process, shown by /readyz)
    # rather than failing every login; Flask-Limiter goes back to Redis when it answers.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per minute")
    RESET_EMAIL_RATE_LIMIT = os.environ.get("RESET_EMAIL_RATE_LIMIT", "3 per hour")

    # Booking rules
    MAX_BOOKING_DAYS = env_int("MAX_BOOKING_DAYS", 30)
    CHECK_IN_EARLY_MINUTES = env_int("CHECK_IN_EARLY_MINUTES", 15)
    NO_SHOW_GRACE_MINUTES = env_int("NO_SHOW_GRACE_MINUTES", 30)
    REMINDER_MINUTES_BEFORE = env_int("REMINDER_MINUTES_BEFORE", 60)
    INACTIVE_DAYS = env_int("INACTIVE_DAYS", 30)
    MEMBERSHIP_REMINDER_DAYS = env_int("MEMBERSHIP_REMINDER_DAYS", 7)
    # A failed auto-renewal keeps the membership in force this long, retried daily, then lapses
    MEMBERSHIP_GRACE_DAYS = env_int("MEMBERSHIP_GRACE_DAYS", 3)
    PLATE_RETENTION_DAYS = env_int("PLATE_RETENTION_DAYS", 730)  # old bookings lose their plate
    # Export jobs: a worker's lease on a job lasts this long without a heartbeat; the upkeep
    # task looks for expired leases this often; a job whose worker died this often fails.
    EXPORT_LEASE_SECONDS = env_int("EXPORT_LEASE_SECONDS", 120)
    EXPORT_RECLAIM_SECONDS = env_int("EXPORT_RECLAIM_SECONDS", 60)
    EXPORT_MAX_ATTEMPTS = env_int("EXPORT_MAX_ATTEMPTS", 3)
    WAITLIST_OFFER_MINUTES = env_int("WAITLIST_OFFER_MINUTES", 15)  # a freed spot is held this long

    # Payments. With STRIPE_SECRET_KEY, drivers prepay through Stripe Checkout and the
    # webhook (signed with STRIPE_WEBHOOK_SECRET) marks payments paid. Without it, online
    # payments are recorded as paid at once when PAYMENTS_TEST_MODE is on (no card charged).
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
    PAYMENTS_TEST_MODE = env_bool("PAYMENTS_TEST_MODE", True)

    # Observability and deployment (docs/deploy.md)
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")  # json | text; production: json
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "")  # unset: INFO (a worker: its --loglevel)
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")  # set: /metrics needs it as Bearer
    # Multiprocess Prometheus metrics (gunicorn, prefork workers); prometheus_client reads the
    # same variable when it is imported, so it must be in the environment at process start.
    PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0)  # a worker serves /metrics here
    # How many proxies in front set each X-Forwarded-* header (0: trust none of them).
    PROXY_FIX_X_FOR = env_int("PROXY_FIX_X_FOR", 0)
    PROXY_FIX_X_PROTO = env_int("PROXY_FIX_X_PROTO", 0)
    PROXY_FIX_X_HOST = env_int("PROXY_FIX_X_HOST", 0)
    PROXY_FIX_X_PORT = env_int("PROXY_FIX_X_PORT", 0)
    PROXY_FIX_X_PREFIX = env_int("PROXY_FIX_X_PREFIX", 0)

    CELERY = {
        "broker_url": REDIS_URL or f"sqla+sqlite:///{INSTANCE_DIR / 'celery-broker.db'}",
        "result_backend": REDIS_URL or f"db+sqlite:///{INSTANCE_DIR / 'celery-results.db'}",
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Redis redelivers unacked tasks after this; keep it above the longest task and ETA.
        # Connecting to a down broker fails fast, so a request that enqueues does not hang
        # (its job row stays pending and the upkeep task dispatches it later).
        "broker_transport_options": {
            "visibility_timeout": 7200,
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
        }
        if REDIS_URL
        else {},
        "timezone": "UTC",
    }


class DevelopmentConfig(Config):
    """Local development: debug on, embedded defaults."""

    DEBUG = True


class TestingConfig(Config):
    """The test suite: real databases from the environment, SQLite otherwise."""

    TESTING = True
    SECRET_KEY = "testing-secret"
    JWT_SECRET_KEY = "testing-jwt-secret-key-at-least-32-bytes"
    SQLALCHEMY_DATABASE_URI = normalise_db_url(
        os.environ.get("DATABASE_URL", sqlite_url("parkapp-test.db"))
    )
    SECURITY_PASSWORD_HASH = "argon2"
    # Still argon2, at a cost that keeps hundreds of logins in the suite quick.
    SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS = {"argon2__rounds": 1, "argon2__memory_cost": 1024}
    WTF_CSRF_ENABLED = env_bool("WTF_CSRF_ENABLED", False)  # browser tests turn it on
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", False)  # a live-server test turns it on
    CACHE_DEFAULT_TIMEOUT = 1
    STRIPE_SECRET_KEY = STRIPE_WEBHOOK_SECRET = ""  # tests point these at a local stand-in


class ProductionConfig(Config):
    """Production refuses to start on development secrets or embedded services."""

    DEBUG = False
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600)
    PAYMENTS_TEST_MODE = env_bool("PAYMENTS_TEST_MODE", False)  # never free online by default
    STAFF_REQUIRE_2FA = env_bool("STAFF_REQUIRE_2FA", True)
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    @classmethod
    def check(cls):
        """Fail fast on settings that must not reach production."""
        if cls.SECRET_KEY == DEV_SECRET or len(cls.SECRET_KEY) < 32:
            raise ConfigError("SECRET_KEY must be set to a random value of 32+ characters")
        if cls.SECURITY_PASSWORD_SALT == DEV_SECRET:
            raise ConfigError("SECURITY_PASSWORD_SALT must be set")
        if not os.environ.get("DATABASE_URL"):
            raise ConfigError("DATABASE_URL must be set in production")
        if cls.STRIPE_SECRET_KEY and not cls.STRIPE_WEBHOOK_SECRET:
            raise ConfigError("STRIPE_WEBHOOK_SECRET must be set with STRIPE_SECRET_KEY")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

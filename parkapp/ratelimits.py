"""Rate limits on the account endpoints, and where the limiter keeps its counters.

Page and API logins share one budget per client (the "login" scope), so an attacker gets
AUTH_RATE_LIMIT guesses a minute in all, not that many per door. Password reset mails are
limited per client and per target address. When the limiter's Redis cannot be reached,
Flask-Limiter counts in process memory instead (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) and
returns to Redis once it answers again; /readyz says which. Its one warning on the switch
reaches the app's log through the root handler (parkapp/observability).
"""

from flask import current_app, request
from flask_limiter.util import get_remote_address

from parkapp.extensions import limiter

LOGIN_SCOPE = "login"


def auth_rate_limit():
    """Attempts per client at login, registration, password reset and token endpoints."""
    return current_app.config["AUTH_RATE_LIMIT"]


def reset_email_rate_limit():
    """Password reset mails one address may be sent, whoever asks."""
    return current_app.config["RESET_EMAIL_RATE_LIMIT"]


def login_limit():
    """The decorator for every door that checks a password: one shared budget per client."""
    return limiter.shared_limit(auth_rate_limit, scope=LOGIN_SCOPE, methods=["POST"])


def limit_security_views(app):
    """Wrap Flask-Security-Too's login, register and reset views in their limits."""
    views = app.view_functions
    views["security.login"] = login_limit()(views["security.login"])
    for endpoint in ("security.register", "security.forgot_password"):
        views[endpoint] = limiter.limit(auth_rate_limit, methods=["POST"])(views[endpoint])
    views["security.forgot_password"] = limiter.limit(
        reset_email_rate_limit, key_func=_reset_target, methods=["POST"]
    )(views["security.forgot_password"])


def _reset_target():
    """The address a reset mail would go to (the client's address when none is given)."""
    body = request.get_json(silent=True) if request.is_json else request.form
    email = str((body or {}).get("email") or "").strip().lower()
    return f"reset-to:{email}" if email else get_remote_address()


def storage_state():
    """Where limits are counted now: "redis", "memory", "memory (redis unreachable)" or "off"."""
    if not limiter.enabled:
        return "off"
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    scheme = uri.split(":", 1)[0]
    if scheme == "memory":
        return "memory"
    if limiter.storage.check():
        return scheme
    return f"memory ({scheme} unreachable)"

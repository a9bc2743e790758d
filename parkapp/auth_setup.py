"""Flask-Security-Too for pages and flask-jwt-extended for the API, on one user table."""

from flask import current_app, jsonify, request
from flask_login import user_logged_out
from flask_security import user_registered

from parkapp import ratelimits
from parkapp.accounts import revocations
from parkapp.accounts.datastore import user_datastore
from parkapp.accounts.tokens import revocation_keys, revoke_family
from parkapp.accounts.users import end_all_sessions
from parkapp.extensions import db, jwt, security
from parkapp.models import User


def init_security(app):
    """Wire Flask-Security-Too and the JWT callbacks."""
    from parkapp.auth.forms import ParkappRegisterForm

    security.init_app(app, user_datastore, register_form=ParkappRegisterForm)
    security.unauthn_handler(_unauthenticated)
    ratelimits.limit_security_views(app)
    app.view_functions["security.logout"] = _csrf_checked(app.view_functions["security.logout"])
    user_registered.connect(_give_driver_role, app)
    user_logged_out.connect(_end_all_sessions, app)
    jwt.user_lookup_loader(_load_user)
    jwt.token_in_blocklist_loader(_is_revoked)
    jwt.user_lookup_error_loader(
        lambda _h, _p: _jwt_error("Your account is not active.", "inactive_user")
    )
    jwt.unauthorized_loader(
        lambda why: _jwt_error(f"Authentication required: {why}.", "unauthenticated")
    )
    jwt.invalid_token_loader(lambda why: _jwt_error(f"Invalid token: {why}.", "invalid_token"))
    jwt.expired_token_loader(lambda _h, _p: _jwt_error("The token has expired.", "token_expired"))
    jwt.revoked_token_loader(_revoked)
    jwt.needs_fresh_token_loader(
        lambda _h, _p: _jwt_error("A fresh token is required.", "fresh_token_required")
    )


def _csrf_checked(view):
    """The view, refusing a POST without the form's CSRF token (a cross-site logout)."""
    from functools import wraps

    from parkapp.extensions import csrf

    @wraps(view)
    def checked(*args, **kwargs):
        if request.method == "POST" and current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
        return view(*args, **kwargs)

    return checked


def _jwt_error(message, code):
    return jsonify(message=message, code=code, errors={}), 401


def _load_user(_header, payload):
    # With its roles in the same query: every role check of the request reads them.
    user = (
        db.session.scalars(
            db.select(User)
            .filter_by(fs_uniquifier=payload["sub"])
            .options(db.joinedload(User.roles))
        )
        .unique()
        .first()
    )
    return user if user is not None and user.active else None


def _is_revoked(_header, payload):
    return revocations.is_revoked(revocation_keys(payload))


def _revoked(_header, payload):
    """A revoked refresh token presented again was copied: end its whole login."""
    if payload.get("type") == "refresh":
        revoke_family(payload)
    return _jwt_error("The token has been revoked.", "token_revoked")


def _unauthenticated(mechanisms, headers=None):
    """API requests get a 401 JSON body; pages are redirected to the login form."""
    from flask_security.decorators import default_unauthn_handler

    if request.blueprint == "api" or request.path.startswith("/api/"):
        return jsonify(message="Authentication required.", code="unauthenticated", errors={}), 401
    return default_unauthn_handler(mechanisms, headers)


def _end_all_sessions(_app, user, **_extra):
    """Logging out on one device logs out everywhere: a copied cookie dies with it."""
    if user is None or not getattr(user, "fs_uniquifier", None):
        return
    end_all_sessions(user)
    db.session.commit()


def _give_driver_role(_app, user, **_extra):
    """Everyone who registers is a driver; staff roles are granted by admins."""
    from parkapp.models import USER

    role = user_datastore.find_or_create_role(name=USER)
    user_datastore.add_role_to_user(user, role)  # committed with the registration

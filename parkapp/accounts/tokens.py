"""API tokens: issue a pair, rotate on refresh, revoke on logout, detect refresh reuse.

Every token of one login carries the same family id (the `fam` claim), kept through each
rotation. A refresh token that comes back after it was rotated away means two parties
hold it, so the whole family is revoked: one revocation row (`fam:<id>`) refuses every
descendant at once. A token is refused when its own jti or its family's key is revoked.
"""

from datetime import UTC, datetime
from uuid import uuid4

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_security import verify_password
from sqlalchemy.exc import IntegrityError

from parkapp.accounts import revocations
from parkapp.accounts.datastore import user_datastore
from parkapp.core.exceptions import DomainError
from parkapp.extensions import db, security
from parkapp.models import RevokedToken


class BadCredentials(DomainError):
    status, code = 401, "bad_credentials"


class TwoFactorRequired(DomainError):
    status, code = 401, "two_factor_required"


class TwoFactorSetupRequired(DomainError):
    status, code = 403, "two_factor_setup_required"


class BadCode(DomainError):
    status, code = 401, "bad_code"


class TokenRevoked(DomainError):
    status, code = 401, "token_revoked"


def authenticate(email, password):
    """The active user with these credentials, or a 401."""
    user = user_datastore.find_user(email=(email or "").strip().lower())
    if user is None or not user.password or not verify_password(password or "", user.password):
        raise BadCredentials("Wrong email or password.")
    if not user.active:
        raise BadCredentials("This account is deactivated.", code="inactive_user")
    return user


def check_second_factor(user, code):
    """An account with two-factor on must also send its authenticator app's current code."""
    if not user.has_two_factor:
        if user.two_factor_required:
            raise TwoFactorSetupRequired(
                "Staff accounts must turn on two-factor authentication on their account page "
                "before they can get API tokens."
            )
        return
    if code in (None, ""):
        raise TwoFactorRequired(
            "This account uses two-factor authentication: send the current code as `code`.",
            errors={"code": ["The code from your authenticator app is required."]},
        )
    window = current_app.config["SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY"]
    ok = security.totp_factory.verify_totp(
        token=str(code).strip(), totp_secret=user.tf_totp_secret, user=user, window=window
    )
    if not ok:
        raise BadCode("That code is not valid.", errors={"code": ["Wrong or expired code."]})


def issue_pair(user, expires_in, family=None):
    """A fresh access and refresh token of a family (a new one: a new login).

    The access token names its refresh partner, so logout can revoke both.
    """
    family = family or uuid4().hex
    refresh = create_refresh_token(identity=user.fs_uniquifier, additional_claims={"fam": family})
    refresh_jti = decode_token(refresh)["jti"]
    access = create_access_token(
        identity=user.fs_uniquifier, additional_claims={"rjti": refresh_jti, "fam": family}
    )
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(expires_in.total_seconds()),
    }


def rotate(payload, user, expires_in):
    """Revoke a refresh token and give its family a new pair; a lost race counts as reuse."""
    try:
        revoke(payload)
    except IntegrityError:  # the same refresh token, used twice at the same moment
        db.session.rollback()
        revoke_family(payload)
        raise TokenRevoked("The token has been revoked.") from None
    return issue_pair(user, expires_in, family=payload.get("fam"))


def revocation_keys(payload):
    """The keys whose revocation refuses this token: its jti and its family's key."""
    keys = [payload["jti"]]
    if payload.get("fam"):  # tokens issued before families existed have none
        keys.append(_family_key(payload["fam"]))
    return keys


def revoke_family(payload):
    """Refuse every token of the payload's login from now on."""
    if not payload.get("fam"):
        return
    added = [_revoke_jti(_family_key(payload["fam"]), None)]
    try:
        db.session.commit()
    except IntegrityError:  # revoked by a concurrent request: just as good
        db.session.rollback()
        return
    revocations.published([row for row in added if row])


def _family_key(family):
    return f"fam:{family}"


def revoke(*payloads):
    """Revoke the tokens whose decoded payloads are given (and an access token's partner)."""
    added = []
    for payload in payloads:
        expires = datetime.fromtimestamp(payload["exp"], UTC)
        added.append(_revoke_jti(payload["jti"], expires))
        if payload.get("rjti"):
            added.append(_revoke_jti(payload["rjti"], None))
    db.session.commit()
    revocations.published([row for row in added if row])


def _revoke_jti(jti, expires_at):
    """Add a revocation row unless there is one; (jti, expires_at) when added, else None."""
    if db.session.scalar(db.select(RevokedToken.id).filter_by(jti=jti)) is not None:
        return None
    if expires_at is None:  # outlives any token issued until now (a family: all of them)
        expires_at = datetime.now(UTC) + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    db.session.add(RevokedToken(jti=jti, expires_at=expires_at))
    return jti, expires_at

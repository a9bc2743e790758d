"""Accounts: registration rules, admin search, roles and deactivation."""

from sqlalchemy import func, or_, select

from parkapp.accounts.datastore import user_datastore
from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.extensions import db
from parkapp.models import ADMIN, ROLE_NAMES, USER, Role, User, Vehicle


def ensure_roles():
    """Create the three roles if they are missing (idempotent)."""
    for name in ROLE_NAMES:
        user_datastore.find_or_create_role(name=name)
    db.session.commit()


def register_user(email, password, full_name):
    """Create a driver account; 409 if the email is taken, 422 for a weak password."""
    from flask_security import (
        hash_password,
        password_complexity_validator,
        password_length_validator,
    )

    email = (email or "").strip().lower()
    _check_email(email)
    password = password or ""
    problems = password_length_validator(password) or password_complexity_validator(
        password, True, email=email
    )
    if problems:
        raise Invalid("password", " ".join(str(p) for p in problems))
    full_name = (full_name or "").strip()
    if not full_name or len(full_name) > 120:
        raise Invalid("full_name", "Give your name (at most 120 characters).")
    if user_datastore.find_user(email=email) is not None:
        raise Conflict(
            "An account with this email already exists.",
            code="email_taken",
            errors={"email": ["Already registered."]},
        )
    ensure_roles()
    user = user_datastore.create_user(
        email=email, password=hash_password(password), full_name=full_name, roles=[USER]
    )
    db.session.commit()
    return user


def _check_email(email):
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid("email", str(exc)) from None


def get_user(user_id):
    """A user by id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def search_users(term=None):
    """Users whose email, name or vehicle plate contains the term."""
    query = select(User).order_by(User.email)
    if term:
        pattern = f"%{term.strip().lower()}%"
        plate = "".join(ch for ch in term.upper() if ch.isalnum())
        matches = [func.lower(User.email).like(pattern), func.lower(User.full_name).like(pattern)]
        if plate:  # a term without letters or digits names no plate
            matches.append(
                User.id.in_(select(Vehicle.user_id).where(Vehicle.plate.contains(plate)))
            )
        query = query.where(or_(*matches))
    return query.options(db.selectinload(User.roles))


def set_roles(user, role_names, acting_admin):
    """Replace a user's roles; an admin cannot remove their own admin role or the last admin's."""
    return update_user(user, acting_admin, roles=role_names)


def end_all_sessions(user):
    """Invalidate every session, remember cookie and API token of the user (not committed).

    Sessions, remember cookies and JWT identities all name the user by fs_uniquifier, so a
    new one makes every copy of them, wherever it was taken, worthless at once.
    """
    user_datastore.set_uniquifier(user)


def set_active(user, active, acting_admin):
    """Deactivate or reactivate an account; a deactivated user cannot log in or use tokens."""
    return update_user(user, acting_admin, active=active)


def update_user(user, acting_admin, *, active=None, roles=None):
    """Change an account's active flag and/or roles in one commit, after checking both.

    409 (nothing changes) for removing your own admin role, deactivating yourself, or
    leaving no active admin.
    """
    if roles is not None:
        roles = sorted(set(roles))
        unknown = set(roles) - set(ROLE_NAMES)
        if unknown:
            raise Invalid("roles", f"Unknown role(s): {', '.join(sorted(unknown))}.")
    stays_admin = ADMIN in roles if roles is not None else user.is_admin
    stays_active = bool(active) if active is not None else user.active
    if user.id == acting_admin.id and not stays_admin:
        raise Conflict(
            "You cannot remove your own admin role.",
            code="self_demotion",
            errors={"roles": ["You cannot remove your own admin role."]},
        )
    if user.id == acting_admin.id and not stays_active:
        raise Conflict(
            "You cannot deactivate your own account.",
            code="self_deactivation",
            errors={"active": ["You cannot deactivate your own account."]},
        )
    if user.is_admin and user.active and not (stays_admin and stays_active):
        _refuse_if_last_admin(user)
    if roles is not None:
        ensure_roles()
        user.roles = list(db.session.scalars(select(Role).where(Role.name.in_(roles))))
    if active is not None:
        if user.active and not active:
            # Reactivating later must not bring old sessions and tokens back to life.
            end_all_sessions(user)
        user.active = bool(active)
    db.session.commit()
    return user


def _refuse_if_last_admin(user):
    others = db.session.scalar(
        select(func.count(User.id))
        .join(User.roles)
        .where(Role.name == ADMIN, User.active.is_(True), User.id != user.id)
    )
    if not others:
        raise Conflict(
            "This is the last active admin: make another admin first.",
            code="last_admin",
            errors={"roles": ["This is the last active admin: make another admin first."]},
        )


def reset_two_factor(user):
    """Turn off an account's two-factor (a lost device); it is set up again at the next login."""
    user_datastore.tf_reset(user)
    db.session.commit()
    return user


def set_booking_mail(user, wanted):
    """Turn the driver's booking mail on or off (receipts and security mail always go)."""
    user.booking_mail = bool(wanted)
    db.session.commit()
    return user

"""Helpers every namespace uses: strict timestamps, pagination, roles, money."""

from datetime import datetime
from functools import wraps

from flask import request
from flask_jwt_extended import current_user, jwt_required, verify_jwt_in_request
from flask_restx import fields

from parkapp.extensions import db
from parkapp.services.exceptions import Forbidden, Invalid

MAX_PER_PAGE = 200


def parse_timestamp(field, value, required=False):
    """An aware datetime from ISO 8601; 422 for junk or a missing offset."""
    if value in (None, ""):
        if required:
            raise Invalid(field, "This field is required.")
        return None
    if not isinstance(value, str):
        raise Invalid(field, "Give an ISO 8601 timestamp string.")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise Invalid(field, "Not an ISO 8601 timestamp, e.g. 2026-11-23T09:00:00Z.") from None
    if parsed.tzinfo is None:
        raise Invalid(field, "Give the time with a UTC offset, e.g. 2026-11-23T09:00:00Z.")
    return parsed


def arg_int(name, default=None, low=None, high=None):
    """An integer query argument within bounds; 422 otherwise."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(name, "Must be a whole number.") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise Invalid(name, f"Must be between {low} and {high}.")
    return value


def arg_float(name, low, high):
    """A float query argument within bounds, or None; 422 for junk."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(name, "Must be a number.") from None
    if not low <= value <= high:
        raise Invalid(name, f"Must be between {low} and {high}.")
    return value


def paginate(query, serialise):
    """Run a select with ?page and ?per_page and wrap the items as API.md lists them."""
    page = arg_int("page", 1, 1, 1_000_000)
    per_page = arg_int("per_page", 50, 1, MAX_PER_PAGE)
    result = db.paginate(query, page=page, per_page=per_page, error_out=False)
    return {
        "items": [serialise(item) for item in result.items],
        "page": page,
        "per_page": per_page,
        "total": result.total,
    }


def roles_required(*names):
    """Require a valid access token whose user has one of the roles (403 otherwise)."""

    def decorator(fn):
        @wraps(fn)
        @jwt_required()
        def wrapper(*args, **kwargs):
            if not any(current_user.has_role(name) for name in names):
                raise Forbidden("Your role does not allow this.")
            return fn(*args, **kwargs)

        return wrapper

    return decorator


def optional_user():
    """The token's user when a valid token is sent, else None."""
    verify_jwt_in_request(optional=True)
    return current_user if current_user else None


def json_body():
    """The request's JSON object; 400 when it is not JSON, 422 when it is not an object."""
    data = request.get_json(force=False, silent=False)
    if not isinstance(data, dict):
        raise Invalid("body", "Send a JSON object.")
    return data


def money_model(api):
    """The shared money model: amount_cents and currency."""
    return api.model(
        "Money",
        {
            "amount_cents": fields.Integer(required=True),
            "currency": fields.String(required=True, example="USD"),
        },
    )


def error_model(api):
    """The shared error body model."""
    return api.model(
        "Error",
        {
            "message": fields.String(required=True),
            "code": fields.String(required=True),
            "errors": fields.Raw(description="field -> list of problems"),
        },
    )

"""Helpers every namespace uses: strict timestamps, pagination, roles, money."""

from datetime import datetime
from functools import wraps

from flask import g, request
from flask_jwt_extended import current_user, jwt_required, verify_jwt_in_request
from flask_restx import Resource as RestxResource
from flask_restx import fields

from parkapp.core import inputs
from parkapp.core.exceptions import Forbidden, Invalid
from parkapp.extensions import db
from parkapp.models import SpotKind

MAX_PER_PAGE = 200
KINDS = [kind.value for kind in SpotKind]  # spot kinds, as the API names them


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


class Resource(RestxResource):
    """A Flask-RESTX resource whose request model is checked when the method reads its body.

    Flask-RESTX validates the body before the method runs, so before the method's token and
    role checks: a caller without a token would learn from a 422 what to send, instead of
    getting 401. Here `json_body()` runs the check, after those decorators let the caller in.
    """

    def validate_payload(self, func):
        g.pending_payload_check = lambda: super(Resource, self).validate_payload(func)


def json_body():
    """The request's JSON object; 400 when it is not JSON, 422 when it is not an object.

    The resource's request model is checked first (see `Resource`).
    """
    check = g.pop("pending_payload_check", None)
    if check is not None:
        check()
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


# Ids past a 32-bit integer cannot exist; the converter answers 404 instead of a database error.
MAX_ID = 2**31 - 1
ID = f"int(max={MAX_ID})"
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL characters


def nullable(field):
    """The field, also accepting JSON null (which clears the value)."""
    schema = field.__schema__  # cached per field; models read their properties from it
    schema.update({"type": [schema["type"], "null"], "x-nullable": True})
    return field


def timestamp(field, value, required=False):
    """An ISO 8601 input time (see parse_timestamp) in UTC, within the accepted years."""
    parsed = parse_timestamp(field, value, required)
    return None if parsed is None else inputs.check_instant(field, parsed)


def iso(value):
    """ISO 8601 with offset, or None."""
    return value.isoformat() if value is not None else None


def money(cents, currency):
    """API.md's money object, or None when there is no amount yet."""
    return None if cents is None else {"amount_cents": cents, "currency": currency}


def page_of(items, serialise):
    """Paginate an already computed list with ?page and ?per_page, as API.md lists them."""
    page = arg_int("page", 1, 1, 1_000_000)
    per_page = arg_int("per_page", 50, 1, MAX_PER_PAGE)
    start = (page - 1) * per_page
    return {
        "items": [serialise(item) for item in items[start : start + per_page]],
        "page": page,
        "per_page": per_page,
        "total": len(items),
    }


def page_model(namespace, name, item):
    """The documented shape of a paginated list of `item`."""
    return namespace.model(
        name,
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(example=1),
            "per_page": fields.Integer(example=50),
            "total": fields.Integer(example=123),
        },
    )


# Bounds the parsers enforce, so the spec states them once for every list and filter.
QUERY_BOUNDS = {"page": (1, 1_000_000), "per_page": (1, MAX_PER_PAGE)}


def query_params(**described):
    """Swagger query parameters from name=(type, description) pairs; type may be date-time.

    Pages and ids carry the bounds arg_int enforces; a date-time the years timestamp() takes.
    """
    params = {}
    for name, (kind, text) in described.items():
        param = {"in": "query", "description": text}
        if kind == "date-time":
            param.update(type="string", format="date-time", pattern=inputs.YEARS_PATTERN)
        else:
            param["type"] = kind
        low, high = QUERY_BOUNDS.get(name, (1, MAX_ID) if name.endswith("_id") else (None, None))
        if kind == "integer" and low is not None:
            param.update(minimum=low, maximum=high)
        params[name] = param
    return params


def viewer_is_admin():
    """Whether the request carries an admin's token (anonymous requests are allowed)."""
    user = optional_user()
    return user is not None and user.is_admin

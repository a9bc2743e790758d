"""/users: admins find accounts by email, name or plate, read one, and change roles or access."""

from datetime import UTC

from flask import request
from flask_jwt_extended import current_user
from flask_restx import Namespace, fields

from parkapp.accounts import users
from parkapp.api.accounts.vehicles import vehicle_dict, vehicle_out
from parkapp.api.booking.bookings import booking_dict, booking_out
from parkapp.api.common import (
    ID,
    MAX_PER_PAGE,
    Resource,
    error_model,
    iso,
    json_body,
    page_model,
    paginate,
    query_params,
    roles_required,
)
from parkapp.booking import queries
from parkapp.core.exceptions import Invalid
from parkapp.extensions import db
from parkapp.models import ADMIN, ROLE_NAMES

ns = Namespace("users", description="Accounts, for admins", path="/")
error = error_model(ns)
RECENT_BOOKINGS = 10

account_out = ns.model(
    "Account",
    {
        "id": fields.Integer,
        "email": fields.String,
        "full_name": fields.String,
        "roles": fields.List(fields.String(enum=list(ROLE_NAMES))),
        "active": fields.Boolean,
        "two_factor": fields.Boolean(description="signs in with an authenticator app"),
        "created_at": fields.DateTime,
    },
)
account_detail_out = ns.inherit(
    "AccountDetail",
    account_out,
    {
        "vehicles": fields.List(fields.Nested(vehicle_out)),
        "recent_bookings": fields.List(
            fields.Nested(booking_out), description=f"the latest {RECENT_BOOKINGS}, newest first"
        ),
    },
)
account_page = page_model(ns, "AccountPage", account_out)
account_changes_in = ns.model(
    "AccountChanges",
    {
        "active": fields.Boolean(description="false: no login, no tokens"),
        "roles": fields.List(
            fields.String(enum=list(ROLE_NAMES)), description="replaces the roles (may be none)"
        ),
    },
    strict=True,
)


def account_dict(user):
    """An account as admins see it in a list."""
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "roles": user.role_names,
        "active": bool(user.active),
        "two_factor": user.has_two_factor,
        "created_at": iso(_aware(user.create_datetime)),
    }


def _aware(value):
    # Flask-Security's create_datetime is stored without an offset, in UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def account_detail(user):
    """An account with its vehicles and latest bookings."""
    recent = db.session.scalars(
        queries.filtered_query(queries.BookingFilter(user_id=user.id)).limit(RECENT_BOOKINGS)
    ).unique()
    return {
        **account_dict(user),
        "vehicles": [vehicle_dict(v) for v in user.vehicles],
        "recent_bookings": [booking_dict(b) for b in recent],
    }


@ns.route("/users")
class UserList(Resource):
    @ns.doc(
        params=query_params(
            q=("string", "email, name or vehicle plate contains"),
            page=("integer", "page number, from 1"),
            per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
        )
    )
    @ns.response(200, "Accounts by email", account_page)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(422, "Invalid search", error)
    @roles_required(ADMIN)
    def get(self):
        """Find accounts by email, name or plate (admin)."""
        term = request.args.get("q", "").strip()
        if len(term) > 100 or "\x00" in term:
            raise Invalid("q", "Search for at most 100 ordinary characters.")
        return paginate(users.search_users(term or None), account_dict)


@ns.route(f"/users/<{ID}:user_id>")
@ns.param("user_id", "The account id")
class UserItem(Resource):
    @ns.response(200, "The account with roles, vehicles and recent bookings", account_detail_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such account", error)
    @roles_required(ADMIN)
    def get(self, user_id):
        """One account with its roles, vehicles and latest bookings (admin)."""
        return account_detail(users.get_user(user_id))

    @ns.expect(account_changes_in, validate=True)
    @ns.response(200, "Changed", account_detail_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(404, "No such account", error)
    @ns.response(409, "Your own admin role or account, or the last active admin", error)
    @ns.response(422, "Unknown role or empty change", error)
    @roles_required(ADMIN)
    def patch(self, user_id):
        """Activate or deactivate an account and/or replace its roles (admin)."""
        user = users.get_user(user_id)
        data = json_body()
        if not data:
            raise Invalid("body", "Give active and/or roles.")
        users.update_user(user, current_user, active=data.get("active"), roles=data.get("roles"))
        return account_detail(user)

"""/auth: register, tokens with rotation, logout, the current user."""

from flask import current_app
from flask_jwt_extended import current_user, get_jwt, jwt_required
from flask_restx import Namespace, fields

from parkapp.accounts import privacy, tokens, users
from parkapp.api.common import Resource, json_body
from parkapp.extensions import limiter
from parkapp.ratelimits import auth_rate_limit, login_limit

ns = Namespace("auth", description="Accounts and tokens")

user_out = ns.model(
    "User",
    {
        "id": fields.Integer,
        "email": fields.String,
        "full_name": fields.String,
        "roles": fields.List(fields.String, attribute="role_names"),
        "active": fields.Boolean,
    },
)
register_in = ns.model(
    "Register",
    {
        "email": fields.String(required=True, example="driver@example.com"),
        "password": fields.String(required=True, min_length=1),
        "full_name": fields.String(required=True, example="Dana Driver"),
    },
)
token_in = ns.model(
    "TokenRequest",
    {
        "email": fields.String(required=True),
        "password": fields.String(required=True),
        "code": fields.String(description="The authenticator app's code (two-factor accounts)"),
    },
)
token_out = ns.model(
    "TokenPair",
    {
        "access_token": fields.String,
        "refresh_token": fields.String,
        "token_type": fields.String,
        "expires_in": fields.Integer,
    },
)


@ns.route("/register")
class Register(Resource):
    @ns.doc(security=[])
    @ns.expect(register_in, validate=True)
    @ns.response(409, "Email taken")
    @ns.response(422, "Weak password or invalid field")
    @ns.marshal_with(user_out, code=201)
    @limiter.limit(auth_rate_limit)
    def post(self):
        """Create a driver account."""
        data = json_body()
        return users.register_user(data["email"], data["password"], data["full_name"]), 201


@ns.route("/token")
class Token(Resource):
    @ns.doc(security=[])
    @ns.expect(token_in, validate=True)
    @ns.response(401, "Bad credentials, or a two-factor code missing or wrong")
    @ns.response(403, "Staff account without the two-factor it is required to use")
    @ns.marshal_with(token_out)
    @login_limit()
    def post(self):
        """Exchange email and password for an access and a refresh token."""
        data = json_body()
        user = tokens.authenticate(data["email"], data["password"])
        tokens.check_second_factor(user, data.get("code"))
        return tokens.issue_pair(user, current_app.config["JWT_ACCESS_TOKEN_EXPIRES"])


@ns.route("/refresh")
class Refresh(Resource):
    @ns.doc(description="Send the refresh token as the Bearer token.")
    @ns.marshal_with(token_out)
    @jwt_required(refresh=True)
    def post(self):
        """Rotate: a new pair for a refresh token, which then stops working.

        Presenting a refresh token again after its rotation revokes every token of that
        login (reuse detection): one of the two holders is not the owner.
        """
        expires_in = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
        return tokens.rotate(get_jwt(), current_user, expires_in)


@ns.route("/logout")
class Logout(Resource):
    @ns.response(204, "Revoked")
    @jwt_required(verify_type=False)
    def post(self):
        """Revoke the token sent, its partner and every other token of the same login."""
        tokens.revoke(get_jwt())
        tokens.revoke_family(get_jwt())
        return "", 204


erase_in = ns.model(
    "EraseAccount", {"password": fields.String(required=True, min_length=1)}, strict=True
)


@ns.route("/me")
class Me(Resource):
    @ns.marshal_with(user_out)
    @jwt_required()
    def get(self):
        """The current user with roles."""
        return current_user

    @ns.expect(erase_in, validate=True)
    @ns.response(204, "Erased: personal data replaced by a pseudonym, every token revoked")
    @ns.response(401, "Wrong password")
    @ns.response(409, "A reservation or a stay is still open")
    @jwt_required()
    def delete(self):
        """Erase the account: name, email and plates pseudonymised, money records kept."""
        privacy.erase(current_user, json_body()["password"])
        return "", 204


@ns.route("/me/export")
class MyData(Resource):
    @ns.response(200, "Everything held about the current user")
    @jwt_required()
    def get(self):
        """Everything parkapp holds about you: account, vehicles, bookings, payments, more."""
        return privacy.export_data(current_user)

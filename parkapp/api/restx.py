"""The /api/v1 blueprint and its Flask-RESTX Api, answering every error with one body."""

import threading

from flask import Blueprint
from flask_restx import Api
from werkzeug.exceptions import HTTPException

from parkapp.api import spec
from parkapp.api.common import Resource
from parkapp.core.exceptions import DomainError
from parkapp.errors import error_body

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")

AUTHORIZATIONS = {
    "Bearer": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Bearer <access token>` from POST /auth/token",
    },
}


class ParkappApi(Api):
    """Flask-RESTX with API.md's error body for every error it handles."""

    _completed = None
    _completing = threading.Lock()

    @property
    def __schema__(self):
        """The Swagger spec, completed once by parkapp.api.spec."""
        if self._completed is not None:
            return self._completed
        # gthread workers: the first requests arrive together, and RESTX publishes its
        # dict (self._schema) before `complete` has changed it in place; others wait here.
        with self._completing:
            if self._completed is None:
                generated = super().__schema__
                if "paths" not in generated:
                    return generated
                self._completed = self._schema = spec.complete(generated)
        return self._completed

    def register_resource(self, namespace, resource, *urls, **kwargs):
        # Flask-RESTX's own Resource checks the body before the token (see common.Resource).
        if not issubclass(resource, Resource):
            raise TypeError(f"{resource.__name__} must subclass parkapp.api.common.Resource")
        return super().register_resource(namespace, resource, *urls, **kwargs)

    def handle_error(self, e):
        if isinstance(e, DomainError):
            return self.make_response(error_body(e.status, e.message, e.code, e.errors), e.status)
        if isinstance(e, HTTPException):
            data = getattr(e, "data", None) or {}
            if e.code == 400 and data.get("errors"):  # request-model validation
                errors = {str(k): [str(v)] for k, v in data["errors"].items()}
                return self.make_response(
                    error_body(422, "Some fields are invalid.", "invalid", errors), 422
                )
            response = self.make_response(
                error_body(
                    e.code,
                    data.get("message") or e.description,
                    data.get("code"),
                    data.get("errors"),
                ),
                e.code,
            )
            for name in ("Retry-After", "Allow", "WWW-Authenticate"):
                value = e.get_response().headers.get(name)
                if value:
                    response.headers[name] = value
            return response
        raise e


api = ParkappApi(
    api_bp,
    version="1.0",
    title="parkapp API",
    description="Parking lots, spots, vehicles and bookings. Money is integer cents; "
    "times are ISO 8601 with an offset.",
    doc="/docs",
    authorizations=AUTHORIZATIONS,
    security="Bearer",
)

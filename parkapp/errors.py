"""Central error handlers: JSON for the API (and JSON clients), HTML pages otherwise."""

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from parkapp.core.exceptions import DomainError
from parkapp.extensions import db

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


def wants_json():
    """API paths always get JSON; elsewhere, clients that prefer JSON do."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_body(status, message, code=None, errors=None):
    """The one error body of API.md."""
    return {"message": message, "code": code or CODES.get(status, "error"), "errors": errors or {}}


def respond(status, message, code=None, errors=None, headers=None):
    """Answer an error in the form the client wants."""
    if wants_json():
        response = jsonify(error_body(status, message, code, errors))
    else:
        template = (
            f"errors/{status}.html" if status in (403, 404, 429, 500) else "errors/generic.html"
        )
        response = render_template(template, status=status, message=message, errors=errors or {})
    return response, status, headers or {}


def register(app):
    """Install the handlers on the app."""

    @app.errorhandler(DomainError)
    def _domain(exc):
        db.session.rollback()
        return respond(exc.status, exc.message, exc.code, exc.errors)

    @app.errorhandler(HTTPException)
    def _http(exc):
        headers = {}
        if exc.code == 429:
            headers["Retry-After"] = _retry_after(exc)
        if exc.code == 405 and exc.get_response().headers.get("Allow"):
            headers["Allow"] = exc.get_response().headers["Allow"]
        message = exc.description or exc.name
        data = getattr(exc, "data", None) or {}
        return respond(
            exc.code, data.get("message", message), data.get("code"), data.get("errors"), headers
        )

    @app.errorhandler(Exception)
    def _unexpected(exc):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return respond(500, "Something went wrong on our side; nothing was saved.")


def _retry_after(exc):
    limit = getattr(exc, "limit", None)
    if limit is not None and getattr(limit, "limit", None) is not None:
        return str(int(limit.limit.get_expiry()))
    return "60"

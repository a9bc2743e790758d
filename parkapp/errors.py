"""Central error handlers: JSON for the API (and JSON clients), HTML pages otherwise."""

from flask import jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from parkapp.core.exceptions import DomainError
from parkapp.core.inputs import clip, clip_message
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
    """The one error body of API.md; any bad value it quotes is cut to a short prefix."""
    return {
        "message": clip_message(message),
        "code": code or CODES.get(status, "error"),
        "errors": {
            clip(str(field)): [
                clip_message(problem)
                for problem in (problems if isinstance(problems, list) else [problems])
            ]
            for field, problems in (errors or {}).items()
        },
    }


def respond(status, message, code=None, errors=None, headers=None):
    """Answer an error in the form the client wants."""
    if wants_json():
        response = jsonify(error_body(status, message, code, errors))
    else:
        template = (
            f"errors/{status}.html" if status in (403, 404, 429, 500) else "errors/generic.html"
        )
        body = error_body(status, message, code, errors)
        response = render_template(
            template, status=status, message=body["message"], errors=body["errors"]
        )
    return response, status, headers or {}


def register(app):
    """Install the handlers on the app."""

    @app.errorhandler(DomainError)
    def _domain(exc):
        db.session.rollback()
        message = exc.message if wants_json() else exc.words  # pages: no internal field names
        return respond(exc.status, message, exc.code, exc.errors)

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

    # Runs before Flask-SQLAlchemy's own teardown (registered later, run first): closing a
    # session whose connection was killed raises, and would turn any answer into a bare 500.
    @app.teardown_appcontext
    def _close_session(exc):
        _drop_session()

    @app.errorhandler(DBAPIError)
    def _database(exc):
        if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
            return _unexpected(exc)
        _drop_session()
        # The connection was lost (database restarted, connection killed): the transaction
        # was rolled back, unless it was lost during COMMIT itself, hence "may".
        app.logger.warning("Database unavailable on %s %s: %s", request.method, request.path, exc)
        return respond(
            503,
            "The database could not be reached; please try again in a moment.",
            "database_unavailable",
            headers={"Retry-After": "1"},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc):
        _safe_rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return respond(500, "Something went wrong on our side; nothing was saved.")


def _safe_rollback():
    """Roll the session back; on a connection already lost, drop the session instead.

    An error handler (or the app context's teardown) that raised would leave the client
    Werkzeug's bare HTML 500.
    """
    try:
        db.session.rollback()
    except Exception:  # the connection died under the transaction
        _drop_session()


def _drop_session():
    """Close the request's session whatever state its connection is in; forget it if that fails.

    Closing rolls back on the connection, which raises when the connection was killed (also
    after a savepoint was rolled back); the teardown would then raise it again.
    """
    try:
        db.session.remove()
    except Exception:
        db.session.registry.clear()  # the dead connection is invalidated and discarded


def _retry_after(exc):
    limit = getattr(exc, "limit", None)
    if limit is not None and getattr(limit, "limit", None) is not None:
        return str(int(limit.limit.get_expiry()))
    return "60"

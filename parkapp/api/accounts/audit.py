"""/audit: the log of admin and operator actions (admin only)."""

from flask import request
from flask_restx import Namespace, fields

from parkapp.api.common import (
    MAX_PER_PAGE,
    Resource,
    error_model,
    iso,
    page_model,
    paginate,
    query_params,
    roles_required,
    timestamp,
)
from parkapp.core.exceptions import Invalid
from parkapp.web import audit

ns = Namespace("audit", description="The audit log of staff actions (admin)")
error = error_model(ns)

event_out = ns.model(
    "AuditEvent",
    {
        "id": fields.Integer,
        "actor": fields.Raw(example={"id": 1, "email": "ada@example.com"}),
        "action": fields.String(example="lot.update"),
        "target": fields.Raw(example={"type": "lot", "id": "3"}),
        "before": fields.Raw(description="changed fields before (null when created)"),
        "after": fields.Raw(description="changed fields after (null when deleted)"),
        "ip": fields.String(example="203.0.113.7"),
        "endpoint": fields.String(example="api.lots_lot_item"),
        "created_at": fields.DateTime,
    },
)
event_page = page_model(ns, "AuditEventPage", event_out)


def event_dict(event):
    """One audit event as the API lists it."""
    return {
        "id": event.id,
        "actor": {"id": event.actor_id, "email": event.actor_email},
        "action": event.action,
        "target": {"type": event.target_type, "id": event.target_id},
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "endpoint": event.endpoint,
        "created_at": iso(event.created_at),
    }


@ns.route("")
class AuditList(Resource):
    @ns.doc(
        params=query_params(
            actor=("string", "the actor's user id, or part of their email"),
            action=("string", "an action (lot.update) or a type (lot: every lot.* action)"),
            **{
                "from": ("date-time", "events at or after (ISO 8601 with offset)"),
                "to": ("date-time", "events before (ISO 8601 with offset)"),
            },
            page=("integer", "page number, from 1"),
            per_page=("integer", f"items per page, max {MAX_PER_PAGE}"),
        )
    )
    @ns.response(200, "Events, newest first", event_page)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "Not an admin", error)
    @ns.response(422, "Invalid filter", error)
    @roles_required("admin")
    def get(self):
        """The audit log, filtered by actor, action and time (admin)."""
        since = timestamp("from", request.args.get("from"))
        until = timestamp("to", request.args.get("to"))
        if since is not None and until is not None and until <= since:
            raise Invalid("to", "Must be after `from`.")
        stmt = audit.query(request.args.get("actor"), request.args.get("action"), since, until)
        return paginate(stmt, event_dict)

"""/exports: ask for a report built in the background, follow its progress, download it.

Another user's export is a 404, so ids do not leak.
"""

from flask import send_file, url_for
from flask_jwt_extended import current_user, jwt_required
from flask_restx import Namespace, fields
from sqlalchemy import select

from parkapp.api.common import (
    ID,
    MAX_ID,
    Resource,
    error_model,
    iso,
    json_body,
    nullable,
    page_model,
    paginate,
    query_params,
)
from parkapp.exports import jobs as exports
from parkapp.models import BookingStatus, ExportJob, JobKind, JobStatus

ns = Namespace("exports", description="Reports built in the background", path="/")
error = error_model(ns)
KINDS = [kind.value for kind in JobKind]
MONTH, DAY = r"^\d{4}-\d{2}$", r"^\d{4}-\d{2}-\d{2}$"

export_in = ns.model(
    "ExportRequest",
    {
        "kind": fields.String(
            required=True,
            enum=KINDS,
            example="bookings_csv",
            description="admin_bookings_csv and revenue_pdf are for admins",
        ),
        "month": nullable(
            fields.String(
                pattern=MONTH,
                example="2026-02",
                description="activity_pdf: the month (default: last month)",
            )
        ),
        "date_from": nullable(
            fields.String(
                pattern=DAY,
                example="2026-01-01",
                description="CSV and revenue: first day (default: all time)",
            )
        ),
        "date_to": nullable(
            fields.String(
                pattern=DAY,
                example="2026-01-31",
                description="CSV and revenue: last day, inclusive",
            )
        ),
        "lot_id": nullable(
            fields.Integer(min=1, max=MAX_ID, description="admin_bookings_csv only")
        ),
        "status": nullable(
            fields.String(
                enum=[s.value for s in BookingStatus], description="admin_bookings_csv only"
            )
        ),
    },
    strict=True,
)
accepted_out = ns.model(
    "ExportAccepted",
    {
        "id": fields.Integer,
        "status": fields.String(enum=[s.value for s in JobStatus]),
        "status_url": fields.String(example="/api/v1/exports/7"),
    },
)
export_out = ns.model(
    "Export",
    {
        "id": fields.Integer,
        "kind": fields.String(enum=KINDS),
        "status": fields.String(enum=[s.value for s in JobStatus]),
        "progress": fields.Integer(min=0, max=100),
        "params": fields.Raw,
        "download_url": fields.String(description="once the file is ready"),
        "file_name": fields.String,
        "error": fields.String(description="why it failed, in words"),
        "created_at": fields.DateTime,
        "finished_at": fields.DateTime,
    },
)
export_page = page_model(ns, "ExportPage", export_out)


def export_dict(job):
    """A job as the API shows it; download_url and error only when there are some."""
    data = {
        "id": job.id,
        "kind": job.kind.value,
        "status": job.status.value,
        "progress": job.progress,
        "params": job.params or {},
        "file_name": job.file_name,
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at),
    }
    if exports.has_file(job):
        data["download_url"] = url_for("api.export_download", job_id=job.id)
    if job.error:
        data["error"] = job.error
    return data


@ns.route("/exports")
class ExportList(Resource):
    @ns.doc(
        params=query_params(page=("integer", "page number"), per_page=("integer", "items per page"))
    )
    @ns.response(200, "Your exports, newest first", export_page)
    @ns.response(401, "No valid token", error)
    @jwt_required()
    def get(self):
        """Your exports, newest first."""
        own = (
            select(ExportJob)
            .where(ExportJob.user_id == current_user.id)
            .order_by(ExportJob.id.desc())
        )
        return paginate(own, export_dict)

    @ns.expect(export_in, validate=True)
    @ns.response(202, "Queued; follow status_url", accepted_out)
    @ns.response(401, "No valid token", error)
    @ns.response(403, "An admin-only kind", error)
    @ns.response(422, "Invalid field", error)
    @jwt_required()
    def post(self):
        """Ask for an export; it is built in the background and emailed to you."""
        data = json_body()
        params = {key: value for key, value in data.items() if key != "kind"}
        job = exports.request_export(current_user, data["kind"], params)
        return {
            "id": job.id,
            "status": job.status.value,
            "status_url": url_for("api.export", job_id=job.id),
        }, 202


@ns.route(f"/exports/<{ID}:job_id>", endpoint="export")
@ns.param("job_id", "The export id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such export of yours", error)
class ExportItem(Resource):
    @ns.response(200, "Status and progress", export_out)
    @jwt_required()
    def get(self, job_id):
        """One of your exports: status, progress 0-100, and the download once done."""
        return export_dict(exports.get_job(job_id, current_user))


@ns.route(f"/exports/<{ID}:job_id>/download", endpoint="export_download")
@ns.param("job_id", "The export id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such export of yours", error)
@ns.response(409, "Not ready yet", error)
class ExportDownload(Resource):
    @ns.produces(["text/csv", "application/pdf"])
    @ns.response(200, "The file")
    @jwt_required()
    def get(self, job_id):
        """The file of one of your finished exports."""
        job = exports.download_path(job_id, current_user)
        return send_file(job.file_path, as_attachment=True, download_name=job.file_name, max_age=0)

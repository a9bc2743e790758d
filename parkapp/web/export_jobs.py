"""Export jobs in words for pages: labels, what a job covers, its progress, field errors."""

from datetime import datetime

from flask import flash, url_for

from parkapp.exports import jobs as exports
from parkapp.models import JobKind, JobStatus

UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING)


KIND_LABELS = {
    JobKind.BOOKINGS_CSV: "Booking history (CSV)",
    JobKind.ACTIVITY_PDF: "Monthly activity (PDF)",
    JobKind.ADMIN_BOOKINGS_CSV: "All bookings (CSV)",
    JobKind.REVENUE_PDF: "Revenue and occupancy (PDF)",
}


def iso_day(day):
    return day.isoformat() if day else None


def job_status(job):
    """What the progress poller needs to know about a job."""
    data = {
        "id": job.id,
        "kind": job.kind.value,
        "status": job.status.value,
        "progress": job.progress,
        "error": job.error,
    }
    if exports.has_file(job):
        data["download_url"] = url_for("user.export_download", job_id=job.id)
        data["download_label"] = download_label(job)
    return data


def download_label(job):
    """'Download CSV' or 'Download PDF'."""
    return f"Download {job.file_name.rsplit('.', 1)[-1].upper()}"


def describe(job):
    """What a job covers, in words: 'March 2026', '2026-01-01 to today', 'All time'."""
    params = job.params or {}
    if params.get("month"):
        text = datetime.strptime(params["month"], "%Y-%m").strftime("%B %Y")
    elif params.get("date_from") or params.get("date_to"):
        text = f"{params.get('date_from') or 'the start'} to {params.get('date_to') or 'today'}"
    else:
        text = "All time"
    if params.get("lot_id"):
        text += f" · lot #{params['lot_id']}"
    if params.get("status"):
        text += f" · {params['status'].replace('_', ' ')}"
    return text


def show_error(form, exc):
    """Put a domain error next to the fields it names, or flash it."""
    placed = False
    for name, problems in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, *problems]
            placed = True
    if not placed:
        flash(exc.words, "error")

"""Export jobs: write the row, commit, then enqueue; run them; tell the user by mail."""

import logging
import os
import secrets
import time
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from parkapp.core import hooks, links
from parkapp.core import mail as mailer
from parkapp.core.exceptions import Forbidden, Invalid, NotFound, WrongState
from parkapp.core.inputs import check_day
from parkapp.dbsetup import write_transaction
from parkapp.exports import activity_pdf
from parkapp.exports import booking_csv as csv_export
from parkapp.exports import leases as export_leases
from parkapp.extensions import db
from parkapp.models import (
    Booking,
    BookingStatus,
    ExportJob,
    JobKind,
    JobStatus,
    Lot,
    Spot,
    User,
    utcnow,
)

log = logging.getLogger(__name__)
ADMIN_KINDS = {JobKind.ADMIN_BOOKINGS_CSV, JobKind.REVENUE_PDF}
MAX_ATTACHMENT = 10 * 1024 * 1024


def parse_month(value, field="month"):
    """A past or current 'YYYY-MM' month; 422 otherwise."""
    try:
        start, _ = csv_export.month_bounds(value or "")
    except ValueError:
        raise Invalid(field, "Give a month as YYYY-MM.") from None
    check_day(field, start)
    if start > utcnow():
        raise Invalid(field, "That month has not started yet.")
    return value


def parse_day(value, field):
    """An optional 'YYYY-MM-DD' date; 422 for junk."""
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise Invalid(field, "Give a date as YYYY-MM-DD.") from None
    return check_day(field, day).isoformat()


def clean_params(kind, params):
    """Validate what a job of this kind needs; return the params to store."""
    params = params or {}
    if kind in (JobKind.ACTIVITY_PDF,):
        return {"month": parse_month(params.get("month") or previous_month())}
    date_from = parse_day(params.get("date_from"), "date_from")
    date_to = parse_day(params.get("date_to"), "date_to")
    if date_from and date_to and date_to < date_from:
        raise Invalid("date_to", "The end date is before the start date.")
    cleaned = {"date_from": date_from, "date_to": date_to}
    if kind == JobKind.ADMIN_BOOKINGS_CSV:
        for key in ("lot_id", "status"):
            if params.get(key) not in (None, ""):
                cleaned[key] = params[key]
    return cleaned


def previous_month(today=None):
    """'YYYY-MM' of the month before today's."""
    first = (today or utcnow().date()).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def request_export(user, kind, params=None, dedupe_key=None):
    """Record a job, commit it, then try to enqueue it (a broker outage leaves it pending)."""
    try:
        kind = JobKind(kind)
    except ValueError:
        raise Invalid("kind", "Kind must be bookings_csv or activity_pdf.") from None
    if kind in ADMIN_KINDS and not user.is_admin:
        raise Forbidden("Only admins can run this export.")
    params = clean_params(kind, params)
    # A write transaction of its own: the request's read snapshot may predate a worker's
    # commit, and SQLite refuses to turn such a snapshot into a write ("database is locked").
    with write_transaction(keep_loaded=True) as session:
        job = ExportJob(user_id=user.id, kind=kind, params=params, dedupe_key=dedupe_key)
        session.add(job)
    dispatch(job)
    return job


def dispatch(job):
    """Hand the job to the broker; on failure it stays pending for the upkeep task."""
    job_id = job.id
    # Hold no transaction while the task may already run elsewhere (or eagerly, in tests):
    # a SQLite reader snapshot taken before the task's commit could not write afterwards.
    db.session.commit()
    try:
        queued = hooks.first_answer(hooks.export_queued, job_id=job_id)
    except Exception as exc:  # broker down or unreachable: keep the job, dispatch later
        log.warning("Could not enqueue export job %s: %s", job_id, exc)
        return False
    if not queued:
        log.warning("Nothing enqueues export jobs in this process; job %s stays pending", job_id)
        return False
    with write_transaction() as session:
        session.execute(
            db.update(ExportJob).where(ExportJob.id == job_id).values(dispatched_at=utcnow())
        )
    return True


def redispatch_pending():
    """Enqueue jobs still pending a while after they were created or last dispatched."""
    cutoff = utcnow() - export_leases.lease_length()  # as long as a lost run takes to notice
    jobs = db.session.scalars(
        select(ExportJob).where(
            ExportJob.status == JobStatus.PENDING,
            ExportJob.created_at < cutoff,
            (ExportJob.dispatched_at.is_(None)) | (ExportJob.dispatched_at < cutoff),
        )
    ).all()
    return sum(dispatch(job) for job in jobs)


def get_job(job_id, user):
    """A job of the user's own, or NotFound (other people's ids do not leak)."""
    job = db.session.get(ExportJob, job_id)
    if job is None or not job.is_owner(user):
        raise NotFound("No such export.")
    return job


def jobs_of(user, limit=50):
    """The user's most recent jobs."""
    return db.session.scalars(
        select(ExportJob)
        .where(ExportJob.user_id == user.id)
        .order_by(ExportJob.id.desc())
        .limit(limit)
    ).all()


def has_file(job):
    """Whether the job's file was built and is still there (also when only mailing failed)."""
    return (
        bool(job.file_path)
        and job.status in (JobStatus.DONE, JobStatus.FAILED)
        and os.path.exists(job.file_path)
    )


def download_path(job, user):
    """The file of a finished job the user owns, or a 404/409."""
    job = get_job(job.id if isinstance(job, ExportJob) else job, user)
    if not has_file(job):
        raise WrongState("This export is not ready.", code="not_ready")
    return job


def export_dir():
    """Where export files live (created on demand)."""
    path = os.path.join(current_app.instance_path, "exports")
    os.makedirs(path, exist_ok=True)
    return path


def _new_file(job, suffix):
    """A fresh path for a job's file: a random part keeps runs and databases apart."""
    return os.path.join(export_dir(), f"job-{job.id}-{secrets.token_hex(6)}-{suffix}")


def start(job, token):
    """Mark a job running for the runner holding lease `token` (LeaseLost if it is no more)."""
    db.session.commit()
    started = db.session.execute(
        db.update(ExportJob)
        .where(ExportJob.id == job.id, ExportJob.lease_token == token)
        .values(status=JobStatus.RUNNING, started_at=utcnow(), progress=0, error=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if started.rowcount != 1:
        raise export_leases.LeaseLost(f"export job {job.id}: lease taken over")
    db.session.refresh(job)


def progress_updater(job, token):
    """A callback writing progress to the job row at most once per percent, renewing the lease.

    Between percents it still renews the lease every third of its length, so a slow export
    keeps its lease; it raises LeaseLost once another runner has taken the job over.
    """
    state = {"last": -1, "beat": time.monotonic()}
    job_id = job.id
    beat_every = export_leases.lease_length().total_seconds() / 3

    def update(done, total):
        percent = 99 if not total else min(99, int(done * 100 / total))
        if percent > state["last"]:
            state["last"] = percent
            export_leases.heartbeat(job_id, token, progress=percent)
            state["beat"] = time.monotonic()
        elif time.monotonic() - state["beat"] > beat_every:
            export_leases.heartbeat(job_id, token)
            state["beat"] = time.monotonic()

    return update


def generate(job, token):
    """Write the job's file under lease `token`; return (path, file_name, rows)."""
    builders = {
        JobKind.BOOKINGS_CSV: _bookings_csv,
        JobKind.ADMIN_BOOKINGS_CSV: _bookings_csv,
        JobKind.ACTIVITY_PDF: _activity_pdf,
        JobKind.REVENUE_PDF: _revenue_pdf,
    }
    built = builders[job.kind](job, token)
    db.session.commit()  # end the streaming read, so the next write is not on an old snapshot
    return built


def finish(job, path, file_name, rows, token):
    """Record the finished file, only while the job's lease is still this runner's.

    A runner whose lease was taken over removes its file and raises LeaseLost, so a
    stalled or redelivered run never replaces the file of the run that holds the job.
    """
    db.session.commit()
    earlier = job.file_path
    done = db.session.execute(
        db.update(ExportJob)
        .where(ExportJob.id == job.id, ExportJob.lease_token == token)
        .values(
            status=JobStatus.DONE,
            progress=100,
            file_path=path,
            file_name=file_name,
            row_count=rows,
            finished_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if done.rowcount != 1:
        os.remove(path)
        raise export_leases.LeaseLost(f"export job {job.id}: lease taken over")
    db.session.refresh(job)
    if earlier and earlier != path and os.path.exists(earlier):
        os.remove(earlier)


def fail(job, error):
    """Record a failure in words a user can read (and free the job's lease)."""
    with write_transaction():
        job.status = JobStatus.FAILED
        job.error = error[:1000]
        job.finished_at = utcnow()
        job.lease_token = job.lease_expires_at = None


def mail_sent(job):
    """Whether the job's mail went out."""
    return mailer.was_sent(job.user_id, "export", f"job:{job.id}")


def reclaim_expired():
    """Dispatch again jobs whose worker died (lease expired) or that never reached the broker."""
    return {**export_leases.reclaim_expired(dispatch), "pending": redispatch_pending()}


def _conditions(job):
    params = job.params or {}
    conditions = []
    if job.kind != JobKind.ADMIN_BOOKINGS_CSV:
        conditions.append(Booking.user_id == job.user_id)
    # Dates are days in each lot's time zone: the query takes a day more on each side and
    # the CSV writer keeps the rows whose local start day is in range.
    if params.get("date_from"):
        conditions.append(Booking.starts_at >= _day_start(params["date_from"]) - timedelta(days=1))
    if params.get("date_to"):
        conditions.append(Booking.starts_at < _day_start(params["date_to"]) + timedelta(days=2))
    if params.get("lot_id"):
        conditions.append(Booking.lot_id == int(params["lot_id"]))
    if params.get("status"):
        conditions.append(Booking.status == BookingStatus(params["status"]))
    return conditions


def _day_start(iso_day):
    from datetime import UTC

    return datetime.combine(date.fromisoformat(iso_day), datetime.min.time(), tzinfo=UTC)


def _bookings_csv(job, token):
    path = _new_file(job, "bookings.csv")
    params = job.params or {}
    days = (params.get("date_from"), params.get("date_to"))
    rows = csv_export.write_csv(path, _conditions(job), progress_updater(job, token), days=days)
    stamp = utcnow().strftime("%Y%m%d")
    return path, f"parkapp-bookings-{stamp}.csv", rows


def _activity_pdf(job, token):
    month = job.params["month"]
    start, end = csv_export.month_bounds(month)
    user = db.session.get(User, job.user_id)
    activity = activity_pdf.Activity(user.display_name, start.strftime("%B %Y"))
    query = (
        select(
            Lot.name,
            Lot.timezone,
            Spot.label,
            Booking.plate,
            Booking.starts_at,
            Booking.ends_at,
            Booking.price_cents,
            Booking.currency,
            Booking.status,
        )
        .join(Lot, Lot.id == Booking.lot_id)
        .join(Spot, Spot.id == Booking.spot_id)
        .where(
            Booking.user_id == user.id,
            Booking.starts_at >= start,
            Booking.starts_at < end,
            Booking.status != BookingStatus.CANCELLED,
        )
        .order_by(Booking.starts_at)
        .execution_options(yield_per=2000)
    )
    update = progress_updater(job, token)
    for lot, zone, spot, plate, starts, ends, price, currency, status in db.session.execute(query):
        activity.add(
            lot,
            zone,
            spot,
            plate,
            starts,
            ends,
            price,
            currency,
            status,
            activity_pdf.week_of(starts),
        )
    update(1, 2)
    path = _new_file(job, f"activity-{month}.pdf")
    activity_pdf.build_activity_pdf(path, activity)
    return path, f"parkapp-activity-{month}.pdf", activity.bookings


def _revenue_pdf(job, token):
    from parkapp.exports.revenue import revenue_rows

    params = job.params or {}
    rows = revenue_rows(params.get("date_from"), params.get("date_to"))
    title = f"Revenue and occupancy {params.get('date_from') or 'start'} to {params.get('date_to') or 'today'}"
    path = _new_file(job, "revenue.pdf")
    activity_pdf.build_revenue_pdf(path, title, rows)
    return path, "parkapp-revenue.pdf", len(rows)


def mail_result(job):
    """Mail the finished export once (attached when small enough, else a link)."""
    user = db.session.get(User, job.user_id)
    size = os.path.getsize(job.file_path)
    attachments = []
    if size <= MAX_ATTACHMENT:
        content_type = "text/csv" if job.file_name.endswith(".csv") else "application/pdf"
        with open(job.file_path, "rb") as handle:
            attachments.append((job.file_name, content_type, handle.read()))
    link = _download_url(job)
    message = mailer.build_message(
        user.email,
        f"Your parkapp export is ready: {job.file_name}",
        "export_ready",
        attachments,
        user=user,
        job=job,
        link=link,
        attached=bool(attachments),
    )
    return mailer.send_once(user.id, "export", f"job:{job.id}", message)


def _download_url(job):
    return links.link("export_download", job_id=job.id)

"""Export tasks: run a job, then mail it once."""

import logging
import random
import smtplib
from datetime import timedelta

from celery import shared_task
from sqlalchemy.exc import OperationalError

from parkapp.core import hooks
from parkapp.exports import jobs as exports
from parkapp.exports import leases as export_leases
from parkapp.extensions import db
from parkapp.models import ExportJob, JobStatus

log = logging.getLogger(__name__)
# SMTP refusals and timeouts, a lost database connection: worth another try later.
RETRYABLE = (smtplib.SMTPException, OSError, OperationalError)
BACKOFF_FACTOR, BACKOFF_MAX = 30, 600  # seconds: 30, 60, 120, 240, 480, jittered


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def run_export(self, job_id, token=None):
    """Build the export file of a job (idempotent by job id) and mail it once.

    The job's lease (export_leases) makes this the only runner of the job; `token` is the
    lease of the run a Celery retry continues.
    """
    job = db.session.get(ExportJob, job_id)
    if job is None:
        return "missing"
    if job.status == JobStatus.FAILED or (job.status == JobStatus.DONE and exports.mail_sent(job)):
        return job.status.value  # a late redelivery of a job that is over
    token = export_leases.claim(job_id, token)
    if token is None:
        return "busy"  # another runner holds it; the upkeep task steps in if that one dies
    db.session.refresh(job)
    try:
        if job.status != JobStatus.DONE:
            exports.start(job, token)
            path, name, rows = exports.generate(job, token)
            exports.finish(job, path, name, rows, token)
        exports.mail_result(job)
        export_leases.release(job_id, token)
    except export_leases.LeaseLost:
        db.session.rollback()
        log.warning("Export %s: taken over by another runner; this one stops", job_id)
        return "superseded"
    except RETRYABLE as exc:
        db.session.rollback()
        if self.request.retries >= self.max_retries:
            exports.fail(job, _final_error(job, exc))
            raise
        log.warning("Export %s: retrying after %s", job_id, exc)
        countdown = backoff(self.request.retries)
        # Hold the lease over the wait, so the upkeep task does not dispatch it meanwhile.
        export_leases.claim(job_id, token, extra=timedelta(seconds=countdown))
        raise self.retry(exc=exc, countdown=countdown, kwargs={"token": token}) from exc
    except Exception:
        db.session.rollback()
        log.exception("Export %s failed", job_id)
        exports.fail(
            job,
            "Something went wrong while building this export. "
            "Please ask for it again; if it fails again, contact support.",
        )
        raise
    return "done"


def backoff(retries):
    """Seconds before retry number `retries + 1`: doubling from 30 s up to 10 min, half jittered."""
    ceiling = min(BACKOFF_MAX, BACKOFF_FACTOR * 2**retries)
    return ceiling // 2 + random.randint(0, ceiling // 2)


def _final_error(job, exc):
    if job.status == JobStatus.DONE:
        return (
            "Your export is ready, but we could not email it after several tries "
            f"(the mail server said: {exc}). You can download it here."
        )
    return (
        f"We could not build this export after several tries ({exc}). "
        "Please ask for it again later."
    )


@shared_task
def redispatch_pending_exports():
    """Enqueue export jobs whose first dispatch never reached the broker."""
    return exports.redispatch_pending()


def subscribe():
    """Enqueue export jobs when the exports domain announces them."""
    hooks.export_queued.connect(_enqueue, weak=False)


def _enqueue(_sender, job_id):
    run_export.apply_async(args=[job_id], retry=False)
    return True


@shared_task
def reclaim_expired_exports():
    """Dispatch again the export jobs whose worker died mid-run (their lease expired)."""
    return exports.reclaim_expired()

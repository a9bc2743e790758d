"""Export tasks: run a job, then mail it once."""

import logging
import smtplib

from celery import shared_task

from parkapp.extensions import db
from parkapp.models import ExportJob, JobStatus
from parkapp.services import exports

log = logging.getLogger(__name__)
RETRYABLE = (smtplib.SMTPException, ConnectionError, TimeoutError, OSError)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5,
             retry_backoff=True, retry_backoff_max=600, retry_jitter=True)
def run_export(self, job_id):
    """Build the export file of a job (idempotent by job id) and mail it once."""
    job = db.session.get(ExportJob, job_id)
    if job is None:
        return "missing"
    try:
        if job.status != JobStatus.DONE:
            exports.start(job)
            path, name, rows = exports.generate(job)
            exports.finish(job, path, name, rows)
        exports.mail_result(job)
    except RETRYABLE as exc:
        db.session.rollback()
        if self.request.retries >= self.max_retries:
            exports.fail(job, f"We could not email your export: {exc}. It is on your exports page.")
            raise
        log.warning("Export %s: retrying after %s", job_id, exc)
        raise self.retry(exc=exc) from exc
    except Exception as exc:
        db.session.rollback()
        exports.fail(job, f"The export failed: {exc}")
        raise
    return "done"


@shared_task
def redispatch_pending_exports():
    """Enqueue export jobs whose first dispatch never reached the broker."""
    return exports.redispatch_pending()

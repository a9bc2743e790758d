"""Leases on export jobs: one runner at a time, and a job whose runner died is taken up again.

A runner claims a job with a compare-and-set on the job row: it writes a fresh
`lease_token` and `lease_expires_at` only where no live lease is held. It renews the lease
as the export makes progress (the heartbeat) and records the file only while the token is
still its own, so a runner whose lease was reclaimed (a worker that was SIGKILLed and whose
message the broker redelivers hours later, or one that merely stalled) can neither record a
file nor start the mail. The lease is released once the mail is out.

The upkeep task (every minute) re-dispatches jobs whose lease expired: a running job whose
worker died, or a built one whose mail was never sent. Each claim of a job counts as an
attempt; a job that has used up EXPORT_MAX_ATTEMPTS is failed with an error instead.
"""

import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from parkapp.extensions import db
from parkapp.models import ExportJob, JobStatus, utcnow

log = logging.getLogger(__name__)
DIED = (
    "The worker building this export stopped {attempts} times before it finished. "
    "Please ask for it again; if it fails again, contact support."
)
UNMAILED = (
    "Your export is ready, but the worker sending it stopped before the email went out. "
    "You can download it here."
)


class LeaseLost(Exception):
    """Another runner holds the job now: stop without recording anything."""


def lease_length():
    """How long a lease lasts without a heartbeat."""
    return timedelta(seconds=current_app.config["EXPORT_LEASE_SECONDS"])


def max_attempts():
    return current_app.config["EXPORT_MAX_ATTEMPTS"]


def _free(now):
    return or_(ExportJob.lease_expires_at.is_(None), ExportJob.lease_expires_at < now)


def claim(job_id, token=None, extra=timedelta(0)):
    """Take the job's lease; return the new token, or None when someone else holds it.

    A runner passing its own current `token` (a Celery retry of the same run) renews it
    without counting an attempt. Anyone else needs the lease free or expired, and counts
    one attempt; a built job whose lease was given back (mailed) is not claimed again. A
    job that has used up its attempts is failed instead (None).
    """
    now = utcnow()
    expires = now + lease_length() + extra
    if token is not None:
        renewed = db.session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.lease_token == token)
            .values(lease_expires_at=expires)
        )
        db.session.commit()
        if renewed.rowcount == 1:
            return token
    new = secrets.token_hex(16)
    taken = db.session.execute(
        update(ExportJob)
        .where(
            ExportJob.id == job_id,
            or_(
                ExportJob.status.in_((JobStatus.PENDING, JobStatus.RUNNING)),
                # built, its mail not known to be out: the lease is given back after the mail
                and_(ExportJob.status == JobStatus.DONE, ExportJob.lease_token.is_not(None)),
            ),
            ExportJob.attempts < max_attempts(),
            _free(now),
        )
        .values(lease_token=new, lease_expires_at=expires, attempts=ExportJob.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if taken.rowcount == 1:
        return new
    fail_exhausted(job_id)
    return None


def heartbeat(job_id, token, **values):
    """Renew the lease (and write `values`, e.g. progress) on a connection of its own.

    Raises LeaseLost when the token is no longer the job's: someone reclaimed it.
    """
    # Its own short transaction: the session may be streaming rows from a server-side cursor.
    with db.engine.begin() as conn:
        renewed = conn.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.lease_token == token)
            .values(lease_expires_at=utcnow() + lease_length(), **values)
        )
    if renewed.rowcount != 1:
        raise LeaseLost(f"export job {job_id}: lease taken over")


def release(job_id, token):
    """Give the lease up once the job needs nothing more (mail sent, or failed for good)."""
    db.session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.lease_token == token)
        .values(lease_token=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def fail_exhausted(job_id):
    """Fail a job whose attempts are used up and whose lease has expired; True if failed."""
    now = utcnow()
    failed = 0
    for statuses, error in (
        ((JobStatus.PENDING, JobStatus.RUNNING), DIED.format(attempts=max_attempts())),
        ((JobStatus.DONE,), UNMAILED),
    ):
        failed += db.session.execute(
            update(ExportJob)
            .where(
                ExportJob.id == job_id,
                ExportJob.status.in_(statuses),
                ExportJob.attempts >= max_attempts(),
                _free(now),
            )
            .values(
                status=JobStatus.FAILED,
                error=error,
                finished_at=now,
                lease_token=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.commit()
    if failed:
        log.warning("Export %s failed: its worker kept dying", job_id)
    return failed == 1


def expired_jobs(now=None):
    """Jobs whose runner's lease ran out, not re-dispatched within the last lease length.

    A claimed job (built or not), or a built one whose mail went unsent; a running job
    without any lease (from before leases existed) counts once its start is a lease old.
    """
    now = now or utcnow()
    stale = now - lease_length()
    return db.session.scalars(
        select(ExportJob)
        .where(
            or_(
                and_(
                    ExportJob.status.in_((JobStatus.PENDING, JobStatus.RUNNING, JobStatus.DONE)),
                    ExportJob.lease_expires_at < now,
                ),
                and_(
                    ExportJob.status == JobStatus.RUNNING,
                    ExportJob.lease_expires_at.is_(None),
                    ExportJob.started_at < stale,
                ),
            ),
            or_(ExportJob.dispatched_at.is_(None), ExportJob.dispatched_at < stale),
        )
        .order_by(ExportJob.id)
    ).all()


def reclaim_expired(dispatch):
    """Re-dispatch jobs whose lease expired, or fail those out of attempts; return counts."""
    redispatched = failed = 0
    for job in expired_jobs():
        if job.attempts >= max_attempts():
            failed += fail_exhausted(job.id)
            continue
        log.warning(
            "Export %s: its worker stopped (attempt %s); dispatching again", job.id, job.attempts
        )
        redispatched += dispatch(job)
    return {"redispatched": redispatched, "failed": failed}

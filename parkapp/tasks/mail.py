"""Booking mail tasks: queued after a booking's change commits, sent once by a worker."""

import logging

from celery import shared_task

from parkapp.billing import membership_receipts
from parkapp.booking import notices
from parkapp.core import hooks
from parkapp.dbsetup import end_read_transaction
from parkapp.extensions import db
from parkapp.tasks.exports import RETRYABLE, backoff

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def booking_mail(self, event, booking_id, ref=""):
    """Mail one booking event (idempotent by its Notification key)."""
    try:
        return notices.send(event, booking_id, ref)
    except RETRYABLE as exc:
        db.session.rollback()
        log.warning("Booking mail %s %s: retrying after %s", event, booking_id, exc)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def membership_receipt(membership_id):
    """Mail the receipts of a membership's paid terms not mailed yet (each once)."""
    return membership_receipts.mail_receipts(membership_id=membership_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def remind_ending():
    """Tell drivers whose fixed-end stay ends within 15 minutes, with the extend offer."""
    return notices.remind_ending()


def subscribe():
    """Queue booking mail when the booking and billing domains announce an event."""
    hooks.booking_mail.connect(_enqueue, weak=False)
    hooks.membership_paid.connect(_enqueue_receipt, weak=False)


def _enqueue(_sender, event, booking_id, ref):
    # The hook fires after the caller's commit; end the read transaction reading the ids
    # began, as exports' dispatch does: a SQLite snapshot older than the task's writes
    # (eager in tests, or a fast worker) could not write afterwards.
    end_read_transaction()
    try:
        booking_mail.apply_async(args=[event, booking_id, ref], retry=False)
    except Exception as exc:  # broker down: the booking stands; the mail is logged as lost
        log.warning("Could not queue %s mail for booking %s: %s", event, booking_id, exc)


def _enqueue_receipt(_sender, membership_id):
    end_read_transaction()  # as for booking mail: no snapshot older than the task's writes
    try:
        membership_receipt.apply_async(args=[membership_id], retry=False)
    except Exception as exc:  # broker down: the daily renewal task mails it instead
        log.warning("Could not queue the receipt of membership %s: %s", membership_id, exc)

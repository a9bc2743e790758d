"""Scheduled tasks; their schedule lives in parkapp.tasks.BEAT_SCHEDULE."""

from celery import shared_task

from parkapp.accounts import privacy, revocations
from parkapp.analytics import rollups as analytics_rollups
from parkapp.billing import membership_receipts
from parkapp.booking import upkeep
from parkapp.exports import monthly
from parkapp.memberships import renewals
from parkapp.waitlist import upkeep as waitlist_upkeep_jobs

SMTP_RETRY = {"autoretry_for": (OSError,), "retry_backoff": True, "max_retries": 5}


@shared_task
def expire_no_shows():
    """Mark reservations never checked in as no-shows."""
    return upkeep.expire_no_shows()


@shared_task(**SMTP_RETRY)
def waitlist_upkeep():
    """Expire untaken waitlist offers and pass their spots on."""
    return waitlist_upkeep_jobs.run()


@shared_task(**SMTP_RETRY)
def remind_upcoming():
    """Remind drivers shortly before their reservation."""
    return upkeep.remind_upcoming()


@shared_task(**SMTP_RETRY)
def remind_inactive():
    """Nudge drivers who have not parked for a while."""
    return upkeep.remind_inactive()


@shared_task
def monthly_reports():
    """Queue last month's activity PDFs."""
    return monthly.schedule_monthly_reports()


@shared_task(**SMTP_RETRY)
def membership_renewals():
    """Renew, retry or expire ended memberships, mail their news and receipts, remind."""
    return {**renewals.upkeep(), "receipts": membership_receipts.mail_receipts()}


@shared_task
def refresh_analytics():
    """Roll up the analytics days changed since the last refresh."""
    return analytics_rollups.refresh()


@shared_task
def forget_old_plates():
    """Bookings past the plate retention lose their plate."""
    return privacy.forget_old_plates()


@shared_task
def sync_revocations():
    """Copy revoked tokens into Redis, so checks there need no query (and heal a missed write)."""
    return revocations.sync()

"""Celery wired the way Flask documents it: tasks run inside the app context."""

from datetime import timedelta

from celery import Celery, Task
from celery.schedules import crontab

BEAT_SCHEDULE = {
    "monthly-activity-reports": {
        "task": "parkapp.tasks.upkeep.monthly_reports",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
    "merchant-statements": {
        "task": "parkapp.tasks.merchants.merchant_statements",
        "schedule": crontab(minute=30, hour=6, day_of_month=1),
    },
    "daily-inactivity-reminders": {
        "task": "parkapp.tasks.upkeep.remind_inactive",
        "schedule": crontab(minute=0, hour=10),
    },
    "reservation-reminders": {
        "task": "parkapp.tasks.upkeep.remind_upcoming",
        "schedule": crontab(minute="*/5"),
    },
    "stays-ending-soon": {
        "task": "parkapp.tasks.mail.remind_ending",
        "schedule": crontab(minute="*"),
    },
    "expire-no-shows": {
        "task": "parkapp.tasks.upkeep.expire_no_shows",
        "schedule": crontab(minute="*/5"),
    },
    "waitlist-offers": {
        "task": "parkapp.tasks.upkeep.waitlist_upkeep",
        "schedule": crontab(minute="*"),
    },
    "membership-renewals": {
        "task": "parkapp.tasks.upkeep.membership_renewals",
        "schedule": crontab(minute=30, hour=5),
    },
    "analytics-rollups": {
        "task": "parkapp.tasks.upkeep.refresh_analytics",
        "schedule": crontab(minute="*"),
    },
    "sync-revocations": {
        "task": "parkapp.tasks.upkeep.sync_revocations",
        "schedule": crontab(minute="*"),
    },
    "forget-old-plates": {
        "task": "parkapp.tasks.upkeep.forget_old_plates",
        "schedule": crontab(minute=15, hour=3),
    },
    "redispatch-pending-exports": {
        "task": "parkapp.tasks.exports.redispatch_pending_exports",
        "schedule": crontab(minute="*/2"),
    },
    "reclaim-expired-exports": {
        "task": "parkapp.tasks.exports.reclaim_expired_exports",
        "schedule": timedelta(seconds=60),  # EXPORT_RECLAIM_SECONDS
    },
}


def celery_init_app(app):
    """Create the Celery app from app.config["CELERY"] and store it on the Flask app."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    reclaim = {
        **BEAT_SCHEDULE["reclaim-expired-exports"],
        "schedule": timedelta(seconds=app.config["EXPORT_RECLAIM_SECONDS"]),
    }
    celery_app.conf.beat_schedule = {**BEAT_SCHEDULE, "reclaim-expired-exports": reclaim}
    celery_app.conf.include = [
        "parkapp.tasks.exports",
        "parkapp.tasks.mail",
        "parkapp.tasks.merchants",
        "parkapp.tasks.upkeep",
    ]
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app

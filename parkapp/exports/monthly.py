"""The monthly activity reports, queued by the beat on the first of each month."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from parkapp.exports import booking_csv as csv_export
from parkapp.exports import jobs as exports
from parkapp.extensions import db
from parkapp.models import Booking, BookingStatus, ExportJob, JobKind, User


def schedule_monthly_reports(today=None):
    """Queue last month's activity PDF for every driver who parked in it (once each)."""
    month = exports.previous_month(today)
    start, end = csv_export.month_bounds(month)
    user_ids = db.session.scalars(
        select(Booking.user_id)
        .where(
            Booking.user_id.is_not(None),
            Booking.starts_at >= start,
            Booking.starts_at < end,
            Booking.status != BookingStatus.CANCELLED,
        )
        .group_by(Booking.user_id)
    ).all()
    queued = 0
    for user_id in user_ids:
        key = f"monthly:{user_id}:{month}"
        if db.session.scalar(select(func.count(ExportJob.id)).where(ExportJob.dedupe_key == key)):
            continue
        try:
            exports.request_export(
                db.session.get(User, user_id),
                JobKind.ACTIVITY_PDF,
                {"month": month},
                dedupe_key=key,
            )
            queued += 1
        except IntegrityError:  # another beat run queued it first
            db.session.rollback()
    return queued

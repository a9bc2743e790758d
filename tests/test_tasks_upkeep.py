"""Scheduled upkeep: no-shows, reminders, monthly reports, re-dispatch, and beat's schedule."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from parkapp.booking import upkeep
from parkapp.exports import monthly
from parkapp.extensions import db
from parkapp.lots import availability
from parkapp.models import Booking, BookingStatus, ExportJob, JobKind, JobStatus, User, utcnow
from tests.test_exports import (
    add_bookings,
    attachments,
    bodies,
    remove_export_files,
    run_task,
    set_eager,
    utc,
)

TASKS = "parkapp.tasks.upkeep."


@pytest.fixture(autouse=True)
def eager(app):
    set_eager(app)
    yield app
    set_eager(app, False)
    remove_export_files()


def idle_since(user, days):
    """Pretend the user signed up `days` ago."""
    stamp = (utcnow() - timedelta(days=days)).replace(tzinfo=None)
    db.session.execute(db.update(User).where(User.id == user.id).values(create_datetime=stamp))
    db.session.commit()


# -- no-shows ----------------------------------------------------------------------------------


def test_reservation_not_checked_in_after_grace_becomes_no_show_and_frees_the_spot(
    app, driver, make_lot
):
    lot = make_lot(spots={"standard": 1})
    now = utcnow().replace(microsecond=0)
    late = add_bookings(
        driver, lot, now - timedelta(minutes=45), hours=3, status=BookingStatus.RESERVED
    )
    assert availability.counts_by_kind(lot.id, now, now + timedelta(hours=1)) == {
        "standard": (1, 0)
    }

    result = run_task(app, TASKS + "expire_no_shows")

    assert result.result == 1
    status = db.session.scalar(select(Booking.status).where(Booking.confirmation_code == late[0]))
    assert status == BookingStatus.NO_SHOW
    assert availability.counts_by_kind(lot.id, now, now + timedelta(hours=1)) == {
        "standard": (1, 1)
    }


def test_reservation_within_grace_is_kept(driver, lot):
    now = utcnow()
    add_bookings(driver, lot, now - timedelta(minutes=10), status=BookingStatus.RESERVED)
    add_bookings(driver, lot, now - timedelta(hours=5), hours=1, plate="DONE1")  # completed

    assert upkeep.expire_no_shows(now) == 0
    assert (
        db.session.scalar(select(func.count()).where(Booking.status == BookingStatus.NO_SHOW)) == 0
    )


# -- reminders ---------------------------------------------------------------------------------


def test_reservation_reminder_is_mailed_once_before_it_starts(app, driver, make_lot, mailbox):
    lot = make_lot(name="Dockside", spots={"standard": 2})
    now = utcnow()
    add_bookings(driver, lot, now + timedelta(minutes=40), status=BookingStatus.RESERVED)
    add_bookings(
        driver, lot, now + timedelta(hours=5), status=BookingStatus.RESERVED, plate="LATER1"
    )  # outside the 60-minute window

    first = run_task(app, TASKS + "remind_upcoming")
    second = run_task(app, TASKS + "remind_upcoming")

    assert (first.result, second.result) == (1, 0)
    (message,) = mailbox.to("driver@example.com")
    assert message["Subject"] == "Your parking at Dockside starts soon"
    text = bodies(message)
    assert "AB12CDE" in text["text/plain"] and "Dockside" in text["text/html"]


def test_inactive_driver_is_reminded_at_most_once_per_period(
    driver, make_user, admin, lot, mailbox
):
    idle_since(driver, 31)
    busy = make_user(email="busy@example.com")
    idle_since(busy, 31)
    add_bookings(busy, lot, utcnow() + timedelta(days=5), status=BookingStatus.RESERVED)
    idle_since(admin, 31)  # not a driver
    now = utcnow()

    sent = [upkeep.remind_inactive(now + timedelta(days=days)) for days in (0, 0, 1, 28)]
    next_period = upkeep.remind_inactive(now + timedelta(days=30))

    assert sent == [1, 0, 0, 0]
    assert next_period == 1
    assert [m["To"] for m in mailbox.messages] == ["driver@example.com"] * 2
    assert "30 days" in bodies(mailbox.messages[0])["text/plain"]


def test_new_driver_is_not_called_inactive(driver, mailbox):
    assert upkeep.remind_inactive() == 0
    assert mailbox.messages == []


# -- monthly reports ---------------------------------------------------------------------------


def test_monthly_reports_queue_one_pdf_per_driver_with_activity_and_never_twice(
    driver, make_user, lot, mailbox
):
    second = make_user(email="second@example.com")
    cancelled_only = make_user(email="cancelled@example.com")
    add_bookings(driver, lot, utc(2025, 2, 3, 9), count=2)
    add_bookings(second, lot, utc(2025, 2, 27, 9))
    add_bookings(cancelled_only, lot, utc(2025, 2, 5, 9), status=BookingStatus.CANCELLED)
    add_bookings(make_user(), lot, utc(2025, 1, 20, 9))  # January only

    queued = monthly.schedule_monthly_reports(today=date(2025, 3, 1))
    again = monthly.schedule_monthly_reports(today=date(2025, 3, 1))

    jobs = db.session.scalars(select(ExportJob).order_by(ExportJob.user_id)).all()
    assert (queued, again) == (2, 0)
    assert [(j.user_id, j.kind, j.params, j.status) for j in jobs] == [
        (driver.id, JobKind.ACTIVITY_PDF, {"month": "2025-02"}, JobStatus.DONE),
        (second.id, JobKind.ACTIVITY_PDF, {"month": "2025-02"}, JobStatus.DONE),
    ]
    assert sorted(m["To"] for m in mailbox.messages) == ["driver@example.com", "second@example.com"]
    ((name, _, _),) = attachments(mailbox.to("driver@example.com")[0])
    assert name == "parkapp-activity-2025-02.pdf"


def test_monthly_task_reports_on_the_previous_month(app, driver, lot):
    last_month = (utcnow().replace(day=1) - timedelta(days=1)).replace(day=10, hour=9)
    add_bookings(driver, lot, last_month)

    assert run_task(app, TASKS + "monthly_reports").result == 1
    (job,) = db.session.scalars(select(ExportJob)).all()
    assert job.params == {"month": last_month.strftime("%Y-%m")}


# -- beat ---------------------------------------------------------------------------------------


def test_beat_runs_monthly_reports_on_the_first_and_reminders_daily(app):
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()
    schedule = celery.conf.beat_schedule
    by_task = {entry["task"]: entry["schedule"] for entry in schedule.values()}

    monthly = by_task[TASKS + "monthly_reports"]
    daily = by_task[TASKS + "remind_inactive"]
    assert monthly.day_of_month == {1} and len(monthly.hour) == 1 and len(monthly.minute) == 1
    assert daily.day_of_month == set(range(1, 32)) and daily.day_of_week == set(range(7))
    assert len(daily.hour) == 1 and len(daily.minute) == 1
    for task in (
        TASKS + "remind_upcoming",
        TASKS + "expire_no_shows",
        "parkapp.tasks.exports.redispatch_pending_exports",
    ):
        assert task in by_task
    assert all(task in celery.tasks for task in by_task)


def test_redispatch_leaves_recent_and_running_jobs_alone(app, driver, mailbox):
    fresh = ExportJob(user_id=driver.id, kind=JobKind.BOOKINGS_CSV, params={})
    stuck = ExportJob(
        user_id=driver.id,
        kind=JobKind.BOOKINGS_CSV,
        params={},
        created_at=utcnow() - timedelta(minutes=10),
    )
    running = ExportJob(
        user_id=driver.id,
        kind=JobKind.BOOKINGS_CSV,
        params={},
        status=JobStatus.RUNNING,
        created_at=utcnow() - timedelta(minutes=10),
    )
    db.session.add_all([fresh, stuck, running])
    db.session.commit()
    ids = fresh.id, stuck.id, running.id

    assert run_task(app, "parkapp.tasks.exports.redispatch_pending_exports").result == 1

    statuses = [db.session.get(ExportJob, job_id).status for job_id in ids]
    assert statuses == [JobStatus.PENDING, JobStatus.DONE, JobStatus.RUNNING]

"""Exports end to end in-process: the task body run eagerly on the real database, mails
through the real SMTP server, files parsed back (csv module, pypdf), pages and API."""

import csv
import io
import itertools
import logging
import os
import socket
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, insert, select

from parkapp import create_app
from parkapp.core import mail as mailer
from parkapp.exports import booking_csv as csv_export
from parkapp.exports import jobs as exports
from parkapp.extensions import db
from parkapp.models import (
    Booking,
    BookingStatus,
    ExportJob,
    JobKind,
    JobStatus,
    Notification,
    OutboxMail,
    Spot,
    utcnow,
)

CODES = itertools.count(1)
RUN_EXPORT = "parkapp.tasks.exports.run_export"


# -- helpers shared with test_tasks_upkeep and test_worker ----------------------------------


def add_bookings(
    user,
    lot,
    first_start,
    count=1,
    *,
    hours=2,
    every=timedelta(hours=3),
    status=BookingStatus.COMPLETED,
    price_cents=400,
    plate="AB12CDE",
):
    """Insert `count` bookings of one spot of `lot`, `every` apart; return their codes."""
    spot_id = db.session.scalar(select(Spot.id).where(Spot.lot_id == lot.id).order_by(Spot.id))
    rows = []
    for i in range(count):
        starts = first_start + i * every
        ends = starts + timedelta(hours=hours)
        rows.append(
            {
                "lot_id": lot.id,
                "spot_id": spot_id,
                "user_id": user.id if user else None,
                "plate": plate,
                "status": status,
                "starts_at": starts,
                "ends_at": ends,
                "booked_ends_at": ends,
                "quoted_cents": price_cents,
                "price_cents": price_cents if status == BookingStatus.COMPLETED else None,
                "currency": lot.currency,
                "confirmation_code": f"TC{next(CODES):08d}",
                "created_at": starts - timedelta(days=1),
            }
        )
    db.session.execute(insert(Booking), rows)
    db.session.commit()
    return [row["confirmation_code"] for row in rows]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def set_eager(app, eager=True):
    """Run tasks inline in this process (the default for in-process tests)."""
    celery = app.extensions["celery"]
    celery.conf.task_always_eager = eager
    celery.set_current()
    celery.set_default()


def run_task(app, name, *args):
    """Run a registered task's body eagerly in `app`, as a worker would; return the result."""
    db.session.commit()  # hold no snapshot the task's commits would invalidate (SQLite)
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()  # a worker imports the task modules at start
    result = celery.tasks[name].apply(args=list(args))
    db.session.rollback()  # see what the task committed
    return result


def job_of(job_id):
    """The job as committed now (ends the test session's snapshot first)."""
    db.session.rollback()
    return db.session.get(ExportJob, job_id)


def new_job(user, kind, params=None):
    """A pending job row, not sent to any broker."""
    job = ExportJob(user_id=user.id, kind=kind, params=params or {})
    db.session.add(job)
    db.session.commit()
    return job


def attachments(message):
    """[(filename, content type, bytes)] of a received email."""
    return [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.walk()
        if part.get_filename()
    ]


def bodies(message):
    """{content type: decoded text} of a received email's text parts (no attachments)."""
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() in ("text/plain", "text/html") and not part.get_filename()
    }


def pdf_pages(path_or_bytes):
    """Each page's text with its whitespace collapsed to single spaces."""
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    return [" ".join(page.extract_text().split()) for page in PdfReader(source).pages]


def fetch(client, url, **kwargs):
    """(status, mimetype, body bytes) of a GET, closing the streamed file."""
    with client.get(url, **kwargs) as response:
        return response.status_code, response.mimetype, response.get_data()


def remove_export_files():
    """Delete the files the test's jobs wrote (the tables are emptied after each test)."""
    db.session.rollback()
    for path in db.session.scalars(
        select(ExportJob.file_path).where(ExportJob.file_path.is_not(None))
    ):
        if os.path.exists(path):
            os.remove(path)


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def eager(app):
    set_eager(app)
    yield app
    set_eager(app, False)
    remove_export_files()


@pytest.fixture
def other_app(app):
    """Factory: a second app on the same database with some settings changed.

    Building it makes its Celery app the current one; the session app gets it back after.
    """

    def make(overrides):
        other = create_app("testing", {"MAIL_SERVER": "127.0.0.1", **overrides})
        set_eager(other)
        return other

    yield make
    set_eager(app)


# -- booking-history CSV ---------------------------------------------------------------------


def test_csv_has_one_row_per_booking_in_lot_time_and_defuses_formulas(
    app, driver, make_user, make_lot, mailbox
):
    london = make_lot(name="Harbour Street", timezone="Europe/London", currency="GBP")
    evil = make_lot(
        name='=HYPERLINK("http://evil.example","x")', timezone="America/New_York", currency="USD"
    )
    first = add_bookings(driver, london, utc(2025, 7, 1, 8, 0), hours=2, price_cents=450)
    second = add_bookings(
        driver, evil, utc(2025, 1, 15, 14, 30), hours=3, price_cents=1200, plate="NY123"
    )
    add_bookings(make_user(), london, utc(2025, 7, 2, 8, 0))  # someone else's

    job = exports.request_export(driver, "bookings_csv")
    job = job_of(job.id)

    assert job.status == JobStatus.DONE and job.progress == 100 and job.row_count == 2
    with open(job.file_path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "confirmation_code",
        "lot",
        "spot",
        "plate",
        "start",
        "end",
        "duration_minutes",
        "amount",
        "currency",
        "status",
    ]
    assert rows[1] == [
        second[0],
        "'" + evil.name,
        rows[1][2],
        "NY123",
        "2025-01-15 09:30",
        "2025-01-15 12:30",
        "180",
        "12.00",
        "USD",
        "completed",
    ]
    assert rows[2][0] == first[0]
    assert rows[2][1] == "Harbour Street"
    assert rows[2][4:] == [
        "2025-07-01 09:00",
        "2025-07-01 11:00",
        "120",
        "4.50",
        "GBP",
        "completed",
    ]
    assert len(rows) == 3


def test_csv_email_carries_the_same_bytes_as_the_download(app, client, auth, driver, lot, mailbox):
    add_bookings(driver, lot, utc(2025, 3, 1, 9), count=5)
    job = exports.request_export(driver, "bookings_csv")

    auth.login()
    status, mimetype, downloaded = fetch(client, f"/exports/{job.id}/download")
    (message,) = mailbox.to("driver@example.com")

    assert (status, mimetype) == (200, "text/csv")
    ((name, content_type, data),) = attachments(message)
    assert content_type == "text/csv" and name.endswith(".csv")
    assert data == downloaded
    assert data.decode("utf-8").count("\n") == 6  # header and five bookings
    text = bodies(message)
    assert "is attached" in text["text/plain"] and "is attached" in text["text/html"]
    assert "Dana Driver" in text["text/plain"]


def test_csv_date_range_counts_days_in_each_lots_time_zone(driver, make_lot):
    auckland = make_lot(name="Auckland", timezone="Pacific/Auckland")
    los_angeles = make_lot(name="LA", timezone="America/Los_Angeles")
    inside = add_bookings(driver, auckland, utc(2025, 3, 10, 23, 30))  # 11 Mar 12:30 local
    inside += add_bookings(driver, los_angeles, utc(2025, 3, 12, 6, 0))  # 11 Mar 23:00 local
    add_bookings(driver, auckland, utc(2025, 3, 11, 12, 0))  # 12 Mar 01:00 local
    add_bookings(driver, los_angeles, utc(2025, 3, 11, 6, 0))  # 10 Mar 23:00 local

    job = exports.request_export(
        driver, "bookings_csv", {"date_from": "2025-03-11", "date_to": "2025-03-11"}
    )
    with open(job_of(job.id).file_path, encoding="utf-8") as handle:
        codes = [row["confirmation_code"] for row in csv.DictReader(handle)]

    assert codes == inside


def test_csv_export_streams_rows_and_reports_progress_as_it_goes(app, driver, lot):
    rows = csv_export.BATCH + 1000  # more than one fetch from the server-side cursor
    add_bookings(driver, lot, utc(2020, 1, 1), count=rows, every=timedelta(hours=3))
    job = new_job(driver, JobKind.BOOKINGS_CSV)
    reads, progress = [], []

    def spy(conn, cursor, statement, parameters, context, executemany):
        if "FROM bookings JOIN lots" in statement:
            reads.append(context.execution_options)
        elif statement.startswith("UPDATE export_jobs SET progress"):
            progress.append(parameters)

    db.event.listen(db.engine, "before_cursor_execute", spy)
    try:
        run_task(app, RUN_EXPORT, job.id)
    finally:
        db.event.remove(db.engine, "before_cursor_execute", spy)

    job = job_of(job.id)
    assert (job.status, job.row_count) == (JobStatus.DONE, rows)
    assert len(reads) == 1
    if db.engine.dialect.name == "postgresql":  # COPY ... TO STDOUT straight into the file
        assert csv_export.COPY_SINK in reads[0]
    else:
        assert reads[0].get("yield_per") == csv_export.BATCH
    assert 50 <= len(progress) <= 100  # about once per percent, while streaming


# -- monthly activity PDF ----------------------------------------------------------------------


def test_activity_pdf_shows_name_month_and_totals(driver, make_lot, mailbox):
    north = make_lot(name="North Car Park")
    south = make_lot(name="South Car Park")
    add_bookings(driver, north, utc(2025, 2, 3, 9), count=2, hours=2, price_cents=400)
    add_bookings(driver, south, utc(2025, 2, 20, 9), hours=3, price_cents=650)
    add_bookings(driver, north, utc(2025, 3, 1, 9))  # next month: not in the report

    job = job_of(exports.request_export(driver, "activity_pdf", {"month": "2025-02"}).id)
    text = " ".join(pdf_pages(job.file_path))

    assert job.status == JobStatus.DONE and job.row_count == 3
    assert "Dana Driver" in text and "February 2025" in text
    assert "Bookings 3" in text
    assert "Hours parked 7.0" in text
    assert "Amount spent 14.50 GBP" in text
    assert "North Car Park" in text and "South Car Park" in text
    (message,) = mailbox.to("driver@example.com")
    ((name, content_type, data),) = attachments(message)
    assert (name, content_type) == ("parkapp-activity-2025-02.pdf", "application/pdf")
    assert "February 2025" in " ".join(pdf_pages(data))


def test_long_activity_pdf_repeats_the_table_header_on_every_page(driver, lot):
    add_bookings(driver, lot, utc(2025, 1, 1), count=1200, hours=0.5, every=timedelta(minutes=36))

    job = job_of(exports.request_export(driver, "activity_pdf", {"month": "2025-01"}).id)
    pages = pdf_pages(job.file_path)
    listing = [page for page in pages if "AB12CDE" in page]

    assert job.row_count == 1200
    assert len(listing) >= 10
    for page in listing:
        assert "Start Lot Spot Plate Duration Status Amount" in page


def test_activity_pdf_refuses_a_month_that_has_not_started(driver):
    with pytest.raises(exports.Invalid) as caught:
        exports.request_export(driver, "activity_pdf", {"month": "2999-01"})
    assert "month" in caught.value.errors
    assert db.session.scalar(select(func.count(ExportJob.id))) == 0


# -- reliability -------------------------------------------------------------------------------


def test_task_run_twice_sends_one_email(app, driver, lot, mailbox):
    add_bookings(driver, lot, utc(2025, 5, 1, 9), count=3)
    job = exports.request_export(driver, "bookings_csv")

    run_task(app, RUN_EXPORT, job.id)
    run_task(app, RUN_EXPORT, job.id)

    assert len(mailbox.to("driver@example.com")) == 1
    assert db.session.scalar(select(func.count(Notification.id))) == 1
    assert job_of(job.id).status == JobStatus.DONE


def test_task_redelivered_mid_run_rebuilds_the_file_and_mails_once(app, driver, lot, mailbox):
    add_bookings(driver, lot, utc(2025, 5, 1, 9), count=3)
    job = exports.request_export(driver, "bookings_csv")
    # As if a worker died while building it: running, half done, no mail claimed.
    db.session.execute(
        db.update(ExportJob)
        .where(ExportJob.id == job.id)
        .values(status=JobStatus.RUNNING, progress=50)
    )
    db.session.execute(db.delete(Notification))
    mailbox.clear()

    run_task(app, RUN_EXPORT, job.id)

    job = job_of(job.id)
    assert (job.status, job.progress, job.attempts) == (JobStatus.DONE, 100, 2)
    assert len(mailbox.to("driver@example.com")) == 1


def test_smtp_down_retries_with_backoff_then_fails_visibly(
    other_app, driver, lot, mailbox, caplog, client, auth
):
    add_bookings(driver, lot, utc(2025, 5, 1, 9))
    no_smtp = other_app({"MAIL_PORT": closed_port(), "MAIL_SUPPRESS_SEND": False})
    caplog.set_level(logging.WARNING, logger="parkapp.tasks.exports")

    with no_smtp.app_context():
        job_id = exports.request_export(driver, "bookings_csv").id

    job = job_of(job_id)
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 5
    assert job.status == JobStatus.FAILED
    assert "could not email" in job.error and "download" in job.error
    assert mailbox.messages == []
    assert db.session.scalar(select(func.count(Notification.id))) == 0  # claim given back
    auth.login()
    assert fetch(client, f"/exports/{job_id}/download")[0] == 200
    assert "could not email" in client.get("/exports").get_data(as_text=True)


def test_backoff_doubles_up_to_ten_minutes():
    from parkapp.tasks.exports import backoff

    for retries, ceiling in [(0, 30), (1, 60), (3, 240), (5, 600), (9, 600)]:
        delays = {backoff(retries) for _ in range(50)}
        assert all(ceiling // 2 <= d <= ceiling for d in delays)


def test_broker_down_keeps_the_job_pending_until_redispatched(
    app, other_app, driver, lot, mailbox, auth
):
    add_bookings(driver, lot, utc(2025, 5, 1, 9))
    headers = auth.headers()
    broken = dict(app.config["CELERY"], broker_url="redis://127.0.0.1:1/0")
    no_broker = other_app({"CELERY": broken})
    set_eager(no_broker, False)

    with no_broker.test_client() as client:
        response = client.post("/api/v1/exports", json={"kind": "bookings_csv"}, headers=headers)

    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "pending"
    job = job_of(body["id"])
    assert (job.status, job.dispatched_at) == (JobStatus.PENDING, None)

    set_eager(app)  # the broker is back
    assert run_task(app, "parkapp.tasks.exports.redispatch_pending_exports").result == 0  # too new
    db.session.execute(db.update(ExportJob).values(created_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert run_task(app, "parkapp.tasks.exports.redispatch_pending_exports").result == 1

    job = job_of(body["id"])
    assert job.status == JobStatus.DONE and job.dispatched_at is not None
    assert len(mailbox.to("driver@example.com")) == 1


def test_outbox_keeps_mail_when_no_smtp_server_is_configured(app, other_app, driver):
    outbox_app = other_app({"MAIL_SERVER": "", "MAIL_SUPPRESS_SEND": True})
    with outbox_app.app_context(), outbox_app.test_request_context():
        message = mailer.build_message(
            driver.email,
            "Hello",
            "inactivity_reminder",
            [("a.csv", "text/csv", b"x")],
            user=driver,
            days=30,
        )
        assert mailer.send_once(driver.id, "test", "p1", message)

    (kept,) = db.session.scalars(select(OutboxMail)).all()
    assert (kept.recipients, kept.subject, kept.attachments) == (driver.email, "Hello", "a.csv")
    assert "30 days" in kept.body and "<p>" in kept.html


# -- API ---------------------------------------------------------------------------------------


def test_api_export_is_accepted_and_followed_to_its_download(client, auth, driver, lot, mailbox):
    add_bookings(driver, lot, utc(2025, 4, 1, 9), count=2)
    headers = auth.headers()

    accepted = client.post("/api/v1/exports", json={"kind": "bookings_csv"}, headers=headers)
    body = accepted.get_json()
    status = client.get(body["status_url"], headers=headers).get_json()
    code, mimetype, data = fetch(client, status["download_url"], headers=headers)

    assert accepted.status_code == 202
    assert set(body) == {"id", "status", "status_url"}
    assert body["status_url"] == f"/api/v1/exports/{body['id']}"
    assert status["status"] == "done" and status["progress"] == 100
    assert status["kind"] == "bookings_csv" and "error" not in status
    assert (code, mimetype) == (200, "text/csv")
    assert data.decode().count("\n") == 3
    listed = client.get("/api/v1/exports", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]


def test_api_pdf_export_takes_a_month(client, auth, driver, lot):
    add_bookings(driver, lot, utc(2025, 6, 10, 9))
    headers = auth.headers()

    body = client.post(
        "/api/v1/exports", json={"kind": "activity_pdf", "month": "2025-06"}, headers=headers
    ).get_json()
    status = client.get(body["status_url"], headers=headers).get_json()
    code, mimetype, data = fetch(client, status["download_url"], headers=headers)

    assert (code, mimetype) == (200, "application/pdf")
    assert "June 2025" in " ".join(pdf_pages(data))


def test_api_export_of_another_user_is_not_found(client, auth, driver, make_user, lot):
    make_user(email="other@example.com")
    job = exports.request_export(driver, "bookings_csv")
    headers = auth.headers("other@example.com")

    status = client.get(f"/api/v1/exports/{job.id}", headers=headers)
    download = client.get(f"/api/v1/exports/{job.id}/download", headers=headers)

    assert status.status_code == 404 and status.get_json()["code"] == "not_found"
    assert download.status_code == 404
    assert client.get("/api/v1/exports", headers=headers).get_json()["items"] == []


@pytest.mark.parametrize(
    "payload, status, field",
    [
        ({"kind": "everything"}, 422, "kind"),
        ({"kind": "activity_pdf", "month": "June"}, 422, "month"),
        ({"kind": "activity_pdf", "month": "2999-01"}, 422, "month"),
        (
            {"kind": "bookings_csv", "date_from": "2025-02-01", "date_to": "2025-01-01"},
            422,
            "date_to",
        ),
        ({"kind": "bookings_csv", "date_from": "2025-02-30"}, 422, "date_from"),
        ({"kind": "bookings_csv", "surprise": 1}, 422, None),
        ({"kind": "revenue_pdf"}, 403, None),
    ],
)
def test_api_export_refuses_bad_requests_and_creates_nothing(
    client, auth, driver, payload, status, field
):
    response = client.post("/api/v1/exports", json=payload, headers=auth.headers())

    assert response.status_code == status, response.get_json()
    if field:
        assert field in response.get_json()["errors"]
    assert db.session.scalar(select(func.count(ExportJob.id))) == 0


def test_api_exports_need_a_token(client):
    assert client.post("/api/v1/exports", json={"kind": "bookings_csv"}).status_code == 401
    assert client.get("/api/v1/exports/1").status_code == 401


def test_api_download_of_an_unfinished_export_is_a_conflict(client, auth, driver):
    job = new_job(driver, JobKind.BOOKINGS_CSV)
    headers = auth.headers()

    status = client.get(f"/api/v1/exports/{job.id}", headers=headers).get_json()
    download = client.get(f"/api/v1/exports/{job.id}/download", headers=headers)

    assert status["status"] == "pending" and "download_url" not in status
    assert download.status_code == 409


# -- pages -------------------------------------------------------------------------------------


def test_exports_page_requests_a_csv_and_lists_it_with_its_download(client, auth, driver, lot):
    add_bookings(driver, lot, utc(2025, 4, 1, 9))
    auth.login()

    response = client.post(
        "/exports/csv",
        data={"csv-date_from": "2025-01-01", "csv-date_to": "2025-12-31"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    (job,) = db.session.scalars(select(ExportJob)).all()

    assert response.status_code == 200
    assert job.params == {"date_from": "2025-01-01", "date_to": "2025-12-31"}
    assert "Booking history (CSV)" in page and "2025-01-01 to 2025-12-31" in page
    assert f'href="/exports/{job.id}/download"' in page
    assert '<progress max="100" value="100"' in page
    assert 'href="/exports"' in page  # the navigation links here


def test_exports_page_shows_form_errors_next_to_the_field(client, auth, driver):
    auth.login()

    response = client.post(
        "/exports/csv", data={"csv-date_from": "2025-02-01", "csv-date_to": "2025-01-01"}
    )

    assert response.status_code == 422
    assert "The end date is before the start date." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ExportJob.id))) == 0


def test_exports_page_requests_a_monthly_pdf(client, auth, driver, lot, mailbox):
    add_bookings(driver, lot, utc(2025, 4, 1, 9))
    auth.login()
    page = client.get("/exports").get_data(as_text=True)
    assert 'name="pdf-month"' in page

    month = exports.previous_month()
    client.post("/exports/pdf", data={"pdf-month": month})
    (job,) = db.session.scalars(select(ExportJob)).all()

    assert (job.kind, job.params, job.status) == (
        JobKind.ACTIVITY_PDF,
        {"month": month},
        JobStatus.DONE,
    )
    assert len(mailbox.to("driver@example.com")) == 1


def test_running_export_shows_progress_and_reloads_without_javascript(client, auth, driver):
    job = new_job(driver, JobKind.BOOKINGS_CSV)
    db.session.execute(db.update(ExportJob).values(status=JobStatus.RUNNING, progress=42))
    db.session.commit()
    auth.login()

    page = client.get("/exports").get_data(as_text=True)
    status = client.get(f"/exports/{job.id}/status")

    assert '<progress max="100" value="42"' in page
    assert '<noscript><meta http-equiv="refresh"' in page
    assert f'data-status-url="/exports/{job.id}/status"' in page
    assert status.get_json() == {
        "id": job.id,
        "kind": "bookings_csv",
        "status": "running",
        "progress": 42,
        "error": None,
    }


def test_failed_export_shows_its_error_in_words(client, auth, driver):
    job = new_job(driver, JobKind.BOOKINGS_CSV)
    exports.fail(job, "We could not build this export.")
    auth.login()

    page = client.get("/exports").get_data(as_text=True)

    assert "We could not build this export." in page
    assert "refresh" not in page
    assert client.get(f"/exports/{job.id}/status").get_json()["status"] == "failed"


def test_export_pages_hide_other_peoples_jobs(client, auth, driver, make_user, lot):
    job = exports.request_export(driver, "bookings_csv")
    make_user(email="other@example.com")
    auth.login("other@example.com")

    assert client.get(f"/exports/{job.id}/status").status_code == 404
    assert fetch(client, f"/exports/{job.id}/download")[0] == 404
    assert f"export-{job.id}" not in client.get("/exports").get_data(as_text=True)


def test_export_pages_need_a_login(client):
    response = client.get("/exports")
    assert response.status_code in (302, 401)


# -- admin -------------------------------------------------------------------------------------


def test_admin_bookings_csv_covers_every_user_with_filters(
    client, auth, admin, driver, make_user, make_lot
):
    north, south = make_lot(name="North"), make_lot(name="South")
    wanted = add_bookings(driver, north, utc(2025, 4, 1, 9))
    wanted += add_bookings(make_user(), north, utc(2025, 4, 2, 9))
    add_bookings(driver, south, utc(2025, 4, 1, 9))
    add_bookings(driver, north, utc(2025, 4, 3, 9), status=BookingStatus.CANCELLED)
    auth.login("admin@example.com")

    response = client.post(
        "/admin/exports/bookings-csv",
        data={
            "csv-lot_id": str(north.id),
            "csv-status": "completed",
            "csv-date_from": "2025-04-01",
            "csv-date_to": "2025-04-30",
        },
        follow_redirects=True,
    )
    (job,) = db.session.scalars(select(ExportJob)).all()
    _, _, data = fetch(client, f"/exports/{job.id}/download")

    assert response.status_code == 200 and "All bookings (CSV)" in response.get_data(as_text=True)
    assert job.kind == JobKind.ADMIN_BOOKINGS_CSV
    assert [
        row["confirmation_code"] for row in csv.DictReader(io.StringIO(data.decode()))
    ] == wanted


def test_admin_revenue_pdf_sums_completed_stays_by_lot_and_day(
    client, auth, admin, driver, make_lot
):
    north = make_lot(name="North")
    add_bookings(driver, north, utc(2025, 4, 1, 9), count=2, price_cents=500)
    add_bookings(driver, north, utc(2025, 4, 1, 15), status=BookingStatus.CANCELLED)
    auth.login("admin@example.com")

    client.post(
        "/admin/exports/revenue-pdf",
        data={"pdf-date_from": "2025-04-01", "pdf-date_to": "2025-04-30"},
    )
    (job,) = db.session.scalars(select(ExportJob)).all()
    text = " ".join(pdf_pages(fetch(client, f"/exports/{job.id}/download")[2]))

    assert "2025-04-01 North 2 4.0 10.00 GBP" in text


def test_admin_export_pages_are_for_admins_only(client, auth, driver):
    auth.login()

    assert client.get("/admin/exports").status_code == 403
    assert client.get("/admin/outbox").status_code == 403
    assert client.post("/admin/exports/revenue-pdf", data={}).status_code == 403


def test_admin_outbox_lists_and_shows_kept_mails(client, auth, admin):
    db.session.add(
        OutboxMail(
            recipients="driver@example.com",
            subject="Your export is ready",
            body="Hello <Dana>",
            html="<p>Hello <b>Dana</b></p>",
            attachments="parkapp.csv",
        )
    )
    db.session.commit()
    mail_id = db.session.scalar(select(OutboxMail.id))
    auth.login("admin@example.com")

    listing = client.get("/admin/outbox").get_data(as_text=True)
    shown = client.get(f"/admin/outbox/{mail_id}").get_data(as_text=True)

    assert "Your export is ready" in listing and "parkapp.csv" in listing
    assert "Hello &lt;Dana&gt;" in shown
    assert 'sandbox title="HTML body of the mail" srcdoc="&lt;p&gt;Hello' in shown
    assert client.get("/admin/outbox/999999").status_code == 404


# -- leases: a job whose worker died is taken up again, by one runner only ------------------

RECLAIM = "parkapp.tasks.exports.reclaim_expired_exports"


def expire_lease(job_id, minutes=5):
    """As if the lease holder died `minutes` ago (its heartbeats stopped)."""
    past = utcnow() - timedelta(minutes=minutes)
    db.session.execute(
        db.update(ExportJob)
        .where(ExportJob.id == job_id)
        .values(lease_expires_at=past, dispatched_at=past - timedelta(minutes=5))
    )
    db.session.commit()


def test_a_job_whose_worker_died_is_dispatched_again_and_mailed_once(app, driver, lot, mailbox):
    from parkapp.exports import leases as export_leases

    add_bookings(driver, lot, utc(2025, 5, 1, 9), count=3)
    job = new_job(driver, JobKind.BOOKINGS_CSV)
    dead = export_leases.claim(job.id)  # a worker took it, then was SIGKILLed
    db.session.execute(db.update(ExportJob).values(status=JobStatus.RUNNING, progress=66))
    db.session.commit()

    assert run_task(app, RECLAIM).result == {
        "redispatched": 0,
        "failed": 0,
        "pending": 0,
    }  # lease still live
    assert run_task(app, RUN_EXPORT, job.id).result == "busy"  # nor may anyone else run it
    expire_lease(job.id)
    assert run_task(app, RECLAIM).result == {"redispatched": 1, "failed": 0, "pending": 0}

    job = job_of(job.id)
    assert (job.status, job.attempts, job.lease_token) == (JobStatus.DONE, 2, None)
    assert len(mailbox.to("driver@example.com")) == 1
    # The dead run's message, redelivered late, neither builds nor mails again.
    assert export_leases.claim(job.id, dead) is None
    assert run_task(app, RUN_EXPORT, job.id).result == "done"
    assert len(mailbox.to("driver@example.com")) == 1


def test_a_runner_whose_lease_was_taken_over_records_no_file(app, driver, lot, mailbox):
    from parkapp.exports import leases as export_leases

    add_bookings(driver, lot, utc(2025, 5, 1, 9), count=3)
    job = new_job(driver, JobKind.BOOKINGS_CSV)
    stalled = export_leases.claim(job.id)  # a runner that stalls past its lease
    exports.start(job_of(job.id), stalled)
    path, name, rows = exports.generate(job_of(job.id), stalled)
    expire_lease(job.id)
    assert run_task(app, RECLAIM).result["redispatched"] == 1  # the reclaimed run finishes

    with pytest.raises(export_leases.LeaseLost):
        exports.finish(job_of(job.id), path, name, rows, stalled)
    with pytest.raises(export_leases.LeaseLost):  # nor can it report progress
        exports.progress_updater(job_of(job.id), stalled)(1, 2)

    job = job_of(job.id)
    assert job.status == JobStatus.DONE and job.file_path != path
    assert not os.path.exists(path) and os.path.exists(job.file_path)
    assert len(mailbox.to("driver@example.com")) == 1


def test_a_job_whose_worker_keeps_dying_fails_after_its_attempts(app, driver, client, auth):
    from parkapp.exports import leases as export_leases

    job = new_job(driver, JobKind.BOOKINGS_CSV)
    for attempt in range(1, 4):  # EXPORT_MAX_ATTEMPTS = 3: each run dies mid-way
        assert export_leases.claim(job.id) is not None
        expire_lease(job.id)
        expected = {"redispatched": 0, "failed": 1, "pending": 0} if attempt == 3 else None
        if expected:
            assert run_task(app, RECLAIM).result == expected

    job = job_of(job.id)
    assert (job.status, job.attempts, job.lease_token) == (JobStatus.FAILED, 3, None)
    assert "stopped 3 times" in job.error
    assert export_leases.claim(job.id) is None
    auth.login()
    assert "stopped 3 times" in client.get("/exports").get_data(as_text=True)


def test_export_request_after_another_process_wrote_does_not_fail_on_a_stale_snapshot(driver, lot):
    """A worker committing between the request's first read and its insert: no "database is
    locked" (SQLite cannot turn that read snapshot into a write; the request must start anew)."""
    other = new_job(driver, JobKind.BOOKINGS_CSV)
    db.session.rollback()
    db.session.get(type(driver), driver.id)  # the request's first read opens its snapshot
    with db.engine.connect() as worker:  # another connection, as a worker's would be
        worker.execute(db.update(ExportJob).where(ExportJob.id == other.id).values(progress=42))
        worker.commit()

    job = exports.request_export(driver, "activity_pdf", {})

    assert job_of(job.id).kind == JobKind.ACTIVITY_PDF

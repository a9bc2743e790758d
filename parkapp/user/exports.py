"""Driver pages for exports: ask for a CSV or a monthly PDF, watch progress, download.

The list works without JavaScript (it reloads itself while a job runs); with it, each
unfinished row polls its JSON status every second and moves its progress bar.
"""

from datetime import date

from flask import flash, jsonify, redirect, render_template, send_file, url_for
from flask_security import auth_required, current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional

from parkapp.core.exceptions import DomainError
from parkapp.exports import jobs as exports
from parkapp.models import JobKind, utcnow
from parkapp.user.blueprint import bp
from parkapp.web.export_jobs import (
    KIND_LABELS,
    UNFINISHED,
    describe,
    iso_day,
    job_status,
    show_error,
)
from parkapp.web.inputs import years_validator

MONTHS_OFFERED = 24


class HistoryCsvForm(FlaskForm):
    """Booking history as CSV: all time, or the days between two dates (both optional)."""

    date_from = DateField("From", validators=[Optional(), years_validator])
    date_to = DateField("Until", validators=[Optional(), years_validator])

    def params(self):
        """The export parameters as the service takes them."""
        return {"date_from": iso_day(self.date_from.data), "date_to": iso_day(self.date_to.data)}


class ActivityPdfForm(FlaskForm):
    """The monthly activity report of one month (this one or an earlier one)."""

    month = SelectField("Month")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.month.choices = month_choices(utcnow().date())
        if not self.is_submitted():
            self.month.data = exports.previous_month()

    def params(self):
        """The export parameters as the service takes them."""
        return {"month": self.month.data}


def month_choices(today, count=MONTHS_OFFERED):
    """Choices ('YYYY-MM', 'March 2026') from this month back `count` months."""
    year, month = today.year, today.month
    choices = []
    for _ in range(count):
        first = date(year, month, 1)
        label = first.strftime("%B %Y") + (" (so far)" if not choices else "")
        choices.append(SelectChoice(first.strftime("%Y-%m"), label))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return choices


@bp.get("/exports", endpoint="exports")
@auth_required("session")
def exports_page():
    """The driver's exports with their progress, and the forms to ask for new ones."""
    return _page(HistoryCsvForm(prefix="csv"), ActivityPdfForm(prefix="pdf"))


def _page(csv_form, pdf_form, status=200):
    jobs = exports.jobs_of(current_user)
    return render_template(
        "user/exports.html",
        jobs=jobs,
        csv_form=csv_form,
        pdf_form=pdf_form,
        kind_labels=KIND_LABELS,
        job_status=job_status,
        describe=describe,
        busy=any(job.status in UNFINISHED for job in jobs),
    ), status


@bp.post("/exports/csv")
@auth_required("session")
def request_csv():
    """Queue a booking-history CSV."""
    form = HistoryCsvForm(prefix="csv")
    return _request(JobKind.BOOKINGS_CSV, form, form, ActivityPdfForm(prefix="pdf"))


@bp.post("/exports/pdf")
@auth_required("session")
def request_pdf():
    """Queue a monthly activity PDF."""
    form = ActivityPdfForm(prefix="pdf")
    return _request(JobKind.ACTIVITY_PDF, form, HistoryCsvForm(prefix="csv"), form)


def _request(kind, form, csv_form, pdf_form):
    """Validate the submitted form, queue the job and go back to the list (422 on errors)."""
    if form.validate_on_submit():
        try:
            exports.request_export(current_user, kind, form.params())
        except DomainError as exc:
            show_error(form, exc)
        else:
            flash(
                f"{KIND_LABELS[kind]} requested. It appears below when it is ready, "
                "and we email it to you too.",
                "success",
            )
            return redirect(url_for("user.exports"))
    return _page(csv_form, pdf_form, status=422)


@bp.get("/exports/<int:job_id>/status")
@auth_required("session")
def export_status(job_id):
    """A job's status and progress as JSON, for the progress bar (404 if not yours)."""
    return jsonify(job_status(exports.get_job(job_id, current_user)))


@bp.get("/exports/<int:job_id>/download")
@auth_required("session")
def export_download(job_id):
    """The finished file of one of your exports (404 if not yours, 409 if not ready)."""
    job = exports.download_path(job_id, current_user)
    return send_file(job.file_path, as_attachment=True, download_name=job.file_name, max_age=0)

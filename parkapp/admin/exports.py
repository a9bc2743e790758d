"""Admin pages for exports: every booking as CSV, revenue and occupancy as PDF, the outbox.

Routes register on the admin blueprint, so its guard (admins only) covers them.
"""

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, url_for
from flask_security import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional

from parkapp.admin.blueprint import PER_PAGE, bp
from parkapp.core import mail as mailer
from parkapp.core.exceptions import DomainError
from parkapp.exports import jobs as exports
from parkapp.extensions import db
from parkapp.lots.lots import picker_lots
from parkapp.models import BookingStatus, JobKind, JobStatus, utcnow
from parkapp.web.export_jobs import KIND_LABELS, describe, job_status, show_error
from parkapp.web.inputs import years_validator


def _optional_int(value):
    return int(value) if value not in (None, "") else None


class AllBookingsCsvForm(FlaskForm):
    """Every booking as CSV, filtered by lot, status and start day (in the lot's zone)."""

    lot_id = SelectField("Lot", coerce=_optional_int, validators=[Optional()])
    status = SelectField(
        "Status",
        validators=[Optional()],
        choices=[SelectChoice("", "Any status")]
        + [SelectChoice(s.value, s.value.replace("_", " ").title()) for s in BookingStatus],
    )
    date_from = DateField("Starting from", validators=[Optional(), years_validator])
    date_to = DateField("Starting until", validators=[Optional(), years_validator])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lots = picker_lots()
        self.lot_id.choices = [SelectChoice("", "All lots")] + [
            SelectChoice(str(lot.id), lot.name) for lot in lots
        ]

    def params(self):
        """The export parameters as the service takes them."""
        return {
            "lot_id": self.lot_id.data,
            "status": self.status.data or None,
            "date_from": _iso(self.date_from.data),
            "date_to": _iso(self.date_to.data),
        }


class RevenuePdfForm(FlaskForm):
    """Revenue and occupancy by lot and day over a date range (last month by default)."""

    date_from = DateField("From", validators=[Optional(), years_validator])
    date_to = DateField("Until", validators=[Optional(), years_validator])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            last = utcnow().date().replace(day=1) - timedelta(days=1)
            self.date_from.data, self.date_to.data = last.replace(day=1), last

    def params(self):
        """The export parameters as the service takes them."""
        return {"date_from": _iso(self.date_from.data), "date_to": _iso(self.date_to.data)}


def _iso(day):
    return day.isoformat() if day else None


@bp.get("/exports", endpoint="exports")
def exports_page():
    """The admin's exports and the forms to ask for new ones."""
    return _page(AllBookingsCsvForm(prefix="csv"), RevenuePdfForm(prefix="pdf"))


def _page(csv_form, pdf_form, status=200):
    jobs = exports.jobs_of(current_user)
    busy = any(job.status in (JobStatus.PENDING, JobStatus.RUNNING) for job in jobs)
    return render_template(
        "admin/exports.html",
        jobs=jobs,
        csv_form=csv_form,
        pdf_form=pdf_form,
        kind_labels=KIND_LABELS,
        job_status=job_status,
        describe=describe,
        busy=busy,
    ), status


@bp.post("/exports/bookings-csv")
def request_bookings_csv():
    """Queue a CSV of all bookings matching the filters."""
    form = AllBookingsCsvForm(prefix="csv")
    return _request(JobKind.ADMIN_BOOKINGS_CSV, form, form, RevenuePdfForm(prefix="pdf"))


@bp.post("/exports/revenue-pdf")
def request_revenue_pdf():
    """Queue a revenue and occupancy PDF."""
    form = RevenuePdfForm(prefix="pdf")
    return _request(JobKind.REVENUE_PDF, form, AllBookingsCsvForm(prefix="csv"), form)


def _request(kind, form, csv_form, pdf_form):
    if form.validate_on_submit():
        try:
            exports.request_export(current_user, kind, form.params())
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            flash(f"{KIND_LABELS[kind]} requested.", "success")
            return redirect(url_for("admin.exports"))
    return _page(csv_form, pdf_form, status=422)


# The development outbox ------------------------------------------------------------------


@bp.get("/outbox")
def outbox():
    """Mails the app kept instead of sending (no SMTP server configured), newest first."""
    page = db.paginate(mailer.outbox_query(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/outbox.html",
        page=page,
        suppressed=not mailer.mail_configured(),
        mail_server=current_app.config.get("MAIL_SERVER"),
    )


@bp.get("/outbox/<int:mail_id>")
def outbox_mail(mail_id):
    """One kept mail: its headers, text and HTML bodies."""
    return render_template("admin/outbox_mail.html", mail=mailer.get_outbox_mail(mail_id))

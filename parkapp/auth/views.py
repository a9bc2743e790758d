"""Account pages beyond Flask-Security-Too's own (login, register, reset, change)."""

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_security import auth_required, current_user, logout_user

from parkapp.accounts import privacy, users
from parkapp.auth.forms import EraseAccountForm, MailPreferenceForm
from parkapp.core.exceptions import DomainError

bp = Blueprint("auth", __name__, url_prefix="/account")


def _profile(erase_form=None, mail_form=None, status=200):
    """The account page with its forms (the one being answered keeps its input and errors)."""
    return render_template(
        "auth/profile.html",
        user=current_user,
        erase_form=erase_form or EraseAccountForm(formdata=None),
        mail_form=mail_form
        or MailPreferenceForm(formdata=None, booking_mail=current_user.booking_mail),
    ), status


@bp.get("/")
@auth_required("session")
def profile():
    """The signed-in user's account page."""
    return _profile()


@bp.get("/export.zip")
@auth_required("session")
def export_zip():
    """Everything held about the user, as a ZIP of JSON and CSV files."""
    return Response(
        privacy.export_zip(current_user),
        mimetype="application/zip",
        headers={"Content-Disposition": 'attachment; filename="parkapp-my-data.zip"'},
    )


@bp.post("/erase")
@auth_required("session")
def erase():
    """Erase the account after the password is confirmed; the session ends with it."""
    form = EraseAccountForm()
    if form.validate_on_submit():
        try:
            privacy.erase(current_user, form.password.data)
        except DomainError as exc:
            form.password.errors.append(exc.words)
        else:
            logout_user()
            flash("Your account is erased. Receipts are kept without your name.", "success")
            return redirect(url_for("user.index"))
    return _profile(erase_form=form, status=422)


@bp.post("/mail")
@auth_required("session")
def mail_preference():
    """Turn booking mail on or off; receipts and security mail always go."""
    form = MailPreferenceForm()
    if not form.validate_on_submit():
        return _profile(mail_form=form, status=422)
    users.set_booking_mail(current_user, form.booking_mail.data)
    flash(
        "Booking mail is on."
        if form.booking_mail.data
        else "Booking mail is off; receipts still come.",
        "success",
    )
    return redirect(url_for("auth.profile"))

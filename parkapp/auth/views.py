"""Account pages beyond Flask-Security-Too's own (login, register, reset, change)."""

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_security import auth_required, current_user, logout_user

from parkapp.accounts import privacy
from parkapp.auth.forms import EraseAccountForm
from parkapp.core.exceptions import DomainError

bp = Blueprint("auth", __name__, url_prefix="/account")


@bp.get("/")
@auth_required("session")
def profile():
    """The signed-in user's account page."""
    return render_template("auth/profile.html", user=current_user, erase_form=EraseAccountForm())


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
    return render_template("auth/profile.html", user=current_user, erase_form=form), 422

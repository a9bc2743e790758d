"""Account pages beyond Flask-Security-Too's own (login, register, reset, change)."""

from flask import Blueprint, render_template
from flask_security import auth_required, current_user

bp = Blueprint("auth", __name__, url_prefix="/account")


@bp.get("/")
@auth_required("session")
def profile():
    """The signed-in user's account page."""
    return render_template("auth/profile.html", user=current_user)

"""The admin blueprint: every route under /admin is for admins only."""

from flask import Blueprint, flash
from flask_security import auth_required, roles_required

from parkapp.admin.forms import show_domain_error
from parkapp.extensions import db
from parkapp.models import ADMIN

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50


@bp.before_request
@auth_required("session")
@roles_required(ADMIN)
def require_admin():
    """Guard every admin route at once: anonymous -> login page, non-admin -> 403."""
    return None  # the decorators answer for refused requests


def refused(exc, form=None, aliases=None):
    """Undo the failed unit of work; show the error next to its field, else flash it."""
    db.session.rollback()
    if form is None or not show_domain_error(form, exc, aliases):
        flash(exc.words, "error")

"""The check blueprint: the gate for operators and admins, and the health endpoints."""

from functools import wraps

from flask import Blueprint, session
from flask_security import auth_required, roles_accepted

from parkapp.core.exceptions import NotFound
from parkapp.lots import lots
from parkapp.models import ADMIN, OPERATOR

bp = Blueprint("check", __name__)
LOT_KEY, GATE_KEY = "gate_lot_id", "gate_name"  # the booth's car park and gate, in the session


def staff_only(view):
    """Operators and admins: anonymous people go to the login page, drivers get 403."""

    @wraps(view)
    @auth_required("session")
    @roles_accepted(OPERATOR, ADMIN)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    return wrapper


def booth_lot():
    """The car park this booth serves, or None when none is chosen (or it closed down)."""
    lot_id = session.get(LOT_KEY)
    if lot_id is None:
        return None
    try:
        return lots.get_lot(lot_id)
    except NotFound:
        session.pop(LOT_KEY, None)
        return None

"""The driver blueprint: finding lots, booking, paying, queueing, vehicles, memberships."""

from flask import Blueprint

from parkapp.user.forms import KIND_LABELS

bp = Blueprint("user", __name__)


@bp.context_processor
def _labels():
    return {"kind_labels": KIND_LABELS}

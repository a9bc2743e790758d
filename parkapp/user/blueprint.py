"""The driver blueprint: finding lots, booking, paying, queueing, vehicles, memberships."""

from flask import Blueprint

from parkapp.user.forms import KIND_LABELS
from parkapp.user.search_form import AMENITY_LABELS

bp = Blueprint("user", __name__)


@bp.context_processor
def _labels():
    return {"kind_labels": KIND_LABELS, "amenity_labels": AMENITY_LABELS}

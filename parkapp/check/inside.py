"""The gate's "inside now" screen: the stays in the booth's car park, found by plate, each
with its spot and fee so far and a form to move the car to another spot."""

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional

from parkapp.check.blueprint import booth_lot, bp, staff_only
from parkapp.check.forms import attach
from parkapp.core.exceptions import DomainError
from parkapp.extensions import db
from parkapp.gate import sessions
from parkapp.models import utcnow

PER_PAGE = 50


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class PlateSearchForm(FlaskForm):
    """Find stays by (part of) their plate; a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    plate = StringField("Plate", filters=[_strip], validators=[Optional(), Length(max=32)])


class MoveForm(FlaskForm):
    """Move one stay to the spot the operator names by its label."""

    spot = StringField(
        "Move to spot",
        filters=[_strip],
        validators=[InputRequired("Type the new spot's label."), Length(max=30)],
    )
    move = SubmitField("Move")


@bp.get("/gate/inside")
@staff_only
def gate_inside():
    """The stays inside the booth's car park now, longest first, with a plate search box."""
    lot = booth_lot()
    if lot is None:
        return redirect(url_for("check.gate_lot"))
    return _inside_screen(lot)


def _inside_screen(lot, failed=None, status=200):
    search = PlateSearchForm(formdata=request.args or None)
    plate = search.plate.data if search.validate() else None
    fragment = None
    try:
        query = sessions.inside_query(lot.id, plate)
        fragment = sessions.plate_fragment(plate)
    except DomainError as exc:
        search.plate.errors = [*search.plate.errors, exc.message]
        query, status = sessions.inside_query(lot.id), 422
    page = request.args.get("page", 1, type=int) or 1
    result = db.paginate(query, page=max(page, 1), per_page=PER_PAGE, error_out=False)
    now = utcnow()
    rows = []
    for booking in result.items:
        form = failed[1] if failed and failed[0] == booking.id else None
        form = form or MoveForm(prefix=f"move-{booking.id}", formdata=None)
        rows.append((booking, sessions.fee_so_far(booking, now), form))
    return render_template(
        "check/inside.html",
        lot=lot,
        search=search,
        rows=rows,
        result=result,
        plate=plate,
        fragment=fragment,
    ), status


@bp.post("/gate/inside/<int:booking_id>/move")
@staff_only
def gate_move(booking_id):
    """Move a car inside to another free spot; the error shows next to the spot field."""
    lot = booth_lot()
    if lot is None:
        return redirect(url_for("check.gate_lot"))
    form = MoveForm(prefix=f"move-{booking_id}")
    if not form.validate_on_submit():
        return _inside_screen(lot, failed=(booking_id, form), status=422)
    try:
        spot = sessions.spot_by_label(lot.id, form.spot.data)
        booking = sessions.move(booking_id, spot.id, lot_id=lot.id)
    except DomainError as exc:
        db.session.rollback()
        if not attach(form, exc, {"spot_id": "spot"}):
            form.spot.errors = [*form.spot.errors, exc.message]
        return _inside_screen(lot, failed=(booking_id, form), status=exc.status)
    flash(f"{booking.plate} moved to spot {booking.spot.label}.", "success")
    return redirect(url_for("check.gate_inside", plate=request.args.get("plate") or None))

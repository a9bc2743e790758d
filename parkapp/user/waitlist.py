"""Driver pages for the waitlist: join a full lot's queue, see the place, take an offer.

Accepting an offer turns the spot held for the driver into a park-now stay that starts
at once and runs until released, like "Park now" on the lot page. Declining passes the
spot to the next driver and takes the driver off the queue.
"""

from flask import flash, redirect, render_template, url_for
from flask_security import auth_required, current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length

from parkapp.core.exceptions import DomainError, NotFound
from parkapp.models import utcnow
from parkapp.user.blueprint import bp
from parkapp.user.forms import KIND_LABELS
from parkapp.waitlist import queue as waitlist


class JoinWaitlistForm(FlaskForm):
    """Which vehicle queues, and for which kind of spot."""

    plate = StringField("Vehicle plate", validators=[InputRequired(), Length(max=32)])
    spot_kind = SelectField("Spot kind", default="")

    def __init__(self, kinds, **kwargs):
        super().__init__(**kwargs)
        self.spot_kind.choices = [
            SelectChoice(kind.value if kind else "", KIND_LABELS[kind] if kind else "Any kind")
            for kind in kinds
        ]


def _join_form(kinds=None):
    # Prefixed: the lot page's booking form has fields of the same names.
    form = JoinWaitlistForm(kinds if kinds is not None else [None, *KIND_LABELS], prefix="waitlist")
    if not form.plate.data and current_user.vehicles:
        form.plate.data = current_user.vehicles[0].plate
    return form


@bp.context_processor
def _waitlist_panel():
    def waitlist_panel(lot):
        """The lot page's waitlist box: the driver's place, or the join form when full."""
        if not current_user.is_authenticated:
            return None
        entries = [(e, p) for e, p in waitlist.entries_of(current_user) if e.lot_id == lot.id]
        if entries:
            return {"entry": entries[0][0], "position": entries[0][1]}
        kinds = waitlist.full_kinds(lot.id, vehicles=current_user.vehicles)
        return {"form": _join_form(kinds)} if kinds else None

    return {"waitlist_panel": waitlist_panel}


@bp.post("/lots/<int:lot_id>/waitlist")
@auth_required("session")
def join_waitlist(lot_id):
    """Queue for a full lot; on success show the driver's place."""
    form = _join_form()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return redirect(url_for("user.lot_detail", lot_id=lot_id, _anchor="waitlist"))
    try:
        entry = waitlist.join(current_user, lot_id, form.plate.data, form.spot_kind.data or None)
    except DomainError as exc:
        flash(exc.words, "error")
        # Spots are free: send the driver to the booking form instead of the queue.
        anchor = "book" if exc.code == "spots_free" else "waitlist"
        return redirect(url_for("user.lot_detail", lot_id=lot_id, _anchor=anchor))
    flash(
        f"You are {waitlist.position(entry)} on the waitlist for {entry.lot.name}. "
        "We will email you when a spot is held for you.",
        "success",
    )
    return redirect(url_for("user.waitlist"))


@bp.get("/waitlist", endpoint="waitlist")
@auth_required("session")
def waitlist_page():
    """The driver's waitlists: place in each queue, and offers to accept or decline."""
    return render_template(
        "user/waitlist.html", entries=waitlist.entries_of(current_user), now=utcnow()
    )


@bp.post("/lots/<int:lot_id>/waitlist/leave")
@auth_required("session")
def leave_waitlist(lot_id):
    """Leave a lot's queue."""
    try:
        entry = waitlist.leave(current_user, lot_id)
    except DomainError as exc:
        flash(exc.words, "error")
    else:
        flash(f"You left the waitlist for {entry.lot.name}.", "success")
    return redirect(url_for("user.waitlist"))


@bp.post("/waitlist/<int:entry_id>/accept")
@auth_required("session")
def accept_offer(entry_id):
    """Take the held spot: parking starts now."""
    try:
        booking = waitlist.accept(entry_id, current_user)
    except NotFound:
        raise  # another driver's entry: 404, as for an id that does not exist
    except DomainError as exc:
        flash(exc.words, "error")
        return redirect(url_for("user.waitlist"))
    flash(f"Spot {booking.spot.label} is yours from now; release it when you leave.", "success")
    return redirect(url_for("user.booking_detail", booking_id=booking.id))


@bp.post("/waitlist/<int:entry_id>/decline")
@auth_required("session")
def decline_offer(entry_id):
    """Turn the offer down; the spot goes to the next driver."""
    try:
        entry = waitlist.decline(entry_id, current_user)
    except NotFound:
        raise  # another driver's entry: 404, as for an id that does not exist
    except DomainError as exc:
        flash(exc.words, "error")
    else:
        flash(f"Offer declined; you left the waitlist for {entry.lot.name}.", "success")
    return redirect(url_for("user.waitlist"))

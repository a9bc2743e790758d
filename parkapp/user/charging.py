"""Driver pages: start and stop charging a stay at the charger on its spot."""

from flask import flash, redirect, url_for
from flask_security import auth_required, current_user

from parkapp.booking import queries
from parkapp.core.exceptions import DomainError, NotFound
from parkapp.ev import charging, self_serve
from parkapp.user.blueprint import bp


@bp.post("/bookings/<int:booking_id>/charging/start")
@auth_required("session")
def start_charging(booking_id):
    """Start charging the driver's own stay."""
    booking = _own(booking_id)
    try:
        self_serve.start(booking, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash("Charging started.", "success")
    return redirect(url_for("user.booking_detail", booking_id=booking.id))


@bp.post("/bookings/<int:booking_id>/charging/stop")
@auth_required("session")
def stop_charging(booking_id):
    """Stop the stay's charging at the charger's last reading."""
    booking = _own(booking_id)
    charge = self_serve.open_session(booking)
    if charge is None:
        flash("This stay is not charging.", "error")
    else:
        try:
            charging.stop(charge, None, current_user)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Charging stopped at {charging.kwh_words(charge.energy_wh)}.", "success")
    return redirect(url_for("user.booking_detail", booking_id=booking.id))


def _own(booking_id):
    booking = queries.get_booking(booking_id, current_user)
    if not booking.is_owner(current_user):
        raise NotFound("No such booking.")
    return booking


def charger_context(booking):
    """The charger on an active stay's spot and its session in progress, for the page."""
    if not booking.is_active:
        return {"charger": None, "charging_now": None}
    try:
        station = self_serve.station_on_spot(booking)
    except DomainError:
        return {"charger": None, "charging_now": None}
    return {"charger": station, "charging_now": self_serve.open_session(booking)}

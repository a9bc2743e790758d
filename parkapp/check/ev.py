"""The gate's EV screen: the booth lot's chargers, the stay on each, start, read and stop.

Operators and admins only; meter values are typed from the charger's display (or come from
the charger through the API). Each action answers with the screen, the error next to its
field.
"""

from flask import flash, redirect, render_template, url_for
from flask_security import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from parkapp.check.blueprint import booth_lot, bp, staff_only
from parkapp.check.forms import attach
from parkapp.core.exceptions import DomainError, NotFound
from parkapp.ev import charging as ev
from parkapp.ev import stations as ev_stations
from parkapp.extensions import db

WH_RANGE = NumberRange(min=0, max=ev.MAX_WH, message="Give the meter reading in whole Wh.")


class StartForm(FlaskForm):
    start_wh = IntegerField("Meter now (Wh)", validators=[InputRequired(), WH_RANGE])


class ReadingForm(FlaskForm):
    wh = IntegerField("Meter now (Wh)", validators=[InputRequired(), WH_RANGE])


class StopForm(FlaskForm):
    stop_wh = IntegerField("Meter at stop (Wh)", validators=[InputRequired(), WH_RANGE])


def _lot_or_choose():
    lot = booth_lot()
    if lot is None:
        raise NotFound("Choose the car park this booth serves first.")
    return lot


def _station(lot, station_id):
    station = ev_stations.get(station_id)
    if station.lot_id != lot.id:
        raise NotFound("No such charger at this car park.")
    return station


def _charge(lot, session_id):
    charge = ev.get(session_id, current_user)
    if charge.station.lot_id != lot.id:
        raise NotFound("No such charging session at this car park.")
    return charge


@bp.get("/gate/ev")
@staff_only
def gate_ev():
    """The booth lot's chargers: what each charges, the stay on its spot, the actions."""
    lot = booth_lot()
    if lot is None:
        return redirect(url_for("check.gate_lot"))
    return _screen(lot)


def _screen(lot, failed=None, status=200):
    """The EV screen; `failed` = (key, form) puts a refused form back with its errors."""
    rows = ev_stations.of_lot(lot.id)
    stays = ev.stays_on([station.spot_id for station, _ in rows])
    screens = []
    for station, charge in rows:
        forms = {
            "start": StartForm(prefix=f"start{station.id}", formdata=None),
            "reading": ReadingForm(prefix=f"read{station.id}", formdata=None),
            "stop": StopForm(prefix=f"stop{station.id}", formdata=None),
        }
        if failed and failed[0][1] == station.id:
            forms[failed[0][0]] = failed[1]
        screens.append((station, charge, stays.get(station.spot_id), forms))
    return render_template(
        "check/ev.html", lot=lot, screens=screens, describe=ev_stations.describe
    ), status


def _act(lot, station, key, form, action):
    """Validate the form, run the action; the screen again with the error, or a redirect."""
    if not form.validate_on_submit():
        return _screen(lot, ((key, station.id), form), 422)
    try:
        message = action()
    except DomainError as exc:
        db.session.rollback()
        if not attach(form, exc):  # no field to show it by (the session stopped meanwhile)
            flash(exc.words, "error")
        return _screen(lot, ((key, station.id), form), exc.status)
    flash(message, "success")
    return redirect(url_for("check.gate_ev"))


@bp.post("/gate/ev/<int:station_id>/start")
@staff_only
def gate_ev_start(station_id):
    """Start charging the stay on the charger's spot."""
    lot = _lot_or_choose()
    station = _station(lot, station_id)
    form = StartForm(prefix=f"start{station.id}")

    def start():
        booking = ev.stay_on(station)
        ev.start(booking, station, form.start_wh.data, current_user)
        return f"Charging {booking.plate} on spot {station.spot.label}."

    return _act(lot, station, "start", form, start)


@bp.post("/gate/ev/sessions/<int:session_id>/reading")
@staff_only
def gate_ev_reading(session_id):
    """Record the meter value shown on the charger."""
    lot = _lot_or_choose()
    charge = _charge(lot, session_id)
    form = ReadingForm(prefix=f"read{charge.station_id}")

    def read():
        ev.report(charge, form.wh.data, current_user)
        return (
            f"Reading {ev.wh_words(charge.last_wh)} recorded on spot {charge.station.spot.label}."
        )

    return _act(lot, charge.station, "reading", form, read)


@bp.post("/gate/ev/sessions/<int:session_id>/stop")
@staff_only
def gate_ev_stop(session_id):
    """Stop charging at the final meter value; the idle fee runs from now."""
    lot = _lot_or_choose()
    charge = _charge(lot, session_id)
    form = StopForm(prefix=f"stop{charge.station_id}")

    def stop():
        ev.stop(charge, form.stop_wh.data, current_user)
        return f"Charging stopped on spot {charge.station.spot.label}: {ev.kwh_words(charge.energy_wh)}."

    return _act(lot, charge.station, "stop", form, stop)

"""Admin pages for a lot's EV chargers: list, add on an ev spot, edit, remove.

Routes register on the admin blueprint, so its guard (admins only) covers them. Power is
typed in kW (up to three decimals, held as whole watts); prices in the lot's currency.
"""

from decimal import Decimal, InvalidOperation

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, NumberRange

from parkapp.admin.blueprint import bp, refused
from parkapp.admin.forms import MoneyField
from parkapp.core.exceptions import Conflict, Invalid
from parkapp.ev import self_serve
from parkapp.ev import stations as ev_stations
from parkapp.lots import lots
from parkapp.models import ChargerType, Connector, StationStatus

ALIASES = {
    "power_w": "power_kw",
    "price_per_kwh_cents": "price_per_kwh",
    "idle_fee_per_minute_cents": "idle_fee_per_minute",
}


def _kw_to_w(raw):
    """ "7.4" kW -> 7400 W; ValueError for anything but a positive amount with <= 3 decimals."""
    try:
        watts = Decimal(raw.strip()) * 1000
    except (InvalidOperation, AttributeError):
        raise ValueError("Enter the power in kW, such as 7.4.") from None
    if not watts.is_finite() or watts != watts.to_integral_value() or watts <= 0:
        raise ValueError("Enter the power in kW, such as 7.4 (at most 3 decimals).")
    return int(watts)


class StationForm(FlaskForm):
    """A charger's fields; the service checks the bounds and the spot."""

    spot_id = SelectField("Spot", coerce=int, validate_choice=False)
    charger_type = SelectField(
        "Charger",
        choices=[SelectChoice(t.value, ev_stations.CHARGER_LABELS[t]) for t in ChargerType],
        default=ChargerType.LEVEL2.value,
    )
    power_kw = StringField("Power (kW)", validators=[InputRequired()], default="7.4")
    connector = SelectField(
        "Connector",
        choices=[SelectChoice(c.value, ev_stations.CONNECTOR_LABELS[c]) for c in Connector],
        default=Connector.TYPE2.value,
    )
    price_per_kwh = MoneyField("Price per kWh", validators=[InputRequired()])
    idle_fee_per_minute = MoneyField("Idle fee per minute", default=0)
    idle_grace_minutes = IntegerField(
        "Idle grace (minutes)", default=0, validators=[NumberRange(min=0, max=1440)]
    )
    status = SelectField(
        "Status",
        choices=[
            SelectChoice(StationStatus.ACTIVE.value, "In service"),
            SelectChoice(StationStatus.OUT_OF_SERVICE.value, "Out of service"),
        ],
        default=StationStatus.ACTIVE.value,
    )

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        try:
            self.power_w = _kw_to_w(self.power_kw.data)
        except ValueError as exc:
            self.power_kw.errors.append(str(exc))
            return False
        return True

    def values(self):
        """The station's fields as the service takes them (spot_id left to the caller)."""
        return {
            "charger_type": self.charger_type.data,
            "power_w": self.power_w,
            "connector": self.connector.data,
            "price_per_kwh_cents": self.price_per_kwh.data,
            "idle_fee_per_minute_cents": self.idle_fee_per_minute.data or 0,
            "idle_grace_minutes": self.idle_grace_minutes.data or 0,
            "status": self.status.data,
        }


def _power_text(watts):
    return f"{Decimal(watts) / 1000:f}".rstrip("0").rstrip(".")


@bp.get("/lots/<int:lot_id>/ev")
def lot_ev(lot_id):
    """A lot's chargers with what each is charging now."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    return render_template(
        "admin/ev_stations.html",
        lot=lot,
        stations=ev_stations.of_lot(lot.id),
        free_spots=ev_stations.free_ev_spots(lot),
        describe=ev_stations.describe,
    )


@bp.route("/lots/<int:lot_id>/ev/new", methods=["GET", "POST"])
def new_ev_station(lot_id):
    """Put a charger on one of the lot's ev spots."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    form = StationForm()
    form.spot_id.choices = [SelectChoice(s.id, s.label) for s in ev_stations.free_ev_spots(lot)]
    if form.validate_on_submit():
        data = ev_stations.StationInput(spot_id=form.spot_id.data, **form.values())
        try:
            station = ev_stations.create(data)
        except (Conflict, Invalid) as exc:
            refused(exc, form, ALIASES)
        else:
            flash(f"Charger added on spot {station.spot.label}.", "success")
            return redirect(url_for(".lot_ev", lot_id=lot.id))
    return _form_page(form, lot, None)


@bp.route("/ev-stations/<int:station_id>/edit", methods=["GET", "POST"])
def edit_ev_station(station_id):
    """Change a charger; sessions already started keep their prices."""
    station = ev_stations.get(station_id)
    form = StationForm(
        data={
            "charger_type": station.charger_type.value,
            "power_kw": _power_text(station.power_w),
            "connector": station.connector.value,
            "price_per_kwh": station.price_per_kwh_cents,
            "idle_fee_per_minute": station.idle_fee_per_minute_cents,
            "idle_grace_minutes": station.idle_grace_minutes,
            "status": station.status.value,
        }
    )
    del form.spot_id
    if form.validate_on_submit():
        try:
            ev_stations.update(station, form.values())
        except (Conflict, Invalid) as exc:
            refused(exc, form, ALIASES)
        else:
            flash(f"Charger on spot {station.spot.label} saved.", "success")
            return redirect(url_for(".lot_ev", lot_id=station.lot_id))
    return _form_page(form, station.lot, station)


@bp.post("/ev-stations/<int:station_id>/delete")
def delete_ev_station(station_id):
    """Remove a charger that was never used."""
    station = ev_stations.get(station_id)
    lot_id, label = station.lot_id, station.spot.label
    try:
        ev_stations.delete(station)
    except Conflict as exc:
        refused(exc)
    else:
        flash(f"Charger on spot {label} removed.", "success")
    return redirect(url_for(".lot_ev", lot_id=lot_id))


@bp.post("/ev-stations/<int:station_id>/api-key")
def ev_station_key(station_id):
    """Make the charger's API key and show it this once (it is stored hashed)."""
    station = ev_stations.get(station_id)
    key = self_serve.issue_key(station)
    return render_template("admin/ev_station_key.html", station=station, key=key)


def _form_page(form, lot, station):
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/ev_station_form.html", form=form, lot=lot, station=station
    ), status

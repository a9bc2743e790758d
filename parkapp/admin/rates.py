"""Admin pages for a lot's rate table: list in words, price check, add, edit, deactivate,
with their forms.

Routes register on the admin blueprint, so its guard (admins only) covers them.
"""

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from parkapp.admin.blueprint import bp, refused
from parkapp.admin.forms import MoneyField, MultiCheckboxField
from parkapp.core.exceptions import Conflict, Invalid
from parkapp.core.timezones import lot_zone
from parkapp.lots import lots
from parkapp.models import ALL_WEEKDAYS, RateKind, SpotKind, VehicleType
from parkapp.pricing import quoting as pricing
from parkapp.pricing import rates
from parkapp.web.fields import local_field, to_utc
from parkapp.web.inputs import years_validator

# Service field names that the rate form shows under another name (money in major units).
RATE_FIELD_ALIASES = {"amount_cents": "amount", "daily_max_cents": "daily_max"}
LONGEST_CHECK = timedelta(days=366)
SPOT_KIND_CHOICES = [SelectChoice("", "Any spot")] + [
    SelectChoice(kind.value, kind.value.title()) for kind in SpotKind
]
VEHICLE_CHOICES = [SelectChoice("", "Any vehicle")] + [
    SelectChoice(kind.value, kind.value.title()) for kind in VehicleType
]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class RateForm(FlaskForm):
    """Every field of a rate; the service checks the domain rules."""

    name = StringField("Name", filters=[_strip], validators=[InputRequired(), Length(max=80)])
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice(RateKind.HOURLY.value, "Hourly: per started unit"),
            SelectChoice(RateKind.FLAT.value, "Flat: once per band, or per day"),
        ],
        default=RateKind.HOURLY.value,
    )
    amount = MoneyField("Amount", validators=[InputRequired()])
    unit_minutes = IntegerField(
        "Unit (minutes)",
        default=60,
        validators=[InputRequired(), NumberRange(min=1, max=rates.MAX_MINUTES)],
    )
    daily_max = MoneyField("Daily maximum", validators=[Optional()])
    grace_minutes = IntegerField(
        "Grace minutes", validators=[Optional(), NumberRange(min=0, max=rates.MAX_MINUTES)]
    )
    spot_kind = SelectField("Spot kind", choices=SPOT_KIND_CHOICES, default="")
    vehicle_type = SelectField("Vehicle type", choices=VEHICLE_CHOICES, default="")
    weekdays = MultiCheckboxField(
        "Weekdays",
        choices=[SelectChoice(name, name.title()) for name in rates.WEEKDAYS],
        default=list(rates.WEEKDAYS),
    )
    band_starts = TimeField("Band starts", validators=[Optional()])
    band_ends = TimeField("Band ends", validators=[Optional()])
    effective_from = DateField("Effective from", validators=[Optional(), years_validator])
    effective_until = DateField("Effective until", validators=[Optional(), years_validator])

    @classmethod
    def for_rate(cls, rate):
        """The form filled in from a rate (posted data, when present, wins)."""
        values = {name: getattr(rate, name) for name in PLAIN_RATE_FIELDS}
        values.update(
            kind=rate.kind.value,
            amount=rate.amount_cents,
            daily_max=rate.daily_max_cents,
            spot_kind=rate.spot_kind.value if rate.spot_kind else "",
            vehicle_type=rate.vehicle_type.value if rate.vehicle_type else "",
            weekdays=rates.weekday_names(rate.weekdays),
        )
        return cls(data=values)

    def validate(self, extra_validators=None):
        """Field checks, and at least one weekday ticked."""
        ok = super().validate(extra_validators)
        if not self.weekdays.data:
            self.weekdays.errors.append("Pick at least one weekday.")
            ok = False
        return ok

    def rate_values(self):
        """The RateInput fields as a dict, money in cents and weekdays as a bitmask."""
        values = {name: getattr(self, name).data for name in PLAIN_RATE_FIELDS}
        values.update(
            kind=self.kind.data,
            amount_cents=self.amount.data,
            daily_max_cents=self.daily_max.data,
            spot_kind=self.spot_kind.data or None,
            vehicle_type=self.vehicle_type.data or None,
            weekdays=rates.weekday_mask(self.weekdays.data) if self.weekdays.data else ALL_WEEKDAYS,
        )
        return values


PLAIN_RATE_FIELDS = (
    "name",
    "unit_minutes",
    "grace_minutes",
    "band_starts",
    "band_ends",
    "effective_from",
    "effective_until",
)


class PriceCheckForm(FlaskForm):
    """A stay in the lot's local time, to see what the rate table charges for it."""

    class Meta:
        csrf = False  # a GET check changes nothing

    starts = local_field("Arrive")
    ends = local_field("Leave")
    spot_kind = SelectField("Spot kind", choices=SPOT_KIND_CHOICES, default="")
    vehicle_type = SelectField("Vehicle type", choices=VEHICLE_CHOICES, default="")

    def check(self, lot):
        """Validate against the lot's time zone; (starts_at, ends_at) in UTC, or None."""
        if not self.validate():
            return None
        for field in (self.starts, self.ends):
            if field.data is None:
                field.errors.append("Give a local date and time.")
        if self.starts.errors or self.ends.errors:
            return None
        zone = lot_zone(lot)
        starts_at, ends_at = to_utc(self.starts.data, zone), to_utc(self.ends.data, zone)
        for field, value in ((self.starts, starts_at), (self.ends, ends_at)):
            if value is None:
                field.errors.append("The clocks change at that time; pick another time.")
        if starts_at is None or ends_at is None:
            return None
        if ends_at <= starts_at:
            self.ends.errors.append("Leave after you arrive.")
        elif ends_at - starts_at > LONGEST_CHECK:
            self.ends.errors.append("Check stays of at most 366 days.")
        return None if self.ends.errors else (starts_at, ends_at)


# Pages --------------------------------------------------------------------------------


@bp.get("/lots/<int:lot_id>/rates")
def rate_list(lot_id):
    """A lot's rates in words, with a price check for any stay."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    check = PriceCheckForm(formdata=request.args if request.args else None)
    quote, status = None, 200
    if request.args:
        stay = check.check(lot)
        if stay is None:
            status = 422
        else:
            kind, vehicle = check.spot_kind.data or None, check.vehicle_type.data or None
            quote = pricing.quote(pricing.Stay(lot, *stay, spot_kind=kind, vehicle_type=vehicle))
    ordered = sorted(lot.rates, key=lambda rate: (not rate.is_active, rate.id))
    return render_template(
        "admin/rates.html", lot=lot, rates=ordered, check=check, quote=quote, words=rates
    ), status


@bp.route("/lots/<int:lot_id>/rates/new", methods=["GET", "POST"])
def new_rate(lot_id):
    """Add a rate to a lot's table."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    form = RateForm()
    status = 200
    if form.validate_on_submit():
        try:
            rate = rates.create_rate(lot, rates.RateInput(**form.rate_values()))
        except (Conflict, Invalid) as exc:
            refused(exc, form, RATE_FIELD_ALIASES)
            status = exc.status
        else:
            flash(f"Rate {rate.name!r} added.", "success")
            return redirect(url_for(".rate_list", lot_id=lot.id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/rate_form.html", form=form, lot=lot, rate=None), status


@bp.route("/rates/<int:rate_id>/edit", methods=["GET", "POST"])
def edit_rate(rate_id):
    """Change a rate."""
    rate = rates.get_rate(rate_id, include_inactive=True)
    form = RateForm.for_rate(rate)
    status = 200
    if form.validate_on_submit():
        try:
            rates.update_rate(rate, form.rate_values())
        except (Conflict, Invalid) as exc:
            refused(exc, form, RATE_FIELD_ALIASES)
            status = exc.status
        else:
            flash(f"Rate {rate.name!r} saved.", "success")
            return redirect(url_for(".rate_list", lot_id=rate.lot_id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/rate_form.html", form=form, lot=rate.lot, rate=rate), status


@bp.post("/rates/<int:rate_id>/deactivate")
def deactivate_rate(rate_id):
    """Take a rate out of the table (kept on record)."""
    rate = rates.deactivate_rate(rates.get_rate(rate_id, include_inactive=True))
    flash(f"Rate {rate.name!r} deactivated; it no longer prices stays.", "success")
    return redirect(url_for(".rate_list", lot_id=rate.lot_id))


@bp.post("/rates/<int:rate_id>/reactivate")
def reactivate_rate(rate_id):
    """Put a deactivated rate back (refused when an active rate clashes with it)."""
    rate = rates.get_rate(rate_id, include_inactive=True)
    try:
        rates.reactivate_rate(rate)
    except Conflict as exc:
        refused(exc)
    else:
        flash(f"Rate {rate.name!r} is active again.", "success")
    return redirect(url_for(".rate_list", lot_id=rate.lot_id))

"""Admin forms for rate tables: a rate's fields, and the price check."""

from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from parkapp.admin.forms import MoneyField, MultiCheckboxField
from parkapp.core.timezones import lot_zone
from parkapp.models import ALL_WEEKDAYS, RateKind, SpotKind, VehicleType
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

"""Admin forms: lots, bulk spots, level and zone names, roles, and the user and booking filters."""

from datetime import UTC, datetime, time, timedelta

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from parkapp.booking.queries import BookingFilter
from parkapp.core.timezones import lot_zone
from parkapp.lots import levels
from parkapp.lots.lots import picker_lots
from parkapp.lots.spots import MAX_BULK
from parkapp.models import ROLE_NAMES, Amenity, BookingStatus, SpotKind
from parkapp.web.fields import MoneyField, MultiCheckboxField
from parkapp.web.inputs import years_validator

# Service field names that the lot form shows under another name (money in major units).
LOT_FIELD_ALIASES = {"hourly_rate_cents": "hourly_rate", "daily_max_cents": "daily_max"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def _none_if_blank(value):
    return value if value and value.strip() else None


AMENITY_CHOICES = [
    SelectChoice(a.value, a.value.replace("_", " ").capitalize().replace("Ev ", "EV "))
    for a in Amenity
]


class LotForm(FlaskForm):
    """Every editable field of a lot; the service checks the domain rules."""

    name = StringField("Name", filters=[_strip], validators=[InputRequired(), Length(max=120)])
    address = StringField("Address", filters=[_strip], validators=[Length(max=255)])
    city = StringField("City", filters=[_strip], validators=[Length(max=120)])
    latitude = FloatField("Latitude", validators=[Optional()])
    longitude = FloatField("Longitude", validators=[Optional()])
    timezone = StringField(
        "Time zone", default="UTC", filters=[_strip], validators=[InputRequired(), Length(max=64)]
    )
    currency = StringField(
        "Currency",
        default="USD",
        filters=[_upper],
        validators=[InputRequired(), Length(min=3, max=3)],
    )
    opens_at = TimeField("Opens at", validators=[Optional()])
    closes_at = TimeField("Closes at", validators=[Optional()])
    hourly_rate = MoneyField("Hourly rate", validators=[InputRequired()])
    daily_max = MoneyField("Daily maximum", validators=[Optional()])
    grace_minutes = IntegerField("Grace minutes", default=0, validators=[InputRequired()])
    max_booking_days = IntegerField(
        "Longest booking (days)", default=30, validators=[InputRequired()]
    )
    refund_hours_before = IntegerField(
        "Refund until (hours before the start)", default=24, validators=[Optional()]
    )
    exit_minutes_after_payment = IntegerField(
        "Minutes to leave after paying", default=15, validators=[Optional()]
    )
    allow_overnight = BooleanField("Stays may run across closing time", default=False)
    amenities = MultiCheckboxField("Amenities", choices=AMENITY_CHOICES)
    height_limit_cm = IntegerField(
        "Height limit (cm)", validators=[Optional(), NumberRange(min=100, max=500)]
    )
    # Asked the other way round so that a form posted without the box keeps the default.
    leave_out_of_feed = BooleanField("Leave out of the public occupancy feed", default=False)

    @classmethod
    def for_lot(cls, lot):
        """The form filled in from a lot (posted data, when present, wins)."""
        values = {name: getattr(lot, name) for name in PLAIN_LOT_FIELDS}
        values.update(hourly_rate=lot.hourly_rate_cents, daily_max=lot.daily_max_cents)
        values["leave_out_of_feed"] = not lot.open_data
        values["amenities"] = [a.value for a in lot.amenities]
        return cls(data=values)

    def lot_values(self):
        """The LotInput fields as a dict, money in cents."""
        values = {name: getattr(self, name).data for name in PLAIN_LOT_FIELDS}
        values.update(hourly_rate_cents=self.hourly_rate.data, daily_max_cents=self.daily_max.data)
        values["open_data"] = not self.leave_out_of_feed.data
        values["amenities"] = tuple(self.amenities.data or ())
        if values["exit_minutes_after_payment"] is None:
            values["exit_minutes_after_payment"] = EXIT_MINUTES_DEFAULT
        return values


PLAIN_LOT_FIELDS = (
    "name",
    "address",
    "city",
    "latitude",
    "longitude",
    "timezone",
    "currency",
    "opens_at",
    "closes_at",
    "grace_minutes",
    "max_booking_days",
    "refund_hours_before",  # blank: cancellations are never refunded
    "exit_minutes_after_payment",  # blank: the default
    "allow_overnight",
    "height_limit_cm",  # blank: no limit
)
EXIT_MINUTES_DEFAULT = 15


class SpotsForm(FlaskForm):
    """Create several spots of one kind at once."""

    count = IntegerField(
        "How many", default=10, validators=[InputRequired(), NumberRange(min=1, max=MAX_BULK)]
    )
    kind = SelectField(
        "Kind",
        choices=[SelectChoice(k.value, k.value.title()) for k in SpotKind],
        default=SpotKind.STANDARD.value,
    )
    level = StringField("Level", filters=[_strip], validators=[Length(max=60)])
    zone = StringField("Zone", filters=[_strip], validators=[Length(max=60)])
    label_prefix = StringField("Label prefix", filters=[_strip], validators=[Length(max=16)])

    def spot_values(self):
        """Keyword arguments for services.spots.create_spots (blank prefix: the default)."""
        return {
            "count": self.count.data,
            "kind": self.kind.data,
            "level_name": self.level.data,
            "zone_name": self.zone.data,
            "label_prefix": _none_if_blank(self.label_prefix.data),
        }


class RolesForm(FlaskForm):
    """The roles an account holds."""

    roles = MultiCheckboxField(
        "Roles",
        choices=[SelectChoice(name, name.title()) for name in ROLE_NAMES],
        default=(),  # nothing ticked is no roles, not None
    )


class UserSearchForm(FlaskForm):
    """Find accounts by email, name or licence plate."""

    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField("Email, name or plate", filters=[_strip], validators=[Length(max=120)])


class BookingFilterForm(FlaskForm):
    """Filter bookings by lot, status and start date (dates in the lot's time zone, else UTC)."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    lot = SelectField(
        "Lot", coerce=lambda v: int(v) if v not in (None, "") else None, validators=[Optional()]
    )
    status = SelectField(
        "Status",
        validators=[Optional()],
        choices=[SelectChoice("", "Any status")]
        + [SelectChoice(s.value, s.value.replace("_", " ").title()) for s in BookingStatus],
    )
    date_from = DateField("Starting from", validators=[Optional(), years_validator])
    date_to = DateField("Starting until", validators=[Optional(), years_validator])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lots = {lot.id: lot for lot in picker_lots()}
        self.lot.choices = [SelectChoice("", "All lots")] + [
            SelectChoice(str(lot_id), lot.name) for lot_id, lot in self._lots.items()
        ]

    def validate(self, extra_validators=None):
        """Dates in order as well as each field valid."""
        if not super().validate(extra_validators):
            return False
        if self.date_from.data and self.date_to.data and self.date_to.data < self.date_from.data:
            self.date_to.errors.append("The end date is before the start date.")
            return False
        return True

    def to_filter(self):
        """A BookingFilter; the end date is inclusive."""
        lot = self._lots.get(self.lot.data)
        zone = lot_zone(lot) if lot else UTC
        start = self.date_from.data
        end = self.date_to.data
        return BookingFilter(
            lot_id=self.lot.data,
            status=BookingStatus(self.status.data) if self.status.data else None,
            date_from=datetime.combine(start, time.min, zone) if start else None,
            date_to=datetime.combine(end + timedelta(days=1), time.min, zone) if end else None,
        )


def show_domain_error(form, exc, aliases=None):
    """Put a domain error's messages next to the fields they name; False if none matched."""
    placed = False
    for name, problems in exc.errors.items():
        field = getattr(form, (aliases or {}).get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *problems]
            placed = True
    return placed


class RenameForm(FlaskForm):
    """A new name for a level or a zone."""

    name = StringField(
        "New name",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[InputRequired("Type the new name."), Length(max=levels.NAME_MAX)],
    )

"""Driver forms: turn what people type into the typed arguments the services take.

Times: a `datetime-local` input carries no zone. On a lot's page it is read in the lot's
time zone (that is where the driver will park). The search page spans lots, so there it
is read in the browser's zone, which a line of JavaScript copies into the hidden `tz`
field; without JavaScript (or with an unknown zone) it is read as UTC, and the page says
which zone it used.
"""

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length

from parkapp.booking.claims import BookingRequest
from parkapp.core.timezones import lot_zone
from parkapp.models import SpotKind, VehicleType
from parkapp.web.fields import attach_errors, local_field, to_utc

KIND_LABELS = {
    SpotKind.STANDARD: "Standard",
    SpotKind.COMPACT: "Compact",
    SpotKind.ACCESSIBLE: "Accessible",
    SpotKind.EV: "EV charging",
    SpotKind.MOTORCYCLE: "Motorcycle",
}


KIND_CHOICES = [SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()]


ANY_KIND = SelectChoice("", "Any kind")


VEHICLE_TYPE_CHOICES = [SelectChoice(t.value, t.value.capitalize()) for t in VehicleType]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def natural_key(label):
    """Sort key putting A-2 before A-10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", label)]


def _interval(form, zone, required):
    """Check starts/ends as a pair in `zone`; store aware UTC values on the form."""
    form.starts_at = form.ends_at = None
    start, end = form.starts.data, form.ends.data
    if not required and start is None and end is None:
        return True
    ok = True
    for field, value, missing in (
        (form.starts, start, "When do you arrive?"),
        (form.ends, end, "When do you leave?"),
    ):
        if value is None:
            if not field.errors:
                field.errors.append(missing)
            ok = False
        elif to_utc(value, zone) is None:
            field.errors.append("The clocks change at that time; pick another time.")
            ok = False
    if not ok:
        return False
    if end <= start:
        form.ends.errors.append("The end must be after the start.")
        return False
    form.starts_at, form.ends_at = to_utc(start, zone), to_utc(end, zone)
    return True


class BookingForm(FlaskForm):
    """Book a spot at one lot: which vehicle, which spot, now or for an interval."""

    vehicle = SelectField("Vehicle", choices=[], default="")
    plate = StringField("Plate", filters=[_strip], validators=[Length(max=20)])
    spot_kind = SelectField("Spot kind", choices=[ANY_KIND, *KIND_CHOICES], default="")
    spot = SelectField("Spot", choices=[], default="")
    when = RadioField(
        "When",
        default="now",
        choices=[SelectChoice("now", "Park now"), SelectChoice("later", "Reserve for later")],
    )
    starts = local_field("Arrive")
    ends = local_field("Leave")
    discount_code = StringField("Promo code", filters=[_strip], validators=[Length(max=32)])
    get_quote = SubmitField("Get quote")
    book = SubmitField("Book")

    starts_at = ends_at = None

    def __init__(self, lot, vehicles, spots, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = lot_zone(lot)
        self.vehicles = {str(v.id): v for v in vehicles}
        self.spots = {str(s.id): s for s in spots}
        self.vehicle.choices = [
            *(SelectChoice(key, _vehicle_label(v)) for key, v in self.vehicles.items()),
            SelectChoice("", "Another vehicle (type its plate)"),
        ]
        kinds = {s.kind for s in spots}  # only kinds this lot has in service
        self.spot_kind.choices = [
            ANY_KIND,
            *(
                SelectChoice(kind.value, label)
                for kind, label in KIND_LABELS.items()
                if kind in kinds
            ),
        ]
        self.spot.choices = [
            SelectChoice("", "Any free spot"),
            *(
                SelectChoice(key, s.label, optgroup=KIND_LABELS[s.kind])
                for key, s in self.spots.items()
            ),
        ]
        if self.vehicles:
            self.plate.label.text = "Or type another plate"
        if not self.is_submitted():
            self._defaults()

    def _defaults(self):
        """Start with the first vehicle and, where there are any, a standard spot.

        "Any kind" takes the first free spot by label, which may be an accessible or EV
        spot, so a driver has to ask for those on purpose.
        """
        if self.vehicles:
            self.vehicle.data = next(iter(self.vehicles))
        if any(s.kind == SpotKind.STANDARD for s in self.spots.values()):
            self.spot_kind.data = SpotKind.STANDARD.value

    def prefill_interval(self, starts, ends):
        """Start as a reservation for a lot-local interval (links from the search page)."""
        if not (starts and ends and starts < ends):
            return
        starts_at, ends_at = to_utc(starts, self.zone), to_utc(ends, self.zone)
        if starts_at and ends_at:
            self.when.data, self.starts.data, self.ends.data = "later", starts, ends
            self.starts_at, self.ends_at = starts_at, ends_at

    @property
    def is_reservation(self):
        return self.when.data == "later"

    @property
    def typed_plate(self):
        return bool(self.plate.data) or not self.vehicle.data

    @property
    def plate_value(self):
        """The typed plate, else the chosen vehicle's plate."""
        return self.plate.data if self.typed_plate else self.vehicles[self.vehicle.data].plate

    @property
    def vehicle_type(self):
        return None if self.typed_plate else self.vehicles[self.vehicle.data].vehicle_type

    @property
    def spot_id(self):
        return int(self.spot.data) if self.spot.data else None

    @property
    def kind_value(self):
        """The chosen spot's kind, else the chosen kind (None: any)."""
        if self.spot.data:
            return self.spots[self.spot.data].kind.value
        return self.spot_kind.data or None

    def booking_request(self, lot_id):
        """The service's BookingRequest for this form."""
        return BookingRequest(
            lot_id=lot_id,
            plate=self.plate_value,
            spot_id=self.spot_id,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            spot_kind=self.kind_value,
            discount_code=self.discount_code.data or None,
        )

    def attach(self, exc):
        """Show a domain error's fields next to ours; False if it names none of them."""
        plate_field = "plate" if self.typed_plate else "vehicle"
        names = {
            "vehicle_plate": plate_field,
            "plate": plate_field,
            "starts_at": "starts",
            "ends_at": "ends",
            "spot_id": "spot",
        }
        return attach_errors(self, exc.errors, names)

    def validate(self, extra_validators=None):
        """Field checks, then: a vehicle or plate, a spot matching the kind, a whole interval."""
        if not super().validate(extra_validators):
            return False
        checks = [
            self._check_vehicle(),
            self._check_spot(),
            _interval(self, self.zone, required=True) if self.is_reservation else True,
        ]
        return all(checks)

    def _check_vehicle(self):
        if self.plate.data or self.vehicle.data:
            return True
        self.plate.errors.append(
            "Type the vehicle's plate."
            if not self.vehicles
            else "Choose one of your vehicles or type a plate."
        )
        return False

    def _check_spot(self):
        spot = self.spots.get(self.spot.data)
        if spot is None or not self.spot_kind.data or spot.kind.value == self.spot_kind.data:
            return True
        self.spot.errors.append(
            f"Spot {spot.label} is a {KIND_LABELS[spot.kind].lower()} spot; "
            "pick a matching spot or any kind."
        )
        return False


def _vehicle_label(vehicle):
    details = " ".join(part for part in (vehicle.colour, vehicle.make, vehicle.model) if part)
    return f"{vehicle.plate} · {details}" if details else vehicle.plate


class VehicleForm(FlaskForm):
    """A vehicle's details (the plate is fixed once added)."""

    vehicle_type = SelectField("Type", choices=VEHICLE_TYPE_CHOICES, default="car")
    make = StringField("Make", filters=[_strip], validators=[Length(max=60)])
    model = StringField("Model", filters=[_strip], validators=[Length(max=60)])
    colour = StringField("Colour", filters=[_strip], validators=[Length(max=30)])
    is_ev = BooleanField("Electric (can use EV charging spots)")
    submit = SubmitField("Save")

    def details(self):
        """The keyword arguments for the vehicle services."""
        return {
            "vehicle_type": self.vehicle_type.data,
            "make": self.make.data or "",
            "model": self.model.data or "",
            "colour": self.colour.data or "",
            "is_ev": self.is_ev.data,
        }

    def attach(self, exc):
        """Show a domain error's fields next to ours; False if it names none of them."""
        return attach_errors(self, exc.errors, {"vehicle_plate": "plate"})


class NewVehicleForm(VehicleForm):
    """Add a vehicle: its plate and details."""

    plate = StringField(
        "Plate",
        filters=[_strip],
        validators=[InputRequired(message="Type the plate."), Length(max=20)],
    )
    submit = SubmitField("Add vehicle")

    def details(self):
        return {"plate": self.plate.data, **super().details()}

"""Gate forms: few fields, typed arguments for the gate service."""

import secrets

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from parkapp.gate.passage import GATE_NAME_MAX
from parkapp.models import VehicleType


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def attach(form, exc, names=None):
    """Show a service error's message next to the field it names; False when none fits."""
    for name in exc.errors or {}:
        field = getattr(form, (names or {}).get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *exc.beside(name)]
            return True
    return False


class LotChoiceForm(FlaskForm):
    """Which car park this booth serves."""

    lot = SelectField("Car park", coerce=int, validate_choice=True)
    gate = StringField("Gate", filters=[_strip], validators=[Optional(), Length(max=GATE_NAME_MAX)])

    def __init__(self, lots, **kwargs):
        super().__init__(**kwargs)
        self.lot.choices = [SelectChoice(lot.id, f"{lot.name} · {lot.city}") for lot in lots]


class EntryForm(FlaskForm):
    """A vehicle at the entry barrier."""

    plate = StringField(
        "Plate", filters=[_strip], validators=[InputRequired("Type the plate."), Length(max=32)]
    )
    vehicle_type = SelectField(
        "Vehicle",
        default="",
        choices=[
            SelectChoice("", "As registered (else car)"),
            *(SelectChoice(t.value, t.value.capitalize()) for t in VehicleType),
        ],
    )
    is_ev = BooleanField("Electric (needs a charger)")
    accessible = BooleanField("Disabled parking permit")
    gate = StringField("Gate", filters=[_strip], validators=[Optional(), Length(max=GATE_NAME_MAX)])
    enter = SubmitField("Let in")

    def details(self):
        """Keyword arguments for gate.enter; an unticked box leaves it to the registration."""
        return {
            "vehicle_type": self.vehicle_type.data or None,
            "is_ev": True if self.is_ev.data else None,
            "accessible": True if self.accessible.data else None,
            "gate": self.gate.data or None,
        }


class ExitForm(FlaskForm):
    """A vehicle at the exit barrier: its ticket number or its plate."""

    query = StringField(
        "Ticket or plate",
        filters=[_strip],
        validators=[InputRequired("Type the ticket number or the plate."), Length(max=32)],
    )
    leave = SubmitField("Find")


class WaitlistForm(FlaskForm):
    """Queue the vehicle the lot had no room for."""

    plate = HiddenField(validators=[InputRequired(), Length(max=32)])
    vehicle_type = HiddenField(validators=[Optional(), Length(max=20)])
    is_ev = HiddenField(validators=[Optional(), Length(max=1)])
    accessible = HiddenField(validators=[Optional(), Length(max=1)])
    join = SubmitField("Put on the waitlist")


class PayForm(FlaskForm):
    """Take the amount due by one of three methods; the key makes a double submit harmless."""

    amount_cents = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=1)]
    )
    idempotency_key = HiddenField(validators=[InputRequired(), Length(max=80)])
    cash = SubmitField("Cash")
    card = SubmitField("Card")
    mobile = SubmitField("Mobile")

    def __init__(self, due_cents=None, **kwargs):
        super().__init__(**kwargs)
        if due_cents is not None:  # rendering the fee screen: a fresh key for this screen
            self.amount_cents.data = due_cents
            self.idempotency_key.data = "gate-" + secrets.token_urlsafe(18)

    @property
    def method(self):
        """The button pressed (Enter presses the first: cash)."""
        for name in ("card", "mobile"):
            if getattr(self, name).data:
                return name
        return "cash"


class LeaveForm(FlaskForm):
    """Let out a stay that owes nothing."""

    leave = SubmitField("Open the barrier")

"""Form helpers every page blueprint uses: local date-time fields read in a lot's zone, money
typed in major units, checkbox lists, field errors."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from wtforms import DateTimeLocalField, SelectMultipleField, StringField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from parkapp.web.inputs import years_validator

CENT = Decimal("0.01")
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def local_field(label):
    """An optional datetime-local input that renders as the browser expects (no seconds)."""
    return DateTimeLocalField(label, format=LOCAL_FORMATS, validators=[Optional(), years_validator])


def to_utc(naive, zone):
    """Read a wall-clock time in `zone` as an aware UTC instant; None if clocks skip it."""
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None  # inside a daylight-saving gap: that local time never happens
    return aware.astimezone(UTC)


def parse_local(raw):
    """A naive datetime from a datetime-local string, or None for anything else."""
    for fmt in LOCAL_FORMATS:
        try:
            return datetime.strptime(raw or "", fmt)
        except ValueError:
            continue
    return None


def attach_errors(form, errors, names):
    """Put a service's field errors next to the form's fields; False if none fitted."""
    attached = False
    for name, problems in (errors or {}).items():
        field = getattr(form, names.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *problems]
            attached = True
    return attached


class MoneyField(StringField):
    """An amount typed in major units ("2.50"), held as integer cents; never a float."""

    def process_formdata(self, valuelist):
        if valuelist:
            raw = valuelist[0].strip()
            self.data = self.to_cents(raw) if raw else None

    @staticmethod
    def to_cents(raw):
        """Parse "12.5" to 1250; ValueError (shown next to the field) for anything else."""
        try:
            amount = Decimal(raw)
            rounded = amount.quantize(CENT) if amount.is_finite() else None
        except InvalidOperation:  # not a number, or too large to hold in cents
            rounded = None
        if rounded is None:
            raise ValueError("Enter an amount such as 2.50.")
        if amount < 0:
            raise ValueError("The amount cannot be negative.")
        if rounded != amount:
            raise ValueError("Use at most two decimal places.")
        return int(rounded * 100)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{Decimal(self.data) / 100:.2f}"


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes, so it works without JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

"""Admin pages for promo codes: list with uses, create, edit, deactivate, reactivate.

Routes register on the admin blueprint, so its guard (admins only) covers them. Validity
times are typed in the code's lot's time zone, or in UTC for a code valid at every lot.
"""

from datetime import UTC
from decimal import Decimal

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from parkapp.admin.blueprint import PER_PAGE, bp, refused
from parkapp.admin.forms import MoneyField
from parkapp.billing import discounts
from parkapp.core.exceptions import Conflict, Invalid
from parkapp.core.timezones import lot_zone
from parkapp.extensions import db
from parkapp.lots.lots import picker_lots
from parkapp.models import DiscountKind
from parkapp.web.fields import local_field, to_utc

KIND_CHOICES = [
    SelectChoice(DiscountKind.PERCENT.value, "Percent off"),
    SelectChoice(DiscountKind.FIXED.value, "Fixed amount off"),
    SelectChoice(DiscountKind.FREE_HOURS.value, "Free hours"),
]


def _optional_int(value):
    return int(value) if value not in (None, "") else None


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DiscountForm(FlaskForm):
    """A promo code's fields; the service checks the domain rules."""

    code = StringField(
        "Code", filters=[_upper], validators=[InputRequired(), Length(min=3, max=32)]
    )
    name = StringField("Name", filters=[_strip], validators=[Length(max=120)])
    kind = SelectField("Kind", choices=KIND_CHOICES, default=DiscountKind.PERCENT.value)
    value = StringField("Value", filters=[_strip], validators=[InputRequired()])
    lot_id = SelectField("Lot", coerce=_optional_int, validators=[Optional()])
    valid_from = local_field("Valid from")
    valid_until = local_field("Valid until")
    max_uses = IntegerField("Maximum uses", validators=[Optional(), NumberRange(min=1)])
    max_uses_per_user = IntegerField(
        "Maximum uses per driver", validators=[Optional(), NumberRange(min=1)]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lots = {lot.id: lot for lot in picker_lots()}
        self.lot_id.choices = [SelectChoice("", "Every lot")] + [
            SelectChoice(str(lot_id), lot.name) for lot_id, lot in self.lots.items()
        ]
        self.parsed = {}

    @classmethod
    def for_discount(cls, discount):
        """The form filled in from a discount (posted data, when present, wins)."""
        zone = lot_zone(discount.lot) if discount.lot else UTC
        value = discount.value
        if discount.kind == DiscountKind.FIXED:
            value = f"{Decimal(value) / 100:.2f}"
        return cls(
            data={
                "code": discount.code,
                "name": discount.name,
                "kind": discount.kind.value,
                "value": str(value),
                "lot_id": discount.lot_id,
                "valid_from": _local(discount.valid_from, zone),
                "valid_until": _local(discount.valid_until, zone),
                "max_uses": discount.max_uses,
                "max_uses_per_user": discount.max_uses_per_user,
            }
        )

    def validate(self, extra_validators=None):
        """Field checks, then the value read by kind and the times read in the lot's zone."""
        if not super().validate(extra_validators):
            return False
        ok = self._parse_value()
        lot = self.lots.get(self.lot_id.data)
        zone = lot_zone(lot) if lot else UTC
        for field in (self.valid_from, self.valid_until):
            if field.data is None:
                self.parsed[field.name] = None
                continue
            self.parsed[field.name] = to_utc(field.data, zone)
            if self.parsed[field.name] is None:
                field.errors.append("The clocks change at that time; pick another time.")
                ok = False
        return ok

    def _parse_value(self):
        raw = self.value.data
        try:
            if self.kind.data == DiscountKind.FIXED.value:
                self.parsed["value"] = MoneyField.to_cents(raw)
            else:
                self.parsed["value"] = int(raw)
        except ValueError as exc:
            fixed = self.kind.data == DiscountKind.FIXED.value
            self.value.errors.append(str(exc) if fixed else "Enter a whole number.")
            return False
        return True

    def values(self):
        """The DiscountInput fields as a dict."""
        return {
            "code": self.code.data,
            "name": self.name.data or "",
            "kind": self.kind.data,
            "value": self.parsed["value"],
            "lot_id": self.lot_id.data,
            "valid_from": self.parsed["valid_from"],
            "valid_until": self.parsed["valid_until"],
            "max_uses": self.max_uses.data,
            "max_uses_per_user": self.max_uses_per_user.data,
        }


def _local(instant, zone):
    return instant.astimezone(zone).replace(tzinfo=None) if instant is not None else None


def validity(discount):
    """The validity window for people, in the lot's zone (UTC for every lot)."""
    zone = lot_zone(discount.lot) if discount.lot else UTC
    label = discount.lot.timezone if discount.lot else "UTC"
    fmt = "%d %b %Y %H:%M"
    start, end = discount.valid_from, discount.valid_until
    if start is None and end is None:
        return "Always"
    if end is None:
        return f"From {start.astimezone(zone):{fmt}} {label}"
    if start is None:
        return f"Until {end.astimezone(zone):{fmt}} {label}"
    return f"{start.astimezone(zone):{fmt}} to {end.astimezone(zone):{fmt}} {label}"


@bp.get("/discounts")
def discount_list():
    """Every promo code, newest first, with its uses against its limit."""
    page = db.paginate(discounts.list_query(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/discounts.html",
        page=page,
        describe=discounts.describe,
        uses_label=discounts.uses_label,
        validity=validity,
    )


@bp.route("/discounts/new", methods=["GET", "POST"])
def new_discount():
    """Create a promo code."""
    form = DiscountForm()
    if form.validate_on_submit():
        try:
            discount = discounts.create(discounts.DiscountInput(**form.values()))
        except (Conflict, Invalid) as exc:
            refused(exc, form)
        else:
            flash(f"Promo code {discount.code} created.", "success")
            return redirect(url_for(".discount_list"))
    return _form_page(form, None)


@bp.route("/discounts/<int:discount_id>/edit", methods=["GET", "POST"])
def edit_discount(discount_id):
    """Change a promo code (what a used code takes off stays fixed)."""
    discount = discounts.get(discount_id)
    form = DiscountForm.for_discount(discount)
    if form.validate_on_submit():
        try:
            discounts.update(discount, form.values())
        except (Conflict, Invalid) as exc:
            refused(exc, form)
        else:
            flash(f"Promo code {discount.code} saved.", "success")
            return redirect(url_for(".discount_list"))
    return _form_page(form, discount)


def _form_page(form, discount):
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/discount_form.html", form=form, discount=discount, describe=discounts.describe
    ), status


@bp.post("/discounts/<int:discount_id>/deactivate")
def deactivate_discount(discount_id):
    """Stop a promo code being used; bookings that carry it keep it."""
    discount = discounts.set_active(discounts.get(discount_id), False)
    flash(f"Promo code {discount.code} deactivated.", "success")
    return redirect(url_for(".discount_list"))


@bp.post("/discounts/<int:discount_id>/reactivate")
def reactivate_discount(discount_id):
    """Let a deactivated promo code be used again."""
    discount = discounts.set_active(discounts.get(discount_id), True)
    flash(f"Promo code {discount.code} is active again.", "success")
    return redirect(url_for(".discount_list"))

"""Admin pages for merchants: list with this month's and last month's totals, create, edit.

Staff are given by email, one per line: each gets the `merchant` role and validates for
this merchant only. Routes register on the admin blueprint, so its guard covers them.
"""

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from parkapp.accounts.datastore import user_datastore
from parkapp.admin.blueprint import PER_PAGE, bp, refused
from parkapp.admin.forms import MoneyField, MultiCheckboxField
from parkapp.core.exceptions import Conflict, Invalid
from parkapp.core.money import money
from parkapp.extensions import db
from parkapp.lots.lots import picker_lots
from parkapp.merchants import merchants
from parkapp.models import GiveKind, utcnow

KIND_CHOICES = [
    SelectChoice(GiveKind.FULL_FEE.value, "The full parking fee"),
    SelectChoice(GiveKind.FREE_HOURS.value, "Free hours"),
    SelectChoice(GiveKind.FIXED.value, "A fixed amount"),
]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class MerchantForm(FlaskForm):
    """A merchant's fields; the service checks the rules."""

    name = StringField("Name", filters=[_strip], validators=[InputRequired(), Length(max=120)])
    give_kind = SelectField("Gives", choices=KIND_CHOICES, default=GiveKind.FREE_HOURS.value)
    value = StringField("Hours or amount", filters=[_strip], validators=[Optional()])
    monthly_cap = MoneyField("Monthly cap", validators=[Optional()])
    billing_email = StringField(
        "Billing email", filters=[_strip], validators=[Optional(), Length(max=255)]
    )
    lot_ids = MultiCheckboxField("Car parks", coerce=int)
    staff = TextAreaField("Staff (emails, one per line)", filters=[_strip])
    active = BooleanField("Active (validates parking)", default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lot_ids.choices = [SelectChoice(lot.id, lot.name) for lot in picker_lots()]
        self.parsed = {}

    @classmethod
    def for_merchant(cls, merchant):
        """The form filled in from a merchant (posted data, when present, wins)."""
        value = merchant.give_value
        if merchant.give_kind == GiveKind.FIXED:
            value = f"{value // 100}.{value % 100:02d}"
        return cls(
            data={
                "name": merchant.name,
                "give_kind": merchant.give_kind.value,
                "value": "" if merchant.give_kind == GiveKind.FULL_FEE else str(value),
                "monthly_cap": merchant.monthly_cap_cents,
                "billing_email": merchant.billing_email or "",
                "lot_ids": [lot.id for lot in merchant.lots],
                "staff": "\n".join(s.user.email for s in merchant.staff),
                "active": merchant.active,
            }
        )

    def validate(self, extra_validators=None):
        """Field checks, then the value read by kind and the staff emails looked up."""
        ok = super().validate(extra_validators)
        raw = self.value.data or ""
        try:
            if self.give_kind.data == GiveKind.FIXED.value:
                self.parsed["value"] = MoneyField.to_cents(raw) if raw else None
            elif self.give_kind.data == GiveKind.FREE_HOURS.value:
                self.parsed["value"] = int(raw) if raw else None
            else:
                self.parsed["value"] = 0
        except ValueError as exc:
            fixed = self.give_kind.data == GiveKind.FIXED.value
            self.value.errors.append(str(exc) if fixed else "Enter a whole number of hours.")
            ok = False
        ids, unknown = [], []
        for email in (self.staff.data or "").split():
            user = user_datastore.find_user(email=email.strip().lower())
            (ids.append(user.id) if user is not None else unknown.append(email))
        if unknown:
            self.staff.errors.append("No account with: " + ", ".join(unknown[:5]) + ".")
            ok = False
        self.parsed["staff_user_ids"] = ids
        return ok

    def values(self):
        """The MerchantInput for the service: every field given."""
        data = {
            "name": self.name.data,
            "give_kind": self.give_kind.data,
            "give_value": self.parsed["value"],
            "monthly_cap_cents": self.monthly_cap.data,
            "billing_email": self.billing_email.data or None,
            "lot_ids": self.lot_ids.data or [],
            "staff_user_ids": self.parsed["staff_user_ids"],
            "active": bool(self.active.data),
        }
        return merchants.MerchantInput(**data, given=set(data))


ALIASES = {"give_value": "value", "monthly_cap_cents": "monthly_cap", "staff_user_ids": "staff"}


def totals(merchant, now=None):
    """(this month, last month) as words: "3 validations, 12.00"."""
    this_month = merchants.month_of(now or utcnow())
    currency = merchant.lots[0].currency if merchant.lots else ""
    result = []
    for month in (this_month, merchants.previous_month(this_month)):
        cents, count = merchants.given_cents(merchant.id, month)
        result.append(f"{count} · {money(cents, currency)}")
    return result


@bp.get("/merchants")
def merchant_list():
    """Every merchant with what it gives, its staff and its totals."""
    page = db.paginate(merchants.list_query(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/merchants.html",
        page=page,
        describe=merchants.describe,
        totals=totals,
        money=money,
    )


@bp.route("/merchants/new", methods=["GET", "POST"])
def new_merchant():
    """Create a merchant."""
    form = MerchantForm()
    if form.validate_on_submit():
        try:
            merchant = merchants.create(form.values())
        except (Conflict, Invalid) as exc:
            refused(exc, form, ALIASES)
        else:
            flash(f"Merchant {merchant.name} created.", "success")
            return redirect(url_for(".merchant_list"))
    return _form_page(form, None)


@bp.route("/merchants/<int:merchant_id>/edit", methods=["GET", "POST"])
def edit_merchant(merchant_id):
    """Change a merchant, its car parks and staff."""
    merchant = merchants.get(merchant_id)
    form = MerchantForm.for_merchant(merchant)
    if form.validate_on_submit():
        try:
            merchants.update(merchant, form.values())
        except (Conflict, Invalid) as exc:
            refused(exc, form, ALIASES)
        else:
            flash(f"Merchant {merchant.name} saved.", "success")
            return redirect(url_for(".merchant_list"))
    return _form_page(form, merchant)


def _form_page(form, merchant):
    status = 422 if form.is_submitted() else 200
    return render_template("admin/merchant_form.html", form=form, merchant=merchant), status

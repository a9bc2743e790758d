"""Admin pages for membership plans: list with members, create, edit, withdraw, offer again.

Routes register on the admin blueprint, so its guard (admins only) covers them.
"""

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import IntegerField, SelectChoice, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from parkapp.admin.blueprint import PER_PAGE, bp, refused
from parkapp.admin.forms import MoneyField, MultiCheckboxField
from parkapp.core.exceptions import Conflict, Invalid
from parkapp.extensions import db
from parkapp.lots.lots import picker_lots
from parkapp.memberships import subscriptions as memberships
from parkapp.models import Membership, MembershipStatus

LIMITS = memberships.LIMITS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _bounded(label, name):
    low, high = LIMITS[name]
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=low, max=high)])


class PlanForm(FlaskForm):
    """A plan's fields; the service checks them again."""

    name = StringField("Name", filters=[_strip], validators=[InputRequired(), Length(2, 80)])
    description = TextAreaField("Description", filters=[_strip], validators=[Length(max=2000)])
    duration_months = _bounded("Duration (months)", "duration_months")
    price_cents = MoneyField("Price", validators=[InputRequired()])
    currency = StringField("Currency", filters=[_strip], validators=[InputRequired(), Length(3, 3)])
    vehicle_limit = _bounded("Vehicles covered", "vehicle_limit")
    included_hours = _bounded("Hours included per month", "included_hours")
    discount_percent = _bounded("Discount after the included hours (%)", "discount_percent")
    lot_ids = MultiCheckboxField("Lots covered", coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lots = picker_lots()
        self.lot_ids.choices = [SelectChoice(lot.id, lot.name) for lot in lots]

    @classmethod
    def for_plan(cls, plan):
        """The form filled in from a plan (posted data, when present, wins)."""
        return cls(obj=plan, data={"lot_ids": [lot.id for lot in plan.lots]})

    def values(self):
        """The PlanInput fields as a dict."""
        return {
            "name": self.name.data,
            "description": self.description.data or "",
            "duration_months": self.duration_months.data,
            "price_cents": self.price_cents.data,
            "currency": self.currency.data,
            "vehicle_limit": self.vehicle_limit.data,
            "included_hours": self.included_hours.data,
            "discount_percent": self.discount_percent.data,
            "lot_ids": self.lot_ids.data or [],
        }


def _member_counts():
    rows = db.session.execute(
        select(Membership.plan_id, func.count(Membership.id))
        .where(Membership.status != MembershipStatus.EXPIRED)
        .group_by(Membership.plan_id)
    ).all()
    return dict(rows)


@bp.get("/plans")
def plan_list():
    """Every membership plan, cheapest first, with its current members."""
    page = db.paginate(
        memberships.plans_query(active_only=False), per_page=PER_PAGE, error_out=False
    )
    return render_template(
        "admin/plans.html",
        page=page,
        members=_member_counts(),
        describe=memberships.describe_plan,
    )


@bp.route("/plans/new", methods=["GET", "POST"])
def new_plan():
    """Create a membership plan."""
    form = PlanForm(data={"duration_months": 1, "vehicle_limit": 1, "currency": "USD"})
    if form.validate_on_submit():
        try:
            plan = memberships.create_plan(memberships.PlanInput(**form.values()))
        except (Conflict, Invalid) as exc:
            refused(exc, form)
        else:
            flash(f"Plan {plan.name} created.", "success")
            return redirect(url_for(".plan_list"))
    return _form_page(form, None)


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
def edit_plan(plan_id):
    """Change a plan; its members' next stays are priced with the new terms."""
    plan = memberships.get_plan(plan_id)
    form = PlanForm.for_plan(plan)
    if form.validate_on_submit():
        try:
            memberships.update_plan(plan, form.values())
        except (Conflict, Invalid) as exc:
            refused(exc, form)
        else:
            flash(f"Plan {plan.name} saved.", "success")
            return redirect(url_for(".plan_list"))
    return _form_page(form, plan)


def _form_page(form, plan):
    status = 422 if form.is_submitted() else 200
    return render_template("admin/plan_form.html", form=form, plan=plan), status


@bp.post("/plans/<int:plan_id>/withdraw")
def withdraw_plan(plan_id):
    """Stop offering a plan; current memberships run on."""
    plan = memberships.set_plan_active(memberships.get_plan(plan_id), False)
    flash(f"Plan {plan.name} withdrawn; current memberships run on.", "success")
    return redirect(url_for(".plan_list"))


@bp.post("/plans/<int:plan_id>/offer")
def offer_plan(plan_id):
    """Offer a withdrawn plan again."""
    plan = memberships.set_plan_active(memberships.get_plan(plan_id), True)
    flash(f"Plan {plan.name} is on offer again.", "success")
    return redirect(url_for(".plan_list"))

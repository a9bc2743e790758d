"""Admin page for a lot's demand pricing: steps, floor and ceiling, and how full it is now.

Routes register on the admin blueprint, so its guard (admins only) covers them.
"""

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, FormField, IntegerField, SelectChoice, SelectField
from wtforms.fields import FieldList
from wtforms.validators import NumberRange, Optional

from parkapp.admin.blueprint import bp
from parkapp.admin.forms import MoneyField
from parkapp.core.exceptions import Invalid
from parkapp.extensions import db
from parkapp.lots import lots
from parkapp.models import DemandDirection
from parkapp.models.pricing import MAX_ADJUST, MIN_ADJUST
from parkapp.pricing import demand

STEP_ROWS = 6
BOUND_FIELDS = {"floor_cents": "floor", "ceiling_cents": "ceiling"}


class StepForm(Form):
    """One step row; a row without a threshold is left out."""

    direction = SelectField(
        "Direction",
        choices=[
            SelectChoice(DemandDirection.ABOVE.value, "at or above"),
            SelectChoice(DemandDirection.BELOW.value, "below"),
        ],
        default=DemandDirection.ABOVE.value,
    )
    threshold_percent = IntegerField(
        "Threshold (% full)", validators=[Optional(), NumberRange(min=0, max=100)]
    )
    adjust_percent = IntegerField(
        "Adjustment (%)", validators=[Optional(), NumberRange(min=MIN_ADJUST, max=MAX_ADJUST)]
    )

    def is_blank(self):
        return self.threshold_percent.data is None and self.adjust_percent.data is None


class DemandForm(FlaskForm):
    enabled = BooleanField("Demand pricing on")
    floor = MoneyField("Floor (lowest hourly rate)", validators=[Optional()])
    ceiling = MoneyField("Ceiling (highest hourly rate)", validators=[Optional()])
    steps = FieldList(FormField(StepForm), min_entries=STEP_ROWS, max_entries=demand.MAX_STEPS)

    @classmethod
    def for_lot(cls, lot):
        form = cls()
        if not form.is_submitted():
            form.enabled.data = lot.demand_enabled
            form.floor.data = lot.demand_floor_cents
            form.ceiling.data = lot.demand_ceiling_cents
            for row, step in zip(form.steps, demand.ordered(lot.demand_steps), strict=False):
                row.direction.data = step.direction.value
                row.threshold_percent.data = step.threshold_percent
                row.adjust_percent.data = step.adjust_percent
        return form

    def filled_rows(self):
        return [row for row in self.steps if not row.is_blank()]

    def settings(self):
        """The form as demand.Settings, or None after marking a half-filled row."""
        steps = []
        for row in self.filled_rows():
            for name in ("threshold_percent", "adjust_percent"):
                if getattr(row, name).data is None:
                    getattr(row, name).errors = ["Give both the threshold and the adjustment."]
                    return None
            steps.append(
                demand.StepInput(
                    row.direction.data, row.threshold_percent.data, row.adjust_percent.data
                )
            )
        return demand.Settings(self.enabled.data, self.floor.data, self.ceiling.data, tuple(steps))

    def show(self, exc):
        """Put a service error next to its field (steps.N.* is the N-th filled row); the
        problems that name no field are returned."""
        rows, unplaced = self.filled_rows(), []
        for name, problems in exc.errors.items():
            parts = name.split(".")
            field = getattr(self, BOUND_FIELDS.get(name, ""), None)
            if parts[0] == "steps" and len(parts) == 3 and int(parts[1]) < len(rows):
                field = getattr(rows[int(parts[1])], parts[2], None)
            if field is None:
                unplaced += problems
            else:
                field.errors = [*field.errors, *problems]
        return unplaced


@bp.route("/lots/<int:lot_id>/demand", methods=["GET", "POST"])
def lot_demand(lot_id):
    """A lot's demand steps and bounds, with its occupancy and adjustment now."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    form = DemandForm.for_lot(lot)
    status_code = 200
    if form.validate_on_submit():
        settings = form.settings()
        if settings is None:
            status_code = 422
        else:
            try:
                demand.replace_settings(lot, settings)
            except Invalid as exc:
                db.session.rollback()
                for problem in form.show(exc):
                    flash(problem, "error")
                status_code = exc.status
            else:
                flash("Demand pricing saved.", "success")
                return redirect(url_for(".lot_demand", lot_id=lot.id))
    elif form.is_submitted():
        status_code = 422
    return render_template(
        "admin/demand.html",
        lot=lot,
        form=form,
        steps=demand.ordered(lot.demand_steps),
        now=demand.status(lot),
        describe=demand.describe,
    ), status_code

"""The operator dashboard: today's entries and exits, vehicles inside, fees, the queues.

Operators and admins only. The page reloads itself every REFRESH_SECONDS (a meta
refresh, so it needs no JavaScript) and keeps its lot filter in the query string.
"""

from flask import render_template, request
from flask_security import auth_required, roles_accepted
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField

from parkapp.check.blueprint import bp
from parkapp.extensions import db
from parkapp.gate import dashboard as operations
from parkapp.models import ADMIN, OPERATOR, Lot, PaymentMethod

REFRESH_SECONDS = 15
METHOD_LABELS = {
    PaymentMethod.CASH: "Cash",
    PaymentMethod.CARD: "Card",
    PaymentMethod.MOBILE: "Mobile",
    PaymentMethod.ONLINE: "Online (prepaid)",
}


class LotFilterForm(FlaskForm):
    """Which car park to show; a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    lot_id = SelectField("Car park", default="")

    def __init__(self, lots, **kwargs):
        super().__init__(**kwargs)
        self.lot_id.choices = [("", "All car parks")] + [(str(lot.id), lot.name) for lot in lots]


@bp.get("/gate/dashboard")
@auth_required("session")
@roles_accepted(OPERATOR, ADMIN)
def dashboard():
    """Today at every car park, or the chosen one, in each car park's own time zone."""
    lots = db.session.scalars(
        select(Lot).where(Lot.is_active.is_(True)).order_by(Lot.name, Lot.id)
    ).all()
    form = LotFilterForm(lots, formdata=request.args or None)
    chosen = form.lot_id.data if request.args and form.validate() else ""
    ops = operations.today(int(chosen) if chosen else None)
    return render_template(
        "check/dashboard.html",
        form=form,
        ops=ops,
        totals=ops.totals,
        methods=METHOD_LABELS,
        refresh=REFRESH_SECONDS,
        stream_lots=[int(chosen)] if chosen else [],
    )

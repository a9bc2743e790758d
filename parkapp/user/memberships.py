"""Driver pages for memberships: the plans on offer, subscribing with some vehicles, and
each membership's usage, vehicles, cancel and renew.

Subscribing and renewing take a payment (membership_payments): in test mode it is paid at
once, with Stripe the driver is sent to its Checkout and the term applies once paid, with
neither the form shows the refusal. Cancelling turns auto-renewal off, keeps the membership
until its end and refunds nothing.
"""

from flask import flash, redirect, render_template, url_for
from flask_security import auth_required, current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from parkapp.billing import membership_payments, savings
from parkapp.core.exceptions import DomainError
from parkapp.core.money import money
from parkapp.extensions import db
from parkapp.memberships import subscriptions as memberships
from parkapp.models import PaymentStatus, utcnow
from parkapp.user.blueprint import bp


class SubscribeForm(FlaskForm):
    """One plan and the driver's vehicles it should cover."""

    plan_id = HiddenField(validators=[InputRequired()])
    vehicle_ids = SelectMultipleField(
        "Vehicles to cover",
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    auto_renew = BooleanField("Renew automatically at the end of each term", default=True)

    def __init__(self, plan, vehicles, **kwargs):
        super().__init__(prefix=f"plan{plan.id}", **kwargs)
        self.plan_id.data = str(plan.id)
        self.vehicle_ids.choices = [SelectChoice(v.id, v.plate) for v in vehicles]


class AutoRenewForm(FlaskForm):
    """Whether a membership renews by itself."""

    auto_renew = BooleanField("Renew automatically")

    def __init__(self, membership, **kwargs):
        super().__init__(prefix=f"renewal{membership.id}", **kwargs)

    @classmethod
    def showing(cls, membership):
        """The form as the page shows it: the membership's setting, whatever was posted."""
        return cls(membership, formdata=None, data={"auto_renew": membership.auto_renew})


class AttachForm(FlaskForm):
    """One more vehicle for a membership."""

    vehicle_id = SelectField("Add a vehicle", coerce=int, validators=[InputRequired()])

    def __init__(self, membership, vehicles, **kwargs):
        super().__init__(prefix=f"membership{membership.id}", **kwargs)
        covered = {v.id for v in membership.vehicles}
        self.vehicle_id.choices = [
            SelectChoice(v.id, v.plate) for v in vehicles if v.id not in covered
        ]


def _page(subscribe_forms=None, attach_forms=None, status=200):
    vehicles = list(current_user.vehicles)
    plans = db.session.scalars(memberships.plans_query(active_only=True)).all()
    mine = memberships.memberships_of(current_user)
    subscribe_forms = subscribe_forms or {}
    attach_forms = attach_forms or {}
    offers = [
        (plan, subscribe_forms.get(plan.id) or SubscribeForm(plan, vehicles, formdata=None))
        for plan in plans
    ]
    usages = savings.usages(mine)
    rows = [
        (
            m,
            usages[m.id],
            attach_forms.get(m.id) or AttachForm(m, vehicles),
            AutoRenewForm.showing(m),
        )
        for m in mine
    ]
    return render_template(
        "user/memberships.html",
        offers=offers,
        rows=rows,
        describe=memberships.describe_plan,
        now=utcnow(),
    ), status


@bp.get("/memberships", endpoint="memberships")
@auth_required("session")
def memberships_page():
    """Plans to subscribe to, and the driver's memberships with their usage."""
    return _page()


@bp.post("/memberships/plans/<int:plan_id>")
@auth_required("session")
def subscribe(plan_id):
    """Take out a membership of a plan for the ticked vehicles."""
    plan = memberships.get_plan(plan_id, active_only=True)
    form = SubscribeForm(plan, current_user.vehicles)
    if not form.validate_on_submit():
        return _page({plan.id: form}, status=422)
    try:
        membership = memberships.subscribe(
            current_user, plan.id, form.vehicle_ids.data or [], auto_renew=form.auto_renew.data
        )
    except DomainError as exc:
        db.session.rollback()
        form.vehicle_ids.errors = [*form.vehicle_ids.errors, exc.words]
        return _page({plan.id: form}, status=exc.status)
    checkout = _checkout_of(membership)
    if checkout:
        return redirect(checkout, code=303)
    flash(
        f"You are a {plan.name} member until {membership.ends_at:%d %b %Y}. {_charged(membership)}",
        "success",
    )
    return redirect(url_for("user.memberships", _anchor=f"membership-{membership.id}"))


def _checkout_of(membership):
    """The Stripe Checkout page of the membership's open payment, if there is one."""
    payment = membership_payments.latest(membership)
    if payment is None or payment.status != PaymentStatus.PENDING:
        return None
    return membership_payments.checkout_url(payment)


def _charged(membership):
    payment = membership_payments.latest(membership)
    if payment is None:
        return "Nothing to pay."
    amount = money(payment.amount_cents, payment.currency)
    note = " (test mode: no card charged)" if payment.test_mode else ""
    return f"{amount} paid{note}, receipt {payment.receipt_number}."


def _own(membership_id):
    return memberships.get_membership(membership_id, current_user)


@bp.post("/memberships/<int:membership_id>/vehicles")
@auth_required("session")
def attach_vehicle(membership_id):
    """Cover one more of the driver's vehicles."""
    membership = _own(membership_id)
    form = AttachForm(membership, current_user.vehicles)
    if not form.validate_on_submit():
        return _page(attach_forms={membership.id: form}, status=422)
    try:
        memberships.attach_vehicle(membership, form.vehicle_id.data)
    except DomainError as exc:
        db.session.rollback()
        form.vehicle_id.errors = [*form.vehicle_id.errors, exc.words]
        return _page(attach_forms={membership.id: form}, status=exc.status)
    flash("Vehicle added to your membership.", "success")
    return redirect(url_for("user.memberships", _anchor=f"membership-{membership.id}"))


@bp.post("/memberships/<int:membership_id>/vehicles/<int:vehicle_id>/remove")
@auth_required("session")
def detach_vehicle(membership_id, vehicle_id):
    """Stop covering a vehicle."""
    membership = _own(membership_id)
    try:
        memberships.detach_vehicle(membership, vehicle_id)
    except DomainError as exc:
        flash(exc.words, "error")
    else:
        flash("Vehicle removed from your membership.", "success")
    return redirect(url_for("user.memberships", _anchor=f"membership-{membership.id}"))


@bp.post("/memberships/<int:membership_id>/cancel")
@auth_required("session")
def cancel_membership(membership_id):
    """Turn auto-renewal off; the membership runs to its end."""
    membership = _own(membership_id)
    try:
        memberships.cancel(membership)
    except DomainError as exc:
        flash(exc.words, "error")
    else:
        flash(
            f"Cancelled: your membership will not renew and ends on "
            f"{membership.ends_at:%d %b %Y}. Nothing is refunded.",
            "success",
        )
    return redirect(url_for("user.memberships", _anchor=f"membership-{membership.id}"))


@bp.post("/memberships/<int:membership_id>/renew")
@auth_required("session")
def renew_membership(membership_id):
    """Add one more term now, charged now."""
    membership = _own(membership_id)
    try:
        memberships.renew(membership)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.words, "error")
    else:
        checkout = _checkout_of(membership)
        if checkout:
            return redirect(checkout, code=303)
        flash(f"Renewed until {membership.ends_at:%d %b %Y}. {_charged(membership)}", "success")
    return redirect(url_for("user.memberships", _anchor=f"membership-{membership.id}"))


@bp.post("/memberships/<int:membership_id>/auto-renew")
@auth_required("session")
def set_auto_renew(membership_id):
    """Turn auto-renewal on or off (off: the membership runs to its end)."""
    membership = _own(membership_id)
    form = AutoRenewForm(membership)
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("user.memberships", _anchor=f"membership-{membership.id}"))
    try:
        memberships.set_auto_renew(membership, form.auto_renew.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.words, "error")
    else:
        flash(
            f"Renews automatically on {membership.ends_at:%d %b %Y}."
            if membership.auto_renew
            else f"Will not renew: ends on {membership.in_force_until:%d %b %Y}.",
            "success",
        )
    return redirect(url_for("user.memberships", _anchor=f"membership-{membership.id}"))

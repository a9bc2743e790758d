"""The merchant counter: staff of a shop validate a customer's parking by ticket or code.

One big code box; the result in words; the day's validations below. For users with the
`merchant` role who are linked to an active merchant (anyone else: 403).
"""

from datetime import datetime, time
from functools import wraps

from flask import flash, redirect, render_template, url_for
from flask_security import auth_required, current_user, roles_accepted
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from parkapp.billing import validated
from parkapp.check.blueprint import bp
from parkapp.check.forms import attach
from parkapp.core.exceptions import DomainError
from parkapp.core.money import money
from parkapp.core.timezones import lot_zone
from parkapp.extensions import db
from parkapp.merchants import merchants, validations
from parkapp.models import MERCHANT, utcnow


def merchant_only(view):
    """Merchant staff: anonymous people go to the login page, everyone else gets 403."""

    @wraps(view)
    @auth_required("session")
    @roles_accepted(MERCHANT)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    return wrapper


class CodeForm(FlaskForm):
    """The ticket number or confirmation code the customer shows."""

    code = StringField(
        "Ticket or confirmation code",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[InputRequired("Type the ticket number or the code."), Length(max=40)],
    )


def _today(merchant):
    """The start of today where the merchant's (first) car park is, in UTC."""
    zone = lot_zone(merchant.lots[0]) if merchant.lots else None
    now = utcnow().astimezone(zone) if zone else utcnow()
    return datetime.combine(now.date(), time(0), now.tzinfo)


def result_words(validation):
    """What staff read after validating: the merchant, the amount and the ticket."""
    booking = validation.booking
    ticket = booking.ticket_number or booking.confirmation_code
    now_cents = validated.amount_now(validation)
    final = validation.amount_cents
    if final is None and booking.booked_ends_at is not None:
        final = now_cents
    return validated.words(validation, final, now_cents, ticket)


@bp.route("/validate", methods=["GET", "POST"])
@merchant_only
def merchant_counter():
    """Validate a ticket or code; the result and the day's validations below."""
    merchant = validations.staff_merchant(current_user)
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            validation = validations.validate(current_user, form.code.data)
        except DomainError as exc:
            db.session.rollback()
            if not attach(form, exc, {validations.FIELD: "code"}):
                form.code.errors = [*form.code.errors, exc.words]
            status = exc.status
        else:
            flash(result_words(validation), "success")
            return redirect(url_for("check.merchant_counter"))
    elif form.is_submitted():
        status = 422
    today = db.session.scalars(validations.list_query(merchant.id, _today(merchant))).all()
    rows = [
        {
            "at": v.created_at,
            "lot": v.booking.lot,
            "ticket": v.booking.ticket_number or v.booking.confirmation_code,
            "amount": money(
                v.amount_cents if v.amount_cents is not None else validated.amount_now(v),
                v.currency,
            ),
            "final": v.amount_cents is not None,
            "by": v.validated_by.display_name if v.validated_by else "",
        }
        for v in today
    ]
    return render_template(
        "check/counter.html",
        form=form,
        merchant=merchant,
        gives=merchants.describe(merchant),
        rows=rows,
    ), status

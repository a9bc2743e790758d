"""Admin audit page: staff actions filtered by actor, action and day; resetting two-factor.

Routes register on the admin blueprint, so its guard (admins only) covers them.
"""

from datetime import UTC, datetime, time, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional

from parkapp.accounts import users
from parkapp.admin.blueprint import PER_PAGE, bp
from parkapp.extensions import db
from parkapp.web import audit


class AuditFilterForm(FlaskForm):
    """Filter the audit log; days are UTC."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    actor = StringField("Actor", validators=[Optional(), Length(max=255)])
    action = StringField("Action", validators=[Optional(), Length(max=64)])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])

    def validate(self, extra_validators=None):
        """Dates in order as well as each field valid."""
        if not super().validate(extra_validators):
            return False
        if self.date_from.data and self.date_to.data and self.date_to.data < self.date_from.data:
            self.date_to.errors.append("The end date is before the start date.")
            return False
        return True

    def filters(self):
        """The service's filters: [from 00:00, the day after `to`) in UTC."""
        since = until = None
        if self.date_from.data:
            since = datetime.combine(self.date_from.data, time(), UTC)
        if self.date_to.data:
            until = datetime.combine(self.date_to.data + timedelta(days=1), time(), UTC)
        return {
            "actor": self.actor.data,
            "action": self.action.data,
            "since": since,
            "until": until,
        }


@bp.get("/audit")
def audit_log():
    """Staff actions, newest first, 50 a page; a bad filter is shown next to its field."""
    form = AuditFilterForm(formdata=request.args)
    page, status = None, 200
    if form.validate():
        page = db.paginate(audit.query(**form.filters()), per_page=PER_PAGE, error_out=False)
    else:
        status = 422
    return render_template("admin/audit.html", form=form, page=page), status


@bp.post("/users/<int:user_id>/two-factor/reset")
def reset_two_factor(user_id):
    """Turn off an account's two-factor (a lost device); they set it up again at sign-in."""
    user = users.reset_two_factor(users.get_user(user_id))
    flash(f"Two-factor is off for {user.email}.", "success")
    return redirect(url_for(".user_detail", user_id=user.id))

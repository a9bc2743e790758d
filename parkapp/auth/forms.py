"""Account forms: Flask-Security-Too's registration with the driver's name added."""

from flask_security import RegisterFormV2
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class ParkappRegisterForm(RegisterFormV2):
    """Registration asks for a full name as well as email and password."""

    full_name = StringField(
        "Full name", validators=[DataRequired(message="Give your name."), Length(max=120)]
    )

    def validate(self, **kwargs):
        """Validate, keeping "already registered" next to the email field."""
        valid = super().validate(**kwargs)
        # With generic responses on (for login and reset), Flask-Security would hide a
        # taken email by pretending the registration worked. The API says so with a 409
        # anyway, behind the same rate limit, so the page tells the person plainly.
        self.existing_email_user = None
        return valid


class EraseAccountForm(FlaskForm):
    """Erasing an account asks for the password again."""

    password = PasswordField(
        "Your password", validators=[DataRequired(message="Give your password to confirm.")]
    )


class MailPreferenceForm(FlaskForm):
    """Whether the driver gets booking mail beyond receipts."""

    booking_mail = BooleanField(
        "Email me my passes, changes, cancellations and reminders (receipts always come)"
    )

"""Account forms: Flask-Security-Too's registration with the driver's name added."""

from flask_security import RegisterFormV2
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class ParkappRegisterForm(RegisterFormV2):
    """Registration asks for a full name as well as email and password."""

    full_name = StringField(
        "Full name", validators=[DataRequired(message="Give your name."), Length(max=120)]
    )


class EraseAccountForm(FlaskForm):
    """Erasing an account asks for the password again."""

    password = PasswordField(
        "Your password", validators=[DataRequired(message="Give your password to confirm.")]
    )

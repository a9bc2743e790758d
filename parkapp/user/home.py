"""The driver's home: what is coming up and parked now, then this month in figures."""

from flask import render_template
from flask_security import auth_required, current_user

from parkapp.booking import home as driver_home
from parkapp.user.blueprint import bp


@bp.get("/home")
@auth_required("session")
def home():
    """Upcoming and active bookings first, then this month's spend, hours and savings."""
    return render_template("user/home.html", home=driver_home.home(current_user))

"""/bookings namespace."""

from flask_restx import Namespace

ns = Namespace("bookings", description="bookings", path="/")

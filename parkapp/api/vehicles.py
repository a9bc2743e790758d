"""/vehicles namespace."""

from flask_restx import Namespace

ns = Namespace("vehicles", description="vehicles", path="/")

"""/lots namespace."""

from flask_restx import Namespace

ns = Namespace("lots", description="lots", path="/")

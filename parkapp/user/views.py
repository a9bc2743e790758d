"""Driver pages: find lots, book, release, history, vehicles."""

from flask import Blueprint, render_template

bp = Blueprint("user", __name__)


@bp.get("/")
def index():
    """The home page: find a lot."""
    return render_template("index.html")

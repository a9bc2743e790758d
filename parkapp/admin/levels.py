"""Admin: rename a lot's levels and zones in one place (the lot page's "Levels and zones")."""

from flask import flash, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from parkapp.admin.blueprint import bp, refused
from parkapp.core.exceptions import DomainError
from parkapp.lots import levels, lots


class RenameForm(FlaskForm):
    """A new name for a level or a zone."""

    name = StringField(
        "New name",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[InputRequired("Type the new name."), Length(max=levels.NAME_MAX)],
    )


def _rename(lot_id, find, rename, what):
    lot = lots.get_lot(lot_id, include_inactive=True)
    item = find(lot)
    form = RenameForm()
    if not form.validate_on_submit():
        flash(f"{what} {item.name}: " + " ".join(form.name.errors or ["try again."]), "error")
    else:
        old = item.name
        try:
            rename(item, form.name.data)
        except DomainError as exc:
            refused(exc)
        else:
            flash(f"{what} {old} is now {item.name}.", "success")
    return redirect(url_for("admin.lot_detail", lot_id=lot.id, _anchor="levels"))


@bp.post("/lots/<int:lot_id>/levels/<int:level_id>/rename")
def rename_level(lot_id, level_id):
    """Rename a level; every spot on it shows the new name."""
    return _rename(
        lot_id,
        lambda lot: levels.get_level(lot, level_id),
        lambda level, name: levels.update_level(level, name=name),
        "Level",
    )


@bp.post("/lots/<int:lot_id>/zones/<int:zone_id>/rename")
def rename_zone(lot_id, zone_id):
    """Rename a zone; every spot in it shows the new name."""
    return _rename(lot_id, lambda lot: levels.get_zone(lot, zone_id), levels.rename_zone, "Zone")

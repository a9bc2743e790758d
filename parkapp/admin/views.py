"""Admin pages: dashboard, lots and spots, users, bookings."""

import re
from collections import Counter
from functools import cache
from zoneinfo import available_timezones

from flask import flash, redirect, render_template, request, url_for
from flask_security import current_user
from sqlalchemy import select

from parkapp.accounts import users
from parkapp.admin.blueprint import PER_PAGE, bp, refused
from parkapp.admin.forms import (
    LOT_FIELD_ALIASES,
    BookingFilterForm,
    LotForm,
    RenameForm,
    RolesForm,
    SpotsForm,
    UserSearchForm,
)
from parkapp.analytics import dashboard as reports
from parkapp.booking import queries
from parkapp.core.exceptions import Conflict, DomainError, Invalid
from parkapp.extensions import db
from parkapp.lots import availability, levels, lots, spots
from parkapp.lots.lots import LotInput
from parkapp.models import Spot, SpotStatus, utcnow

RECENT_BOOKINGS = 20
SPOT_FIELD_ALIASES = {"level_name": "level", "zone_name": "zone"}


# Dashboard ------------------------------------------------------------------------------


@bp.get("/")
def dashboard():
    """Headline figures for today and every lot's occupancy now."""
    return render_template(
        "admin/dashboard.html",
        stats=reports.dashboard(),
        summaries=lots.search_lots(include_inactive=True)[:],
    )


# Lots -----------------------------------------------------------------------------------


@bp.get("/lots")
def lot_list():
    """All lots, in service or not."""
    return render_template("admin/lots.html", summaries=lots.search_lots(include_inactive=True)[:])


@bp.route("/lots/new", methods=["GET", "POST"])
def new_lot():
    """Create a lot, then go on to add its spots."""
    form = LotForm()
    if form.validate_on_submit():
        try:
            lot = lots.create_lot(LotInput(**form.lot_values()))
        except (Conflict, Invalid) as exc:
            refused(exc, form, LOT_FIELD_ALIASES)
        else:
            flash(f"{lot.name} created. Now add its spots.", "success")
            return redirect(url_for(".lot_detail", lot_id=lot.id))
    return render_template("admin/lot_form.html", form=form, lot=None, timezones=timezone_names())


@bp.route("/lots/<int:lot_id>/edit", methods=["GET", "POST"])
def edit_lot(lot_id):
    """Change a lot's details, hours and rates."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    form = LotForm.for_lot(lot)
    if form.validate_on_submit():
        try:
            lots.update_lot(lot, form.lot_values())
        except (Conflict, Invalid) as exc:
            refused(exc, form, LOT_FIELD_ALIASES)
        else:
            flash(f"{lot.name} saved.", "success")
            return redirect(url_for(".lot_detail", lot_id=lot.id))
    return render_template("admin/lot_form.html", form=form, lot=lot, timezones=timezone_names())


@cache
def timezone_names():
    """Every IANA time zone name, sorted, for the form's suggestions."""
    return sorted(available_timezones() | {"UTC"})


@bp.post("/lots/<int:lot_id>/deactivate")
def deactivate_lot(lot_id):
    """Take a lot out of service (refused while bookings hold it)."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    try:
        lots.deactivate_lot(lot)
    except Conflict as exc:
        refused(exc)
    else:
        flash(f"{lot.name} is out of service; drivers no longer see it.", "success")
    return redirect(url_for(".lot_detail", lot_id=lot_id))


@bp.post("/lots/<int:lot_id>/reactivate")
def reactivate_lot(lot_id):
    """Put a lot back in service."""
    lot = lots.reactivate_lot(lots.get_lot(lot_id, include_inactive=True))
    flash(f"{lot.name} is back in service.", "success")
    return redirect(url_for(".lot_detail", lot_id=lot_id))


# Spots ----------------------------------------------------------------------------------


@bp.get("/lots/<int:lot_id>")
def lot_detail(lot_id):
    """A lot's levels, zones and spots, with the forms that change them."""
    return lot_page(lots.get_lot(lot_id, include_inactive=True), SpotsForm())


@bp.post("/lots/<int:lot_id>/spots")
def create_spots(lot_id):
    """Add a batch of spots to a lot."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    form = SpotsForm()
    if form.validate_on_submit():
        try:
            created = spots.create_spots(lot, **form.spot_values())
        except Invalid as exc:
            refused(exc, form, SPOT_FIELD_ALIASES)
        else:
            flash(
                f"Added {len(created)} spots, {created[0].label} to {created[-1].label}.", "success"
            )
            return redirect(url_for(".lot_detail", lot_id=lot.id))
    return lot_page(lot, form)


def lot_page(lot, spot_form):
    """Render a lot's admin page (also after a refused bulk creation)."""
    now = utcnow()
    spot_list = spots_in_service(lot)
    return render_template(
        "admin/lot.html",
        lot=lot,
        spots=spot_list,
        spot_form=spot_form,
        occupied=availability.occupied_spot_ids(lot.id, now),
        taken=availability.taken_spot_ids(lot.id, now),
        by_kind=availability.counts_by_kind(lot.id, now, None),
        per_level=Counter(spot.level_id for spot in spot_list),
        per_zone=Counter(spot.zone_id for spot in spot_list),
        by_level=levels.structure(lot),
    )


def spots_in_service(lot):
    """The lot's spots (removed ones left out) with level and zone, in natural label order."""
    query = (
        select(Spot)
        .where(Spot.lot_id == lot.id, Spot.status != SpotStatus.REMOVED)
        .options(db.joinedload(Spot.level), db.joinedload(Spot.zone))
    )
    return sorted(db.session.scalars(query), key=_spot_order)


def _spot_order(spot):
    # "P2" before "P10": compare the digit runs of a label as numbers
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", spot.label)]
    return (
        spot.level.ordinal if spot.level else 1_000_000,
        spot.zone.name if spot.zone else "",
        natural,
    )


@bp.post("/spots/<int:spot_id>/maintenance")
def start_maintenance(spot_id):
    """Take one spot out of use for maintenance."""
    return _set_spot_status(spot_id, SpotStatus.MAINTENANCE)


@bp.post("/spots/<int:spot_id>/in-service")
def end_maintenance(spot_id):
    """Put a spot under maintenance back into use."""
    return _set_spot_status(spot_id, SpotStatus.ACTIVE)


def _set_spot_status(spot_id, status):
    spot = spots.get_spot(spot_id)
    try:
        spots.set_spot_status(spot, status)
    except Invalid as exc:
        refused(exc)
    else:
        flash(f"Spot {spot.label} is now {status.value}.", "success")
    return redirect(url_for(".lot_detail", lot_id=spot.lot_id, _anchor="spots"))


@bp.post("/spots/<int:spot_id>/delete")
def delete_spot(spot_id):
    """Delete a spot (refused while a booking holds it)."""
    spot = spots.get_spot(spot_id)
    lot_id, label = spot.lot_id, spot.label
    try:
        spots.delete_spot(spot)
    except Conflict as exc:
        refused(exc)
    else:
        flash(f"Spot {label} deleted.", "success")
    return redirect(url_for(".lot_detail", lot_id=lot_id, _anchor="spots"))


# Users ----------------------------------------------------------------------------------


@bp.get("/users")
def user_list():
    """Accounts, searched by email, name or plate, 50 a page."""
    form = UserSearchForm(formdata=request.args)  # Flask-WTF reads only POSTed data itself
    term = form.q.data if form.validate() else None
    page = db.paginate(users.search_users(term), per_page=PER_PAGE, error_out=False)
    return render_template("admin/users.html", form=form, page=page)


@bp.get("/users/<int:user_id>")
def user_detail(user_id):
    """One account: roles, state, vehicles and recent bookings."""
    user = users.get_user(user_id)
    return user_page(user, RolesForm(data={"roles": user.role_names}))


@bp.post("/users/<int:user_id>/roles")
def user_roles(user_id):
    """Replace an account's roles."""
    user = users.get_user(user_id)
    form = RolesForm()
    if form.validate_on_submit():
        try:
            users.set_roles(user, form.roles.data, current_user)
        except (Conflict, Invalid) as exc:
            refused(exc, form)
        else:
            flash(f"Roles of {user.email} saved.", "success")
            return redirect(url_for(".user_detail", user_id=user.id))
    return user_page(user, form)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id):
    """Block an account from signing in or using its tokens."""
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/reactivate")
def reactivate_user(user_id):
    """Let a deactivated account sign in again."""
    return _set_active(user_id, True)


def _set_active(user_id, active):
    user = users.get_user(user_id)
    try:
        users.set_active(user, active, current_user)
    except Conflict as exc:
        refused(exc)
    else:
        flash(f"{user.email} is {'active' if active else 'deactivated'}.", "success")
    return redirect(url_for(".user_detail", user_id=user_id))


def user_page(user, roles_form):
    """Render an account's admin page with its latest bookings."""
    recent = db.session.scalars(
        queries.filtered_query(queries.BookingFilter(user_id=user.id)).limit(RECENT_BOOKINGS)
    ).all()
    return render_template("admin/user.html", user=user, roles_form=roles_form, bookings=recent)


# Bookings -------------------------------------------------------------------------------


@bp.get("/bookings")
def booking_list():
    """Every booking, filtered by lot, status and start date, 50 a page."""
    form = BookingFilterForm(formdata=request.args)
    page = None
    if form.validate():
        page = db.paginate(
            queries.filtered_query(form.to_filter()), per_page=PER_PAGE, error_out=False
        )
    return render_template("admin/bookings.html", form=form, page=page)


# Levels and zones: renamed in one place, the lot page's "Levels and zones" ----------


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

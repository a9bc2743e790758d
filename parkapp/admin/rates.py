"""Admin pages for a lot's rate table: list in words, price check, add, edit, deactivate.

Routes register on the admin blueprint, so its guard (admins only) covers them.
"""

from flask import flash, redirect, render_template, request, url_for

from parkapp.admin.blueprint import bp, refused
from parkapp.admin.rate_forms import RATE_FIELD_ALIASES, PriceCheckForm, RateForm
from parkapp.core.exceptions import Conflict, Invalid
from parkapp.lots import lots
from parkapp.pricing import quoting as pricing
from parkapp.pricing import rates


@bp.get("/lots/<int:lot_id>/rates")
def rate_list(lot_id):
    """A lot's rates in words, with a price check for any stay."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    check = PriceCheckForm(formdata=request.args if request.args else None)
    quote, status = None, 200
    if request.args:
        stay = check.check(lot)
        if stay is None:
            status = 422
        else:
            kind, vehicle = check.spot_kind.data or None, check.vehicle_type.data or None
            quote = pricing.quote(pricing.Stay(lot, *stay, spot_kind=kind, vehicle_type=vehicle))
    ordered = sorted(lot.rates, key=lambda rate: (not rate.is_active, rate.id))
    return render_template(
        "admin/rates.html", lot=lot, rates=ordered, check=check, quote=quote, words=rates
    ), status


@bp.route("/lots/<int:lot_id>/rates/new", methods=["GET", "POST"])
def new_rate(lot_id):
    """Add a rate to a lot's table."""
    lot = lots.get_lot(lot_id, include_inactive=True)
    form = RateForm()
    status = 200
    if form.validate_on_submit():
        try:
            rate = rates.create_rate(lot, rates.RateInput(**form.rate_values()))
        except (Conflict, Invalid) as exc:
            refused(exc, form, RATE_FIELD_ALIASES)
            status = exc.status
        else:
            flash(f"Rate {rate.name!r} added.", "success")
            return redirect(url_for(".rate_list", lot_id=lot.id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/rate_form.html", form=form, lot=lot, rate=None), status


@bp.route("/rates/<int:rate_id>/edit", methods=["GET", "POST"])
def edit_rate(rate_id):
    """Change a rate."""
    rate = rates.get_rate(rate_id, include_inactive=True)
    form = RateForm.for_rate(rate)
    status = 200
    if form.validate_on_submit():
        try:
            rates.update_rate(rate, form.rate_values())
        except (Conflict, Invalid) as exc:
            refused(exc, form, RATE_FIELD_ALIASES)
            status = exc.status
        else:
            flash(f"Rate {rate.name!r} saved.", "success")
            return redirect(url_for(".rate_list", lot_id=rate.lot_id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/rate_form.html", form=form, lot=rate.lot, rate=rate), status


@bp.post("/rates/<int:rate_id>/deactivate")
def deactivate_rate(rate_id):
    """Take a rate out of the table (kept on record)."""
    rate = rates.deactivate_rate(rates.get_rate(rate_id, include_inactive=True))
    flash(f"Rate {rate.name!r} deactivated; it no longer prices stays.", "success")
    return redirect(url_for(".rate_list", lot_id=rate.lot_id))


@bp.post("/rates/<int:rate_id>/reactivate")
def reactivate_rate(rate_id):
    """Put a deactivated rate back (refused when an active rate clashes with it)."""
    rate = rates.get_rate(rate_id, include_inactive=True)
    try:
        rates.reactivate_rate(rate)
    except Conflict as exc:
        refused(exc)
    else:
        flash(f"Rate {rate.name!r} is active again.", "success")
    return redirect(url_for(".rate_list", lot_id=rate.lot_id))

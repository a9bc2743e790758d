"""Driver pages: find lots, book, check in, release, cancel, history, vehicles.

Handlers load, authorise (the services answer 404 for other people's things), call one
service function and render. A domain error is shown next to the field it names, or
flashed; a 409 re-shows the form with what the driver typed.
"""

from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_security import auth_required, current_user

from parkapp.accounts import vehicles as vehicle_service
from parkapp.billing import refunds
from parkapp.booking import claims, lifecycle, queries
from parkapp.core.exceptions import DomainError, NotFound
from parkapp.core.money import money
from parkapp.lots import availability, levels, live, lots
from parkapp.lots import spots as spot_service
from parkapp.models import SpotStatus, utcnow
from parkapp.pricing import demand
from parkapp.pricing import search as priced_search
from parkapp.user import booking_changes
from parkapp.user.blueprint import bp
from parkapp.user.forms import BookingForm, NewVehicleForm, VehicleForm
from parkapp.user.search_form import SearchForm
from parkapp.waitlist import queue as waitlist_queue
from parkapp.web.fields import parse_local

PAST_SHOWN = 20  # past bookings listed before "show all"


@bp.get("/")
def index():
    """The search page: find a lot by name, city or near me, free now or for an interval,
    priced for it, filtered by price, amenities and vehicle height."""
    form = SearchForm(request.args)
    results = None
    if form.validate():
        # counted once: the list and the map both read them
        results = priced_search.find(form.search())[:]
    return render_template(
        "index.html",
        form=form,
        results=results,
        map_markers=_map_markers(results),
        forget_location_url=_without_location(),
    )


def _without_location():
    """This search again without the browser's position."""
    kept = {k: v for k, v in request.args.lists() if k not in ("lat", "lon", "radius")}
    return url_for("user.index", **kept)


def _map_markers(results):
    """The located results as map markers, when a tile server is configured."""
    if not results or not current_app.config.get("MAP_TILE_URL"):
        return None
    return [
        {
            "id": s.lot.id,
            "name": s.lot.name,
            "lat": s.lot.latitude,
            "lon": s.lot.longitude,
            "free": s.available,
            "url": url_for("user.lot_detail", lot_id=s.lot.id),
        }
        for s in results
        if s.lot.latitude is not None and s.lot.longitude is not None
    ] or None


# --- one lot and booking -------------------------------------------------------------


@bp.get("/lots/<int:lot_id>")
def lot_detail(lot_id):
    """A lot's facts, availability and spots, with the booking form for signed-in drivers."""
    lot = lots.get_lot(lot_id)
    form = None
    if current_user.is_authenticated:
        form = _booking_form(lot)
        form.prefill_interval(
            parse_local(request.args.get("starts")), parse_local(request.args.get("ends"))
        )
    return _render_lot(lot, form)


@bp.post("/lots/<int:lot_id>")
@auth_required("session")
def book(lot_id):
    """Quote or book from the lot page; on success show the booking and its code."""
    lot = lots.get_lot(lot_id)
    form = _booking_form(lot)
    if not form.validate_on_submit():
        return _render_lot(lot, form, status=422)
    if form.get_quote.data:
        return _quote(lot, form)
    try:
        booking = claims.create_booking(current_user, form.booking_request(lot.id))
    except DomainError as exc:
        return _render_lot(lot, form, status=_show_error(form, exc))
    flash(
        f"Booked spot {booking.spot.label}. Your confirmation code is {booking.confirmation_code}.",
        "success",
    )
    return redirect(url_for("user.booking_detail", booking_id=booking.id))


def _quote(lot, form):
    """Price the stay the form describes without booking anything."""
    try:
        quote = claims.quote_for(
            lot,
            form.starts_at,
            form.ends_at,
            form.kind_value,
            form.vehicle_type,
            form.discount_code.data or None,
            current_user,
            form.plate_value,
        )
    except DomainError as exc:
        return _render_lot(lot, form, status=_show_error(form, exc))
    return _render_lot(lot, form, quote=quote)


def _booking_form(lot):
    """The booking form; its spot list is the page's spots in service and the one posted."""
    spots = [s for s in _spot_page(lot)["spots"] if s.status == SpotStatus.ACTIVE]
    posted = request.form.get("spot", "")
    if posted.isdigit() and all(str(s.id) != posted for s in spots):
        spot = spot_service.spot_in_lot(lot.id, int(posted))
        if spot is not None and spot.status == SpotStatus.ACTIVE:
            spots.append(spot)
    return BookingForm(lot, current_user.vehicles, spots)


def _spot_page(lot):
    """The lot's spot groups, the one chosen (?group=), and a page (?page=) of its spots."""
    if "spot_page" not in g:  # once per request: the form and the page share it
        g.spot_page = _find_spot_page(lot, utcnow())
    return g.spot_page


def _find_spot_page(lot, now):
    # level and zone counts of "now", cached like the other live counts
    groups = live.lot_cached(lot.id, "groups", lambda: spot_service.spot_groups(lot.id, now))
    chosen = next((g for g in groups if g.key == request.args.get("group")), None)
    chosen = chosen or (groups[0] if groups else None)
    if chosen is None:
        return {"groups": [], "group": None, "spots": [], "page": 1, "pages": 1}
    page = request.args.get("page", "1")
    spots, page, pages = spot_service.spots_page(
        lot.id, chosen, int(page) if page.isdigit() and len(page) < 7 else 1
    )
    return {"groups": groups, "group": chosen, "spots": spots, "page": page, "pages": pages}


def _render_lot(lot, form, quote=None, status=200):
    """The lot page; availability is for the form's interval when it has one, else now."""
    now = utcnow()
    starts_at, ends_at = (form.starts_at, form.ends_at) if form and form.starts_at else (now, None)
    shown = _spot_page(lot)
    return render_template(
        "user/lot_detail.html",
        lot=lot,
        form=form,
        quote=quote,
        now=now,
        counts=_counts(lot, starts_at, ends_at),
        for_interval=ends_at is not None,
        starts_at=starts_at,
        ends_at=ends_at,
        occupied=availability.occupied_spot_ids(lot.id, now, [s.id for s in shown["spots"]]),
        shown=shown,
        taken=availability.taken_spot_ids(lot.id, now, [s.id for s in shown["spots"]]),
        demand_now=demand.status(lot, now) if lot.demand_enabled else None,
        by_level=levels.structure(lot),
    ), status


def _counts(lot, starts_at, ends_at):
    """{kind: (total, free)} over the interval, or now; from the live cache."""
    if ends_at is None:
        return live.kind_counts([lot.id]).get(lot.id, {})
    return live.lot_counts(lot.id, starts_at, ends_at)


def _show_error(form, exc):
    """Put the error next to its field, or flash it; return the status to answer with."""
    if not form.attach(exc):
        flash(exc.words, "error")
    return exc.status


# --- the driver's bookings -----------------------------------------------------------


@bp.get("/bookings")
@auth_required("session")
def my_bookings():
    """The driver's bookings: upcoming, active and past."""
    return render_template(
        "user/bookings.html",
        groups=queries.bookings_of(current_user),
        all_past=request.args.get("past") == "all",
        past_limit=PAST_SHOWN,
        stream_lots=waitlist_queue.queued_lot_ids(current_user),
    )


@bp.get("/bookings/<int:booking_id>")
@auth_required("session")
def booking_detail(booking_id):
    """One booking with its confirmation code and itemised price."""
    return booking_changes.render_detail(queries.get_booking(booking_id, current_user))


@bp.post("/bookings/<int:booking_id>/check-in")
@auth_required("session")
def check_in(booking_id):
    """Start a reserved stay."""
    return _act(
        booking_id,
        lifecycle.check_in,
        lambda b: f"Checked in. Spot {b.spot.label} is yours; release it when you leave.",
    )


@bp.post("/bookings/<int:booking_id>/release")
@auth_required("session")
def release(booking_id):
    """End an active stay and show the final price."""
    return _act(
        booking_id,
        lifecycle.release,
        lambda b: f"Spot {b.spot.label} released. Final price: {money(b.price_cents, b.currency)}.",
    )


@bp.post("/bookings/<int:booking_id>/cancel")
@auth_required("session")
def cancel(booking_id):
    """Cancel an upcoming reservation."""
    return _act(booking_id, lifecycle.cancel, _cancelled)


def _cancelled(booking):
    """The cancellation and what it did about money ("Refunded 12.00 USD.")."""
    note = refunds.cancellation_note(booking)
    return f"Reservation {booking.confirmation_code} cancelled." + (f" {note}" if note else "")


def _act(booking_id, action, done):
    """Load (404 if not theirs), act, flash the outcome and go back where the driver was."""
    booking = queries.get_booking(booking_id, current_user)
    try:
        action(booking, current_user)
    except NotFound:
        raise  # staff may see the booking but not do this to it: 404, as the API answers
    except DomainError as exc:
        flash(exc.words, "error")
    else:
        flash(done(booking), "success")
    return redirect(_back(url_for("user.booking_detail", booking_id=booking.id)))


def _back(default):
    """The form's `next` path when it is a path on this site, else `default`."""
    target = request.form.get("next", "")
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not parts.scheme
        and not parts.netloc
    ):
        return target
    return default


# --- vehicles -------------------------------------------------------------------------


@bp.route("/vehicles", methods=["GET", "POST"])
@auth_required("session")
def vehicles():
    """The driver's vehicles, and the form to add one."""
    form = NewVehicleForm()
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            vehicle = vehicle_service.add_vehicle(current_user, **form.details())
        except DomainError as exc:
            status = _show_error(form, exc)
        else:
            flash(f"Added {vehicle.plate}.", "success")
            return redirect(url_for("user.vehicles"))
    return render_template("user/vehicles.html", form=form, vehicles=current_user.vehicles), status


@bp.route("/vehicles/<int:vehicle_id>/edit", methods=["GET", "POST"])
@auth_required("session")
def edit_vehicle(vehicle_id):
    """Change a vehicle's details."""
    vehicle = vehicle_service.get_own_vehicle(current_user, vehicle_id)
    form = VehicleForm(obj=vehicle)
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            vehicle_service.update_vehicle(vehicle, **form.details())
        except DomainError as exc:
            status = _show_error(form, exc)
        else:
            flash(f"Saved {vehicle.plate}.", "success")
            return redirect(url_for("user.vehicles"))
    return render_template("user/vehicle_edit.html", form=form, vehicle=vehicle), status


@bp.post("/vehicles/<int:vehicle_id>/delete")
@auth_required("session")
def delete_vehicle(vehicle_id):
    """Remove a vehicle from the account (past bookings keep its plate)."""
    vehicle = vehicle_service.get_own_vehicle(current_user, vehicle_id)
    plate = vehicle.plate
    try:
        vehicle_service.delete_vehicle(vehicle)
    except DomainError as exc:
        flash(exc.words, "error")
    else:
        flash(f"Removed {plate}.", "success")
    return redirect(url_for("user.vehicles"))

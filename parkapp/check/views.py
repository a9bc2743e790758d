"""The gate, for operators, and the health endpoints.

The booth works one screen per step: the gate screen (entry and exit forms), the ticket
of a vehicle let in, the lot-full screen with its waitlist button, the fee screen with the
three payment buttons, and "exit allowed". Every gate route is for operators and admins;
the car park the booth serves is kept in the session.
"""

from flask import jsonify, redirect, render_template, request, session, url_for
from flask_security import current_user

from parkapp.booking import lifecycle, queries
from parkapp.check.blueprint import GATE_KEY, LOT_KEY, booth_lot, bp, staff_only
from parkapp.check.forms import (
    EntryForm,
    ExitForm,
    LeaveForm,
    LotChoiceForm,
    PayForm,
    WaitlistForm,
    attach,
)
from parkapp.core.exceptions import DomainError, Invalid, LotFull, NotFound
from parkapp.extensions import db
from parkapp.gate import passage as gate
from parkapp.lots.lots import picker_lots
from parkapp.models import BookingStatus, utcnow

ENTRY_FIELDS = {"license_plate": "plate", "lot_id": "plate"}
EXIT_FIELDS = {"license_plate": "query", "ticket_number": "query"}


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database and (when configured) Redis answer; 503 names what failed.

    `rate_limits` says where login attempts are counted ("memory (redis unreachable)"
    while the limiter's Redis is down); it informs and never fails the check by itself.
    """
    from parkapp.core.health import readiness
    from parkapp.ratelimits import storage_state

    checks = readiness()
    ok = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    return jsonify(body | {"rate_limits": storage_state()}), 200 if ok else 503


# --- the gate ----------------------------------------------------------------------------


def _stay(booking_id, lot):
    """A stay at the booth's car park, or 404."""
    booking = queries.get_booking(booking_id, current_user)
    if lot is None or booking.lot_id != lot.id:
        raise NotFound("No such stay at this car park.")
    return booking


@bp.route("/gate/lot", methods=["GET", "POST"])
@staff_only
def gate_lot():
    """Choose the car park (and gate) this booth serves."""
    active = picker_lots(active_only=True)
    form = LotChoiceForm(active)
    if request.method == "GET":
        form.lot.data = session.get(LOT_KEY)
        form.gate.data = session.get(GATE_KEY)
    elif form.validate_on_submit():
        session[LOT_KEY], session[GATE_KEY] = form.lot.data, form.gate.data or None
        return redirect(url_for("check.gate_home"))
    return render_template("check/lot.html", form=form, lots=active)


@bp.get("/gate")
@staff_only
def gate_home():
    """The gate screen: let a vehicle in, or find one at the exit."""
    lot = booth_lot()
    if lot is None:
        return redirect(url_for("check.gate_lot"))
    return _gate_screen(lot)


def _gate_screen(lot, entry=None, exit_=None, status=200):
    if entry is None:
        entry = EntryForm(prefix="entry", gate=session.get(GATE_KEY))
    if exit_ is None:
        exit_ = ExitForm(prefix="exit")
    focus = "exit" if exit_.errors or request.args.get("at") == "exit" else "entry"
    return render_template(
        "check/gate.html",
        lot=lot,
        entry=entry,
        exit_form=exit_,
        focus=focus,
        inside=gate.inside_count(lot.id),
    ), status


@bp.post("/gate/entry")
@staff_only
def gate_entry():
    """Let a vehicle in: its ticket and spot, the lot-full screen, or the error by its field."""
    lot = booth_lot()
    if lot is None:
        return redirect(url_for("check.gate_lot"))
    form = EntryForm(prefix="entry")
    if not form.validate_on_submit():
        return _gate_screen(lot, entry=form, status=422)
    details = form.details()
    session[GATE_KEY] = details["gate"]
    try:
        booking, _ = gate.enter(lot.id, form.plate.data, operator=current_user, **details)
    except LotFull as exc:
        waiting = WaitlistForm(
            prefix="wait",
            plate=form.plate.data,
            vehicle_type=details["vehicle_type"] or "",
            is_ev="1" if details["is_ev"] else "",
            accessible="1" if details["accessible"] else "",
        )
        return render_template("check/lot_full.html", lot=lot, message=exc.words, form=waiting), 409
    except DomainError as exc:
        if not attach(form, exc, ENTRY_FIELDS):
            form.plate.errors = [*form.plate.errors, exc.words]
        return _gate_screen(lot, entry=form, status=exc.status)
    return redirect(url_for("check.gate_ticket", booking_id=booking.id))


@bp.get("/gate/tickets/<int:booking_id>")
@staff_only
def gate_ticket(booking_id):
    """The ticket and the spot of a vehicle just let in, in very large type."""
    lot = booth_lot()
    booking = _stay(booking_id, lot)
    return render_template("check/ticket.html", lot=lot, booking=booking)


@bp.post("/gate/waitlist")
@staff_only
def gate_waitlist():
    """Queue the vehicle a full lot had no room for; show its place."""
    lot = booth_lot()
    if lot is None:
        return redirect(url_for("check.gate_lot"))
    form = WaitlistForm(prefix="wait")
    if not form.validate_on_submit():
        return redirect(url_for("check.gate_home"))
    try:
        entry, position = gate.join_waitlist(
            lot.id,
            form.plate.data,
            form.vehicle_type.data or None,
            True if form.is_ev.data else None,
            True if form.accessible.data else None,
        )
    except DomainError as exc:
        return render_template(
            "check/lot_full.html", lot=lot, message=exc.words, form=form, failed=True
        ), exc.status
    return render_template("check/waitlisted.html", lot=lot, entry=entry, position=position)


@bp.post("/gate/exit")
@staff_only
def gate_exit():
    """Find the stay by ticket or plate: let it out when nothing is due, else show the fee."""
    lot = booth_lot()
    if lot is None:
        return redirect(url_for("check.gate_lot"))
    form = ExitForm(prefix="exit")
    if not form.validate_on_submit():
        return _gate_screen(lot, exit_=form, status=422)
    try:
        booking = _find(lot, form.query.data)
    except DomainError as exc:
        if not attach(form, exc, EXIT_FIELDS):
            form.query.errors = [*form.query.errors, exc.words]
        return _gate_screen(lot, exit_=form, status=exc.status)
    if gate.fee(booking).due_cents > 0:
        return redirect(url_for("check.gate_fee", booking_id=booking.id))
    return _let_out(lot, booking)


def _let_out(lot, booking):
    """Release a stay that owes nothing; the fee screen with the reason when it cannot."""
    try:
        gate.leave(booking, operator=current_user, gate=session.get(GATE_KEY))
    except DomainError as exc:
        db.session.rollback()
        return _fee_screen(lot, _stay(booking.id, lot), status=exc.status, error=exc.words)
    return redirect(url_for("check.gate_exit_done", booking_id=booking.id))


def _find(lot, text):
    """The stay inside this lot whose ticket number or plate the operator typed."""
    if gate.looks_like_ticket(text):
        return gate.find_inside(lot.id, ticket=text)
    try:
        return gate.find_inside(lot.id, plate=text)
    except Invalid:
        raise Invalid(
            "ticket_number",
            "Not a ticket number (T- and 12 letters or digits) nor a plate.",
            f"{text[:32]!r} is neither a ticket number nor a plate.",
        ) from None


@bp.get("/gate/exits/<int:booking_id>")
@staff_only
def gate_fee(booking_id):
    """The fee screen: duration, fee lines, paid, due, and the three payment buttons."""
    lot = booth_lot()
    booking = _stay(booking_id, lot)
    if booking.status == BookingStatus.COMPLETED:
        return redirect(url_for("check.gate_exit_done", booking_id=booking.id))
    return _fee_screen(lot, booking)


def _fee_screen(lot, booking, status=200, error=None):
    if booking.status != BookingStatus.ACTIVE:
        raise NotFound(f"Ticket {booking.ticket_number or booking.plate} is not inside.")
    now = utcnow()
    bill = gate.fee(booking, now)
    form = PayForm(due_cents=bill.due_cents, formdata=None)
    return render_template(
        "check/fee.html",
        lot=lot,
        booking=booking,
        bill=bill,
        stayed=now - booking.starts_at,
        form=form,
        leave_form=LeaveForm(prefix="leave"),
        error=error,
    ), status


@bp.post("/gate/exits/<int:booking_id>/pay")
@staff_only
def gate_pay(booking_id):
    """Take the amount due by cash, card or mobile, then let the vehicle out."""
    lot = booth_lot()
    booking = _stay(booking_id, lot)
    form = PayForm()
    valid = form.validate_on_submit()
    if booking.status == BookingStatus.COMPLETED:
        # A double submit after the first let the vehicle out: the key took the money once.
        return redirect(url_for("check.gate_exit_done", booking_id=booking.id))
    if not valid:
        return _fee_screen(lot, booking, status=422, error="Press Cash, Card or Mobile again.")
    try:
        gate.pay_and_leave(
            booking,
            method=form.method,
            amount_cents=form.amount_cents.data,
            idempotency_key=form.idempotency_key.data,
            operator=current_user,
            gate=session.get(GATE_KEY),
        )
    except DomainError as exc:
        db.session.rollback()
        booking = _stay(booking_id, lot)
        if booking.status == BookingStatus.COMPLETED:  # a double submit lost the race
            return redirect(url_for("check.gate_exit_done", booking_id=booking.id))
        return _fee_screen(lot, booking, status=exc.status, error=exc.words)
    return redirect(url_for("check.gate_exit_done", booking_id=booking.id))


@bp.post("/gate/exits/<int:booking_id>/leave")
@staff_only
def gate_leave(booking_id):
    """Let out a stay that owes nothing (paid in advance, or within the grace period)."""
    lot = booth_lot()
    booking = _stay(booking_id, lot)
    if booking.status == BookingStatus.COMPLETED:
        return redirect(url_for("check.gate_exit_done", booking_id=booking.id))
    if not LeaveForm(prefix="leave").validate_on_submit():
        return _fee_screen(lot, booking, status=400, error="Press the button again.")
    return _let_out(lot, booking)


@bp.get("/gate/exits/<int:booking_id>/done")
@staff_only
def gate_exit_done(booking_id):
    """Exit allowed: the final price and what was paid; open the barrier."""
    lot = booth_lot()
    booking = _stay(booking_id, lot)
    if booking.status != BookingStatus.COMPLETED:
        return redirect(url_for("check.gate_fee", booking_id=booking.id))
    return render_template(
        "check/exit_done.html",
        lot=lot,
        booking=booking,
        bill=gate.fee(booking),
        quote=lifecycle.final_quote(booking),
    )

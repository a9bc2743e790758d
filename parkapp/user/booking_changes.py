"""Driver pages for one booking's times and pass: change, one-click extend, calendar, QR code."""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user
from flask_wtf import FlaskForm

from parkapp.booking import changes, lifecycle, passes, queries
from parkapp.core.exceptions import DomainError, NotFound
from parkapp.core.money import money
from parkapp.core.timezones import lot_zone
from parkapp.models import BookingStatus, utcnow
from parkapp.user.blueprint import bp
from parkapp.user.charging import charger_context
from parkapp.web.fields import attach_errors, local_field, to_utc

FIELD_NAMES = {"starts_at": "starts", "ends_at": "ends"}


class ChangeForm(FlaskForm):
    """New local times for a booking, read in its lot's time zone."""

    starts = local_field("From")
    ends = local_field("Until")

    def times(self, booking):
        """(starts_at, ends_at) in UTC, None for a field left as it was; False on errors."""
        zone = lot_zone(booking.lot)
        values = []
        for field in (self.starts, self.ends):
            if field.data is None:
                values.append(None)
                continue
            value = to_utc(field.data, zone)
            if value is None:
                field.errors = [*field.errors, "The clocks change at that time; pick another."]
                return False
            values.append(value)
        if values == [None, None]:
            self.ends.errors = [*self.ends.errors, "Give a new end time."]
            return False
        return tuple(values)


def change_form(booking, formdata=None):
    """The change form, filled with the booking's current local times."""
    zone = lot_zone(booking.lot)
    form = ChangeForm(formdata=formdata)
    if formdata is None:
        form.starts.data = booking.starts_at.astimezone(zone).replace(tzinfo=None, second=0)
        if booking.ends_at is not None:
            form.ends.data = booking.ends_at.astimezone(zone).replace(tzinfo=None, second=0)
    return form


def render_detail(booking, form=None, status=200):
    """The booking page with its change form and one-click extensions."""
    now = utcnow()
    changeable = booking.status == BookingStatus.RESERVED or (
        booking.status == BookingStatus.ACTIVE and booking.booked_ends_at is not None
    )
    return render_template(
        "user/booking_detail.html",
        booking=booking,
        quote=lifecycle.final_quote(booking),
        change_form=(form or change_form(booking)) if changeable else None,
        extend_steps=changes.EXTEND_STEPS if changes.can_extend(booking, now) else (),
        ends_soon=changes.ends_soon(booking, now),
        **charger_context(booking),
    ), status


@bp.post("/bookings/<int:booking_id>/change")
@auth_required("session")
def change_booking(booking_id):
    """Move a reservation or the end of a stay; errors show next to the fields."""
    booking = _own(booking_id)
    form = change_form(booking, request.form)
    if not form.validate_on_submit():
        return render_detail(booking, form, 422)
    times = form.times(booking)
    if times is False:
        return render_detail(booking, form, 422)
    starts_at, ends_at = (
        None if _same_minute(new, old) else new
        for new, old in zip(times, (booking.starts_at, booking.ends_at), strict=True)
    )
    if booking.status != BookingStatus.RESERVED:
        starts_at = None  # an active stay's start is shown, not sent
    if starts_at is None and ends_at is None:
        flash("Nothing to change: the times are the same.", "info")
        return redirect(url_for("user.booking_detail", booking_id=booking.id))
    try:
        change = changes.change_times(booking, current_user, starts_at, ends_at)
    except DomainError as exc:
        if not attach_errors(form, exc.errors, FIELD_NAMES):
            flash(exc.message, "error")
        return render_detail(booking, form, exc.status)
    flash(_changed_words(change), "success")
    return redirect(url_for("user.booking_detail", booking_id=booking.id))


@bp.post("/bookings/<int:booking_id>/extend")
@auth_required("session")
def extend_booking(booking_id):
    """One click: add 30 minutes or an hour to the booking's end."""
    booking = _own(booking_id)
    try:
        minutes = int(request.form.get("minutes", ""))
        change = changes.extend(booking, current_user, minutes)
    except ValueError:
        flash("Choose how long to extend by.", "error")
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_changed_words(change), "success")
    return redirect(url_for("user.booking_detail", booking_id=booking.id))


@bp.get("/bookings/<int:booking_id>/calendar.ics")
@auth_required("session")
def booking_calendar(booking_id):
    """The booking as a calendar file."""
    booking = _own(booking_id)
    return Response(
        passes.calendar_ics(booking),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="booking-{booking.confirmation_code}.ics"'
        },
    )


@bp.get("/bookings/<int:booking_id>/qr.svg")
@auth_required("session")
def booking_qr(booking_id):
    """The confirmation code as a QR code to show at the gate."""
    return Response(passes.qr_svg(_own(booking_id)), mimetype="image/svg+xml")


def _same_minute(new, old):
    """The form shows times to the minute: an untouched field is no change."""
    return new is None or (old is not None and new == old.replace(second=0, microsecond=0))


def _own(booking_id):
    """The driver's own booking; anyone else's is 404 here (staff use their own pages)."""
    booking = queries.get_booking(booking_id, current_user)
    if not booking.is_owner(current_user):
        raise NotFound("No such booking.")
    return booking


def _changed_words(change):
    """What the change did, with the money: "Until 14:30. 2.00 GBP more to pay."."""
    booking = change.booking
    words = "Booking changed."
    if change.moved_spot:
        words += f" Your spot is now {booking.spot.label}."
    diff = change.difference_cents
    if diff > 0:
        words += f" {money(diff, booking.currency)} more to pay."
    elif change.refunded_cents:
        words += f" Refunded {money(change.refunded_cents, booking.currency)}."
    elif diff < 0:
        words += f" The price is {money(-diff, booking.currency)} lower."
    return words

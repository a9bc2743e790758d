"""A booking's life after it is made: check in, release, cancel, and its final price."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from parkapp.billing import bills as billing
from parkapp.billing import discounts, refunds, validated
from parkapp.booking import queries
from parkapp.booking.claims import PLATE_CONSTRAINTS, check_plate_free
from parkapp.core import hooks
from parkapp.core.exceptions import (
    NotFound,
    SpotUnavailable,
    VehicleBusy,
    WrongState,
)
from parkapp.dbsetup import write_transaction
from parkapp.lots import availability, hours
from parkapp.models import (
    Booking,
    BookingStatus,
    utcnow,
)


def check_in_opens_at(booking):
    """When a reservation may be checked in: CHECK_IN_EARLY_MINUTES before its start."""
    return booking.starts_at - timedelta(minutes=current_app.config["CHECK_IN_EARLY_MINUTES"])


def check_in_open(booking, now=None):
    """Whether a reservation can be checked in now (not too early, not over)."""
    now = now or utcnow()
    return (
        booking.status == BookingStatus.RESERVED
        and check_in_opens_at(booking) <= now
        and (booking.ends_at is None or now < booking.ends_at)
    )


def check_in(booking, user, stamp=None):
    """Reserved -> active, from a little before the start until the end.

    A waitlist offer's hold is checked in by accepting the offer: an open stay from now.
    `stamp`: attributes set in the same transaction (the gate's ticket and entry gate).
    """
    if not booking.can_check_in(user):
        raise NotFound("No such booking.")
    stay = hooks.first_answer(hooks.hold_check_in, booking=booking, stamp=stamp)
    if stay is not None:
        return stay
    now = utcnow()
    with write_transaction() as session:
        session.refresh(booking, with_for_update=True)
        if booking.status != BookingStatus.RESERVED:
            raise WrongState(
                f"This booking is {booking.status.value}; only a reservation can be checked in."
            )
        if now < check_in_opens_at(booking):
            early = current_app.config["CHECK_IN_EARLY_MINUTES"]
            raise WrongState(
                f"Check-in opens {early} minutes before the start.",
                code="too_early",
            )
        if booking.ends_at is not None and now >= booking.ends_at:
            raise WrongState("This reservation has already ended.", code="reservation_over")
        start = min(now, booking.starts_at)
        check_plate_free(booking.plate, start, booking.ends_at, BookingStatus.ACTIVE, booking.id)
        if now < booking.starts_at:
            _move_start(session, booking, now)
        booking.status = BookingStatus.ACTIVE
        booking.checked_in_at = now
        _apply(booking, stamp)
    return booking


def _apply(booking, stamp):
    for name, value in (stamp or {}).items():
        setattr(booking, name, value)


def _move_start(session, booking, now):
    """An early check-in claims the spot from now, if neither spot nor vehicle is held until then."""
    others = (Booking.id != booking.id, availability.overlaps(now, booking.starts_at))
    if session.scalar(
        select(Booking.id).where(Booking.spot_id == booking.spot_id, *others).limit(1)
    ):
        raise SpotUnavailable("Your spot is still taken until your reservation starts.")
    booking.starts_at = now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint in PLATE_CONSTRAINTS:
            raise VehicleBusy(
                f"Vehicle {booking.plate} still has a booking until your reservation starts."
            ) from None
        raise SpotUnavailable("Your spot is still taken until your reservation starts.") from None


def release(booking, user, stamp=None):
    """Active -> completed: end the stay now, free the spot, and fix the final price.

    `stamp`: attributes set in the same transaction (the gate's exit gate).
    """
    if not booking.can_release(user):
        raise NotFound("No such booking.")
    (booking_id,) = inspect(booking).identity
    return release_by_id(booking_id, user, stamp)


def release_by_id(booking_id, user, stamp=None):
    """`release` of the booking with this id, read once, locked, with what its bill needs."""
    now = utcnow()
    with write_transaction(keep_loaded=True) as session:
        booking = queries.locked_for_update(booking_id)
        if booking is None or not booking.can_release(user):
            raise NotFound("No such booking.")
        if not user.is_operator and booking.status == BookingStatus.ACTIVE:
            # After closing the barrier opens only at the booth: staff release, drivers cannot.
            hours.check_self_exit(booking.lot, now)
        if booking.status in (
            BookingStatus.COMPLETED,
            BookingStatus.CANCELLED,
            BookingStatus.NO_SHOW,
        ):
            raise WrongState(
                f"This booking is already {booking.status.value}.", code="already_released"
            )
        if booking.status != BookingStatus.ACTIVE:
            raise WrongState("Check in before releasing this reservation.", code="not_checked_in")
        booking.status = BookingStatus.COMPLETED
        booking.released_at = now
        if booking.ends_at is None or now < booking.ends_at:
            # Never a second later than now: the spot is free from now, for the next stay.
            booking.ends_at = max(now, booking.starts_at + timedelta(microseconds=1))
        with session.no_autoflush:  # one UPDATE with the status, not a flush before pricing
            validated.fit_to_cap(booking)  # a merchant's cap left by its other validations
            released_bill = billing.bill(booking, now)
            booking.released_quote = released_bill.quote
            validated.note(booking, released_bill)  # what a merchant's validation gave
        booking.price_cents = booking.released_quote.total_cents
        _apply(booking, stamp)
        held = (booking.id, booking.lot_id, booking.spot_id)
    hooks.spots_freed.send(None, freed=[held])  # after commit: the waitlist may offer it
    return booking


def cancel(booking, user):
    """Reserved -> cancelled, freeing the spot; paid money back by the lot's refund policy."""
    if not booking.can_cancel(user):
        raise NotFound("No such booking.")
    with write_transaction() as session:
        session.refresh(booking, with_for_update=True)
        if booking.status != BookingStatus.RESERVED:
            raise WrongState(
                f"This booking is {booking.status.value}; only an upcoming reservation "
                "can be cancelled."
            )
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = utcnow()
        refunds.settle_cancelled(session, booking, booking.cancelled_at)
        discounts.release(session, booking)  # the code's use is given back
        held = (booking.id, booking.lot_id, booking.spot_id)
    hooks.spots_freed.send(None, freed=[held])
    hooks.booking_mail.send(None, event="cancelled", booking_id=booking.id, ref="")
    return booking


def final_quote(booking):
    """The itemised price of a booking: final once released, else as booked."""
    if booking.released_at is not None:
        if booking.released_quote is not None:  # priced by release in this request
            return booking.released_quote
        return billing.price(booking, billing.billed_until(booking, booking.released_at))
    if booking.booked_quote is not None:  # priced when booked, if the stay is as it was then
        quote, stay = booking.booked_quote
        if stay == (booking.starts_at, booking.booked_ends_at, booking.spot_id):
            return quote
    return billing.price(booking, booking.booked_ends_at)

"""The gate: vehicles enter by plate and leave by ticket or plate, paying on the way out.

An entry is an ordinary booking (source gate, no user) with a ticket number, placed on a
spot that fits the vehicle with the same "any free spot" machinery as bookings, so the
database constraints that keep spots from being double-booked cover it too. A vehicle
with a reservation for now (or a waitlist offer standing for it) is checked in to it
instead. A stay leaves only when nothing is due on it.
"""

import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from parkapp.accounts.vehicles import normalise_plate, parse_vehicle_type
from parkapp.billing import bills as billing
from parkapp.billing import payments
from parkapp.booking import claims, lifecycle
from parkapp.core import codes
from parkapp.core.exceptions import Conflict, Invalid, LotFull, NotFound, WrongState
from parkapp.core.money import money
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.lots import availability, lots
from parkapp.memberships import usage as membership_usage
from parkapp.models import (
    Booking,
    BookingSource,
    BookingStatus,
    Vehicle,
    VehicleType,
    utcnow,
)
from parkapp.pricing import demand
from parkapp.waitlist import queue as waitlist

TICKET_PREFIX = "T-"
TICKET_LENGTH = 12  # 12 symbols of a 32-letter alphabet: 60 bits
TICKET = re.compile(rf"^{TICKET_PREFIX}[{codes.CODE_ALPHABET}]{{{TICKET_LENGTH}}}$")
GATE_NAME_MAX = 60


class PaymentRequired(Conflict):
    """The stay owes money: no exit until it is paid."""

    code = "payment_required"


def new_ticket():
    """An unguessable ticket number people can read out: T-7KQ2MX4PZ9HD."""
    body = "".join(secrets.choice(codes.CODE_ALPHABET) for _ in range(TICKET_LENGTH))
    return TICKET_PREFIX + body


def normalise_ticket(raw):
    """A ticket number as stored (case, spaces, dashes and the prefix optional), or None."""
    text = (raw or "").strip().upper()
    prefixed = text.startswith(TICKET_PREFIX)
    body = re.sub(r"[^0-9A-Z]", "", text[len(TICKET_PREFIX) :] if prefixed else text)
    if not prefixed and len(body) == TICKET_LENGTH + 1 and body.startswith(TICKET_PREFIX[0]):
        body = body[1:]  # typed without the dash
    number = TICKET_PREFIX + body
    return number if TICKET.match(number) else None


def looks_like_ticket(raw):
    """True for what can only be a ticket (longer than any plate), e.g. typed at the booth."""
    return normalise_ticket(raw) is not None


def clean_gate(name):
    """A gate's name as given (None when blank); 422 when too long."""
    name = (name or "").strip()
    if len(name) > GATE_NAME_MAX or not name.isprintable():
        raise Invalid("gate", f"A gate name is at most {GATE_NAME_MAX} printable characters.")
    return name or None


# --- entry ------------------------------------------------------------------------------


def vehicle_details(plate, vehicle_type=None, is_ev=None, accessible=None):
    """(type, is_ev, accessible): what the operator said, else the registered vehicle's.

    A registered vehicle counts only when exactly one account has this plate; what is
    still unknown defaults to a car without a charger need or a disabled parking permit.
    """
    vehicle_type = parse_vehicle_type(vehicle_type) if vehicle_type else None
    if None in (vehicle_type, is_ev, accessible):
        known = db.session.scalars(select(Vehicle).filter_by(plate=plate).limit(2)).all()
        if len(known) == 1:
            vehicle_type = vehicle_type or known[0].vehicle_type
            is_ev = known[0].is_ev if is_ev is None else is_ev
            accessible = known[0].accessible if accessible is None else accessible
    return vehicle_type or VehicleType.CAR, bool(is_ev), bool(accessible)


def enter(
    lot_id,
    plate,
    *,
    vehicle_type=None,
    is_ev=None,
    accessible=None,
    gate=None,
    operator,
    now=None,
):
    """Let a vehicle in: (booking with its ticket and spot, whether a reservation was used).

    409 when the vehicle is inside already, LotFull (409) when no free spot fits it.
    """
    lot = lots.get_lot(lot_id)
    plate = normalise_plate(plate, field="license_plate")
    gate = clean_gate(gate)
    details = vehicle_details(plate, vehicle_type, is_ev, accessible)
    now = now or utcnow()
    _refuse_if_inside(plate)
    reservation = reservation_for_now(lot, plate, now)
    if reservation is not None:
        return _check_in(reservation, operator, gate), True
    if not lots.is_open_at(lot, now):
        raise WrongState(f"{lot.name} is closed now.", code="lot_closed")
    return _admit(lot, plate, details, gate, now), False


def _refuse_if_inside(plate):
    inside = db.session.scalar(
        select(Booking).filter_by(plate=plate, status=BookingStatus.ACTIVE).limit(1)
    )
    if inside is not None:
        where = f"ticket {inside.ticket_number}" if inside.ticket_number else "a stay"
        raise Conflict(
            f"Vehicle {plate} is already inside {inside.lot.name} ({where}, "
            f"spot {inside.spot.label}): let it out first.",
            code="already_inside",
            errors={"license_plate": ["Already inside."]},
        )


def reservation_for_now(lot, plate, now):
    """The vehicle's reservation at this lot that may be checked in now, or None."""
    early = timedelta(minutes=current_app.config["CHECK_IN_EARLY_MINUTES"])
    return db.session.scalar(
        select(Booking)
        .where(
            Booking.lot_id == lot.id,
            Booking.plate == plate,
            Booking.status == BookingStatus.RESERVED,
            Booking.starts_at <= now + early,
            Booking.ends_at > now,
        )
        .order_by(Booking.starts_at)
        .limit(1)
    )


def _check_in(reservation, operator, gate):
    """Check a reservation (or a waitlist offer's hold) in and give it a ticket."""
    stamp = {"ticket_number": reservation.ticket_number or new_ticket(), "entry_gate": gate}
    return lifecycle.check_in(reservation, operator, stamp)


def _admit(lot, plate, details, gate, now):
    vehicle_type, is_ev, accessible = details
    kinds = availability.fitting_kinds(vehicle_type, is_ev, accessible)
    with write_transaction() as session:
        claims.check_plate_free(plate, now, None, BookingStatus.ACTIVE)
        adjust = demand.adjustment(lot, now)  # kept for the stay, as for a booking
        booking = Booking(
            lot_id=lot.id,
            user_id=None,
            plate=plate,
            vehicle_type=vehicle_type,
            source=BookingSource.GATE,
            status=BookingStatus.ACTIVE,
            starts_at=now,
            checked_in_at=now,
            confirmation_code=codes.new_code(),
            ticket_number=new_ticket(),
            currency=lot.currency,
            entry_gate=gate,
            demand_percent=adjust.percent if adjust else None,
            demand_occupancy_percent=adjust.occupancy_percent if adjust else None,
        )
        membership, vehicle = membership_usage.membership_for_plate(lot, plate, now)
        if membership is not None:  # a member's car: the stay is theirs, priced by the plan
            booking.membership_id, booking.user_id = membership.id, membership.user_id
            booking.vehicle_id = vehicle.id
        try:
            claims.insert_on_any_spot(session, booking, lot, kinds, now, None)
        except LotFull:
            raise LotFull(
                f"{lot.name} is full: no free spot fits this {_describe(details)}. "
                "Offer the driver a place on the waitlist.",
                errors={"lot_id": ["No free spot fits this vehicle."]},
            ) from None
        # The first unit, priced like every bill: with its demand step and membership.
        booking.quoted_cents = billing.price(booking, None).total_cents
    return booking


def _describe(details):
    vehicle_type, is_ev, accessible = details
    words = [w for w, on in (("electric", is_ev), ("permit-holding", accessible)) if on]
    return " ".join([*words, vehicle_type.value])


def join_waitlist(lot_id, plate, vehicle_type=None, is_ev=None, accessible=None):
    """Queue a vehicle at the gate of a full lot: (entry, position)."""
    plate = normalise_plate(plate, field="license_plate")
    vehicle_type, is_ev, accessible = vehicle_details(plate, vehicle_type, is_ev, accessible)
    entry = waitlist.join(
        None, lot_id, plate, vehicle_type=vehicle_type, is_ev=is_ev, accessible=accessible
    )
    return entry, waitlist.position(entry)


# --- exit -------------------------------------------------------------------------------


def find_inside(lot_id=None, ticket=None, plate=None):
    """The active stay with this ticket or plate (at this lot when given), or NotFound."""
    if (ticket is None) == (plate is None):
        raise Invalid("ticket_number", "Give either a ticket number or a licence plate.")
    lot = lots.get_lot(lot_id, include_inactive=True) if lot_id is not None else None
    if ticket is not None:
        number = normalise_ticket(ticket)
        shown = number or re.sub(r"[^0-9A-Za-z-]", "", ticket or "")[:20]
        field, what, condition = "ticket_number", f"ticket {shown}", Booking.ticket_number == number
    else:
        plate = normalise_plate(plate, field="license_plate")
        field, what, condition = "license_plate", f"plate {plate}", Booking.plate == plate
    query = select(Booking).where(condition, Booking.status == BookingStatus.ACTIVE)
    if lot is not None:
        query = query.where(Booking.lot_id == lot.id)
    booking = db.session.scalar(query.limit(1)) if ticket is None or number else None
    if booking is None:
        where = f" {lot.name}" if lot else ""
        raise NotFound(
            f"No vehicle inside{where} with {what}.",
            errors={field: [f"No vehicle inside with {what}."]},
        )
    return booking


def fee(booking, now=None):
    """What the stay costs as of now: billing's Bill (quote lines, paid, due, exit_by)."""
    return billing.bill(booking, now or utcnow())


def leave(booking, *, operator, gate=None, now=None):
    """Let a stay out: 409 PaymentRequired while anything is due, else release it."""
    gate = clean_gate(gate)
    bill = fee(booking, now)
    if bill.due_cents > 0:
        due = money(bill.due_cents, bill.currency)
        raise PaymentRequired(
            f"{due} is due: take payment before the exit.",
            errors={"amount_cents": [f"{due} ({bill.due_cents} cents) is due."]},
        )
    return lifecycle.release(booking, operator, {"exit_gate": gate})


def pay_and_leave(booking, *, method, amount_cents, idempotency_key, operator, gate=None):
    """Take the amount due and let the stay out: (payment, booking).

    A repeat with the same idempotency key (a double submit) takes nothing more and
    answers as the first did.
    """
    payment = payments.pay(
        booking,
        method=method,
        amount_cents=amount_cents,
        idempotency_key=idempotency_key,
        operator=operator,
    )
    db.session.refresh(booking)
    if booking.status == BookingStatus.COMPLETED:
        return payment, booking
    return payment, leave(booking, operator=operator, gate=gate)


def inside_count(lot_id):
    """How many vehicles are inside a lot now."""
    return db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.lot_id == lot_id, Booking.status == BookingStatus.ACTIVE
        )
    )


def kinds_by_vehicle_type():
    """[(vehicle type, spot kinds it fits best first, as an EV, with a permit)]."""
    return [
        (
            vt,
            availability.fitting_kinds(vt, False, False),
            availability.fitting_kinds(vt, True, False),
            availability.fitting_kinds(vt, False, True),
        )
        for vt in VehicleType
    ]

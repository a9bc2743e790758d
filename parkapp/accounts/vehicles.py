"""Drivers' vehicles and the licence-plate rule."""

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parkapp.core.exceptions import Conflict, Invalid, NotFound
from parkapp.extensions import db
from parkapp.models import (
    Membership,
    MembershipPlan,
    MembershipVehicle,
    Vehicle,
    VehicleType,
    utcnow,
)
from parkapp.models.memberships import HELD

PLATE = re.compile(r"^[A-Z0-9]{2,10}$")
SEPARATORS = re.compile(r"[\s\-·.]+")


def normalise_plate(raw, field="plate"):
    """Upper-case a plate and drop spaces, dashes and dots; 422 if what is left is not a plate."""
    plate = SEPARATORS.sub("", (raw or "")).upper()
    if not PLATE.match(plate):
        raise Invalid(
            field, "A plate is 2 to 10 letters or digits (spaces and dashes are ignored)."
        )
    return plate


def parse_vehicle_type(value, field="vehicle_type"):
    """A VehicleType from its name; 422 otherwise."""
    try:
        return VehicleType(value)
    except ValueError:
        names = ", ".join(t.value for t in VehicleType)
        raise Invalid(field, f"Vehicle type must be one of: {names}.") from None


def _clean_text(field, value, limit):
    value = (value or "").strip()
    if len(value) > limit:
        raise Invalid(field, f"At most {limit} characters.")
    return value


def add_vehicle(user, plate, vehicle_type="car", make="", model="", colour="", is_ev=False):
    """Add a vehicle to a driver's account; 409 if they already have that plate."""
    vehicle = Vehicle(
        user_id=user.id,
        plate=normalise_plate(plate),
        vehicle_type=parse_vehicle_type(vehicle_type),
        make=_clean_text("make", make, 60),
        model=_clean_text("model", model, 60),
        colour=_clean_text("colour", colour, 30),
        is_ev=bool(is_ev),
    )
    db.session.add(vehicle)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            f"You already have a vehicle with plate {vehicle.plate}.",
            code="plate_taken",
            errors={"plate": ["Already on your account."]},
        ) from None
    return vehicle


def update_vehicle(vehicle, **changes):
    """Change a vehicle's details (not its plate)."""
    if "vehicle_type" in changes:
        vehicle.vehicle_type = parse_vehicle_type(changes["vehicle_type"])
    for field, limit in (("make", 60), ("model", 60), ("colour", 30)):
        if field in changes:
            setattr(vehicle, field, _clean_text(field, changes[field], limit))
    if "is_ev" in changes:
        vehicle.is_ev = bool(changes["is_ev"])
    db.session.commit()
    return vehicle


def delete_vehicle(vehicle):
    """Remove a vehicle from the account; its past bookings keep the plate.

    409 `only_member_vehicle` when it is the one vehicle a membership still in force (or
    awaiting payment) covers: the driver adds another vehicle to it first.
    """
    held = _only_vehicle_of(vehicle)
    if held is not None:
        raise Conflict(
            f"{vehicle.plate} is the only vehicle your {held} membership covers: add another "
            "vehicle to it first.",
            code="only_member_vehicle",
        )
    db.session.delete(vehicle)
    db.session.commit()


def _only_vehicle_of(vehicle):
    """The plan name of a membership in force that covers this vehicle alone, or None."""
    covered = select(MembershipVehicle.membership_id).where(
        MembershipVehicle.vehicle_id == vehicle.id
    )
    others = (
        select(MembershipVehicle.id)
        .where(
            MembershipVehicle.membership_id == Membership.id,
            MembershipVehicle.vehicle_id != vehicle.id,
        )
        .exists()
    )
    return db.session.scalar(
        select(MembershipPlan.name)
        .join(Membership, Membership.plan_id == MembershipPlan.id)
        .where(
            Membership.id.in_(covered),
            Membership.status.in_(HELD),
            Membership.in_force_until > utcnow(),
            ~others,
        )
        .limit(1)
    )


def get_own_vehicle(user, vehicle_id):
    """One of the user's vehicles, or NotFound (also for another user's vehicle)."""
    vehicle = db.session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.user_id != user.id:
        raise NotFound("No such vehicle.")
    return vehicle


def vehicle_for_plate(user, plate):
    """The user's vehicle with this (normalised) plate, added as a car when new; not committed."""
    vehicle = db.session.scalar(select(Vehicle).filter_by(user_id=user.id, plate=plate))
    if vehicle is not None:
        return vehicle
    vehicle = Vehicle(user_id=user.id, plate=plate, vehicle_type=VehicleType.CAR)
    try:
        with db.session.begin_nested():
            db.session.add(vehicle)
    except IntegrityError:
        # A concurrent request of the same user added this plate and has committed by now
        # (PostgreSQL reports the duplicate only then), so read theirs instead of failing.
        vehicle = db.session.scalar(select(Vehicle).filter_by(user_id=user.id, plate=plate))
        if vehicle is None:
            raise Conflict("This vehicle changed meanwhile; please try again.") from None
    return vehicle

"""/vehicles: a driver's own vehicles; another user's vehicle is a 404."""

from flask_jwt_extended import current_user, jwt_required
from flask_restx import Namespace, fields
from sqlalchemy import select

from parkapp.accounts import vehicles
from parkapp.api.common import (
    ID,
    NO_NUL,
    Resource,
    error_model,
    iso,
    json_body,
    page_model,
    paginate,
    query_params,
)
from parkapp.models import Vehicle, VehicleType

ns = Namespace("vehicles", description="Your vehicles", path="/")
error = error_model(ns)
TYPES = [kind.value for kind in VehicleType]

vehicle_out = ns.model(
    "Vehicle",
    {
        "id": fields.Integer,
        "plate": fields.String(example="AB12CDE"),
        "vehicle_type": fields.String(enum=TYPES),
        "make": fields.String,
        "model": fields.String,
        "colour": fields.String,
        "is_ev": fields.Boolean,
        "created_at": fields.DateTime,
    },
)
vehicle_page = page_model(ns, "VehiclePage", vehicle_out)
_details = {
    "vehicle_type": fields.String(enum=TYPES, example="car"),
    "make": fields.String(max_length=60, pattern=NO_NUL, example="Volvo"),
    "model": fields.String(max_length=60, pattern=NO_NUL, example="V60"),
    "colour": fields.String(max_length=30, pattern=NO_NUL, example="blue"),
    "is_ev": fields.Boolean(example=False),
}
vehicle_in = ns.model(
    "VehicleCreate",
    {
        "plate": fields.String(
            required=True,
            max_length=32,
            pattern=NO_NUL,
            example="ab-12 cde",
            description="normalised: upper case, no spaces, dashes or dots",
        ),
        **_details,
    },
    strict=True,
)
vehicle_changes_in = ns.model("VehicleChanges", _details, strict=True)


def vehicle_dict(vehicle):
    """A vehicle as the API shows it."""
    return {
        "id": vehicle.id,
        "plate": vehicle.plate,
        "vehicle_type": vehicle.vehicle_type.value,
        "make": vehicle.make,
        "model": vehicle.model,
        "colour": vehicle.colour,
        "is_ev": vehicle.is_ev,
        "created_at": iso(vehicle.created_at),
    }


@ns.route("/vehicles")
class VehicleList(Resource):
    @ns.doc(
        params=query_params(page=("integer", "page number"), per_page=("integer", "items per page"))
    )
    @ns.response(200, "Your vehicles by plate", vehicle_page)
    @ns.response(401, "No valid token", error)
    @jwt_required()
    def get(self):
        """Your vehicles, by plate."""
        own = select(Vehicle).where(Vehicle.user_id == current_user.id).order_by(Vehicle.plate)
        return paginate(own, vehicle_dict)

    @ns.expect(vehicle_in, validate=True)
    @ns.response(201, "Added", vehicle_out)
    @ns.response(401, "No valid token", error)
    @ns.response(409, "You already have this plate", error)
    @ns.response(422, "Invalid field", error)
    @jwt_required()
    def post(self):
        """Add a vehicle to your account."""
        data = json_body()
        vehicle = vehicles.add_vehicle(
            current_user,
            data["plate"],
            data.get("vehicle_type", "car"),
            data.get("make", ""),
            data.get("model", ""),
            data.get("colour", ""),
            data.get("is_ev", False),
        )
        return vehicle_dict(vehicle), 201


@ns.route(f"/vehicles/<{ID}:vehicle_id>")
@ns.param("vehicle_id", "The vehicle id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such vehicle of yours", error)
class VehicleItem(Resource):
    @ns.response(200, "The vehicle", vehicle_out)
    @jwt_required()
    def get(self, vehicle_id):
        """One of your vehicles."""
        return vehicle_dict(vehicles.get_own_vehicle(current_user, vehicle_id))

    @ns.expect(vehicle_changes_in, validate=True)
    @ns.response(200, "Updated", vehicle_out)
    @ns.response(422, "Invalid field (the plate cannot change)", error)
    @jwt_required()
    def patch(self, vehicle_id):
        """Change a vehicle's type, make, model, colour or EV flag."""
        vehicle = vehicles.get_own_vehicle(current_user, vehicle_id)
        return vehicle_dict(vehicles.update_vehicle(vehicle, **json_body()))

    @ns.response(204, "Removed")
    @ns.response(409, "The only vehicle a membership in force covers", error)
    @jwt_required()
    def delete(self, vehicle_id):
        """Remove a vehicle from your account (its past bookings keep the plate)."""
        vehicles.delete_vehicle(vehicles.get_own_vehicle(current_user, vehicle_id))
        return "", 204

"""/lots/{id}/waitlist and /waitlist/{id}: queue for a full lot, see the place, take an offer."""

from flask_jwt_extended import current_user, jwt_required
from flask_restx import Namespace, fields

from parkapp.api.booking.bookings import booking_dict, booking_out
from parkapp.api.common import ID, KINDS, NO_NUL, Resource, error_model, iso, json_body, nullable
from parkapp.api.lots.spots import spot_brief, spot_brief_out
from parkapp.models import WaitlistStatus
from parkapp.waitlist import queue as waitlist

ns = Namespace("waitlist", description="The FIFO waitlist of full lots", path="/")
error = error_model(ns)

join_in = ns.model(
    "WaitlistJoin",
    {
        "vehicle_plate": fields.String(
            required=True, max_length=32, pattern=NO_NUL, example="AB12 CDE"
        ),
        "spot_kind": nullable(
            fields.String(enum=KINDS, example="standard", description="omit or null: any kind")
        ),
    },
    strict=True,
)
position_out = ns.model(
    "WaitlistPosition",
    {
        "place": fields.Integer(example=3),
        "total": fields.Integer(example=7),
        "text": fields.String(example="3rd of 7"),
    },
)
offer_out = ns.model(
    "WaitlistOffer",
    {
        "spot": fields.Nested(spot_brief_out),
        "expires_at": fields.DateTime,
        "booking_id": fields.Integer(description="the hold; accept turns it into your stay"),
    },
)
entry_out = ns.model(
    "WaitlistEntry",
    {
        "id": fields.Integer,
        "lot_id": fields.Integer,
        "lot_name": fields.String,
        "vehicle_plate": fields.String(example="AB12CDE"),
        "spot_kind": fields.String(enum=KINDS, description="null: any kind"),
        "status": fields.String(enum=[s.value for s in WaitlistStatus]),
        "position": fields.Nested(
            position_out, allow_null=True, description="while waiting: your place in the queue"
        ),
        "offer": fields.Nested(
            offer_out, allow_null=True, description="while a spot is held for you"
        ),
        "created_at": fields.DateTime,
    },
)


def entry_dict(entry):
    """A waitlist entry as the API shows it."""
    position = waitlist.position(entry) if entry.status == WaitlistStatus.WAITING else None
    offer = None
    if entry.is_offered:
        offer = {
            "spot": spot_brief(entry.offered_spot),
            "expires_at": iso(entry.offer_expires_at),
            "booking_id": entry.booking_id,
        }
    return {
        "id": entry.id,
        "lot_id": entry.lot_id,
        "lot_name": entry.lot.name,
        "vehicle_plate": entry.plate,
        "spot_kind": entry.spot_kind.value if entry.spot_kind else None,
        "status": entry.status.value,
        "position": position and {**vars(position), "text": str(position)},
        "offer": offer,
        "created_at": iso(entry.created_at),
    }


@ns.route(f"/lots/<{ID}:lot_id>/waitlist")
@ns.param("lot_id", "The lot id")
@ns.response(401, "No valid token", error)
class LotWaitlist(Resource):
    @ns.response(200, "Your entry in this lot's queue", entry_out)
    @ns.response(404, "No such lot, or you are not queued there", error)
    @jwt_required()
    def get(self, lot_id):
        """Your place in this lot's queue, or the offer held for you."""
        return entry_dict(waitlist.queued_entry(current_user, lot_id))

    @ns.expect(join_in, validate=True)
    @ns.response(201, "Queued", entry_out)
    @ns.response(404, "No such lot", error)
    @ns.response(409, "Already queued here, or spots are free: book instead", error)
    @ns.response(422, "Invalid plate or spot kind", error)
    @jwt_required()
    def post(self, lot_id):
        """Join the queue of a lot with no free spot of the kind."""
        data = json_body()
        entry = waitlist.join(current_user, lot_id, data["vehicle_plate"], data.get("spot_kind"))
        return entry_dict(entry), 201

    @ns.response(204, "Left the queue; a spot held for you passes to the next in line")
    @ns.response(404, "No such lot, or you are not queued there", error)
    @jwt_required()
    def delete(self, lot_id):
        """Leave this lot's queue."""
        waitlist.leave(current_user, lot_id)
        return "", 204


@ns.route(f"/waitlist/<{ID}:entry_id>/accept")
@ns.param("entry_id", "The waitlist entry id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such entry of yours", error)
class OfferAccept(Resource):
    @ns.response(200, "Your stay on the held spot, active from now", booking_out)
    @ns.response(409, "No open offer (expired, declined) or the vehicle is parked", error)
    @jwt_required()
    def post(self, entry_id):
        """Accept an offer: the held spot becomes your park-now stay."""
        return booking_dict(waitlist.accept(entry_id, current_user))


@ns.route(f"/waitlist/<{ID}:entry_id>/decline")
@ns.param("entry_id", "The waitlist entry id")
@ns.response(401, "No valid token", error)
@ns.response(404, "No such entry of yours", error)
class OfferDecline(Resource):
    @ns.response(200, "Declined: you left the queue", entry_out)
    @ns.response(409, "No open offer", error)
    @jwt_required()
    def post(self, entry_id):
        """Decline an offer: the spot passes to the next in line and you leave the queue."""
        return entry_dict(waitlist.decline(entry_id, current_user))

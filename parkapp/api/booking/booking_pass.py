"""/bookings/{id}/calendar.ics and /bookings/{id}/qr.svg: the booking's pass, for its owner."""

from flask import Response
from flask_jwt_extended import current_user, jwt_required

from parkapp.api.booking.bookings import error, ns
from parkapp.api.common import ID, Resource
from parkapp.booking import passes, queries
from parkapp.core.exceptions import NotFound


def own_booking(booking_id):
    """The caller's own booking; staff get 404 too (the pass is the driver's)."""
    booking = queries.get_booking(booking_id, current_user)
    if not booking.is_owner(current_user):
        raise NotFound("No such booking.")
    return booking


@ns.route(f"/bookings/<{ID}:booking_id>/calendar.ics")
@ns.param("booking_id", "The booking id")
class BookingCalendar(Resource):
    @ns.produces(["text/calendar"])
    @ns.response(200, "An iCalendar file with the booking's interval (UTC) at the lot's address")
    @ns.response(401, "No valid token", error)
    @ns.response(404, "No such booking of yours", error)
    @jwt_required()
    def get(self, booking_id):
        """The booking as a calendar event (owner)."""
        booking = own_booking(booking_id)
        return Response(
            passes.calendar_ics(booking),
            mimetype="text/calendar",
            headers={
                "Content-Disposition": f'attachment; filename="booking-{booking.confirmation_code}.ics"'
            },
        )


@ns.route(f"/bookings/<{ID}:booking_id>/qr.svg")
@ns.param("booking_id", "The booking id")
class BookingQr(Resource):
    @ns.produces(["image/svg+xml"])
    @ns.response(200, "The QR code of the confirmation code, to show at the gate")
    @ns.response(401, "No valid token", error)
    @ns.response(404, "No such booking of yours", error)
    @jwt_required()
    def get(self, booking_id):
        """The booking's confirmation code as a QR code (owner)."""
        return Response(passes.qr_svg(own_booking(booking_id)), mimetype="image/svg+xml")

"""Where Stripe Checkout returns a driver, for the booking page and the API alike."""

from flask import url_for


def checkout_return_urls(booking):
    """Where Stripe Checkout sends the driver back: after paying, and after giving up."""
    back = url_for("user.checkout_return", booking_id=booking.id, _external=True)
    return (
        back + "?session_id={CHECKOUT_SESSION_ID}",  # Stripe fills the session id in
        url_for("user.booking_detail", booking_id=booking.id, _external=True),
    )

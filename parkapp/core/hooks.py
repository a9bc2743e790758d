"""Hooks a lower domain fires and a higher one subscribes to, so imports point one way.

Each hook is a blinker signal. Booking fires `spots_freed` after a commit that stopped
bookings holding their spots; the waitlist subscribes and offers the spots. Booking asks
`hold_check_in` before checking a reservation in; the waitlist answers for the holds of its
offers. Subscribers connect in the app factory (`parkapp.register_hooks`).
"""

from blinker import Namespace

_hooks = Namespace()

spots_freed = _hooks.signal("spots-freed")
"""Sent after commit with `freed=[(booking_id, lot_id, spot_id), ...]`."""

hold_check_in = _hooks.signal("hold-check-in")
"""Sent with `booking` and `stamp`; a receiver returns the checked-in stay, or None."""

bulk_booking_change = _hooks.signal("bulk-booking-change")
"""Sent inside the transaction of a bulk UPDATE with `session` and `rows=[(lot_id, at)]`."""

export_queued = _hooks.signal("export-queued")
"""Sent with `job_id` after the job row committed; the task layer enqueues it and answers True."""

membership_term_due = _hooks.signal("membership-term-due")
"""Sent inside the transaction granting a membership term, with `session`, `membership`,
`purpose` ("subscribe", "renew", "auto_renew"), `key` and `now`; billing records the term's
payment and answers "paid" or "pending" (a Checkout to finish); no answer: no payment."""

membership_paid = _hooks.signal("membership-paid")
"""Sent after commit with `membership_id`: a term of that membership was paid (first term or
renewal, in test mode or by a completed Checkout); the task layer mails its receipt."""

booking_mail = _hooks.signal("booking-mail")
"""Sent after commit with `event`, `booking_id` and `ref` (what makes the mail unique):
a booking was confirmed, changed, cancelled, paid or refunded; the task layer mails it."""


def first_answer(signal, **kwargs):
    """The first receiver's answer that is not None, or None when nobody answered."""
    if not signal.receivers:
        return None
    for _receiver, answer in signal.send(None, **kwargs):
        if answer is not None:
            return answer
    return None


ROWS_ANNOUNCED = "rows_announced"
"""Execution option of a bulk statement whose rows are sent with `bulk_booking_change`."""

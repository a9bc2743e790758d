"""The waitlist's answers to booking's hooks: freed spots are offered, holds are checked in."""

from parkapp.core import hooks
from parkapp.waitlist import queue, upkeep


def subscribe():
    """Connect the waitlist to booking's hooks (once per process; connecting twice is a no-op)."""
    hooks.spots_freed.connect(_on_spots_freed, weak=False)
    hooks.hold_check_in.connect(_on_hold_check_in, weak=False)


def _on_spots_freed(_sender, freed):
    by_bulk = [(lot_id, spot_id) for booking_id, lot_id, spot_id in freed if booking_id is None]
    upkeep.spots_freed(by_bulk)
    for booking_id, lot_id, spot_id in freed:
        if booking_id is not None:
            queue.spot_freed(booking_id, lot_id, spot_id)


def _on_hold_check_in(_sender, booking, stamp):
    return queue.check_in_hold(booking, stamp)

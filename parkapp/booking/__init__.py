"""Bookings: making a claim on a spot, its life (check in, release, cancel), reading bookings,
and the beat's no-show expiry and reminders. Tells the waitlist through `core.hooks`."""

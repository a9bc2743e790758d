"""API namespaces for bookings and the waitlist."""

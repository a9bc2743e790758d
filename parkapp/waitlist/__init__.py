"""waitlist."""

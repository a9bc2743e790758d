"""memberships."""

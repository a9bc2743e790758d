"""API namespaces for people: tokens and the current user, vehicles, the staff audit log."""

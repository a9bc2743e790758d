"""API namespaces for places: lots, their spots, and their free counts pushed live."""

"""Lots and their spots, what is free when (the overlap rule), and live free counts."""

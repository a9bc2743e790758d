"""Memberships: plans, subscriptions with their vehicles, what a plan gives a stay, renewals."""

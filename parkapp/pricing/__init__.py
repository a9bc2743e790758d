"""Prices: rate tables, the one quote function with its Stay value object, and demand pricing."""

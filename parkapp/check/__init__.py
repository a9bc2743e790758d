"""The check blueprint (`views.bp`): the gate, the operator dashboard, the health endpoints."""

from parkapp.check import dashboard as _dashboard  # noqa: F401  (its routes register on views.bp)
from parkapp.check import ev as _ev  # noqa: F401  (its routes register on views.bp)

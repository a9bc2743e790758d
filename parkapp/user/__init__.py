"""Driver pages. Every module here adds its routes to `blueprint.bp`."""

from parkapp.user import (  # noqa: F401  (each module registers its routes on bp)
    booking_changes,
    charging,
    exports,
    home,
    live,
    memberships,
    payments,
    views,
    waitlist,
)
from parkapp.user.blueprint import bp

__all__ = ["bp"]

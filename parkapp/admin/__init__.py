"""Admin pages: lots, levels, zones, spots, rates, discounts, plans, merchants, users, reports.

Every module here adds its routes to `blueprint.bp`; importing the package registers them all.
"""

from parkapp.admin import (  # noqa: F401  (each module registers its routes on bp)
    analytics,
    audit,
    demand,
    discounts,
    ev,
    exports,
    memberships,
    merchants,
    rates,
    views,
)
from parkapp.admin.blueprint import bp

__all__ = ["bp"]

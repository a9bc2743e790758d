"""The REST API: one namespace per domain on one /api/v1 blueprint.

The namespaces live in subpackages named like the domain packages they expose; importing
this package registers every one of them on `api`.
"""

from parkapp.api.accounts import audit, auth, users, vehicles
from parkapp.api.billing import memberships, payments
from parkapp.api.booking import (
    booking_pass,  # noqa: F401  (its routes join the bookings namespace)
    bookings,
    waitlist,
)
from parkapp.api.lots import levels, live, lots, open_data, spots
from parkapp.api.merchants import merchants, validations
from parkapp.api.operations import ev, gate, gate_sessions
from parkapp.api.pricing import demand, discounts, rates
from parkapp.api.reports import exports, reports
from parkapp.api.restx import api, api_bp

for module in (
    auth,
    lots,
    live,
    spots,
    vehicles,
    bookings,
    reports,
    exports,
    waitlist,
    discounts,
    gate,
    gate_sessions,
    payments,
    rates,
    ev,
    demand,
    memberships,
    audit,
    open_data,
    users,
    levels,
    merchants,
    validations,
):
    api.add_namespace(module.ns)

__all__ = ["api", "api_bp"]

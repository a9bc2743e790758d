"""The gate (check vehicles in and out, take payment), its dashboard, the merchant counter
(validate parking), and /healthz, /readyz.

Every module here adds its routes to `blueprint.bp`.
"""

from parkapp.check import counter, dashboard, ev, inside, views  # noqa: F401  (each registers its routes on bp)
from parkapp.check.blueprint import bp

__all__ = ["bp"]

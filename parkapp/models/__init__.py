"""Every model, importable from one place (Alembic needs them all loaded)."""

from parkapp.models.bookings import HOLDING, Booking, BookingSource, BookingStatus
from parkapp.models.discounts import Discount, DiscountKind, DiscountRedemption
from parkapp.models.jobs import (
    ExportJob,
    JobKind,
    JobStatus,
    Notification,
    NotificationStatus,
    OutboxMail,
)
from parkapp.models.lots import Level, Lot, Spot, SpotKind, SpotStatus, Zone
from parkapp.models.payments import (
    GATE_METHODS,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
)
from parkapp.models.rates import ALL_WEEKDAYS, Rate, RateKind
from parkapp.models.types import utcnow
from parkapp.models.users import ADMIN, OPERATOR, ROLE_NAMES, USER, RevokedToken, Role, User
from parkapp.models.vehicles import Vehicle, VehicleType
from parkapp.models.waitlist import QUEUED, WaitlistEntry, WaitlistStatus

__all__ = [
    "ADMIN",
    "ALL_WEEKDAYS",
    "GATE_METHODS",
    "HOLDING",
    "OPERATOR",
    "QUEUED",
    "ROLE_NAMES",
    "USER",
    "Booking",
    "BookingSource",
    "BookingStatus",
    "Discount",
    "DiscountKind",
    "DiscountRedemption",
    "ExportJob",
    "JobKind",
    "JobStatus",
    "Level",
    "Lot",
    "Notification",
    "NotificationStatus",
    "OutboxMail",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Rate",
    "RateKind",
    "Refund",
    "RevokedToken",
    "Role",
    "Spot",
    "SpotKind",
    "SpotStatus",
    "User",
    "Vehicle",
    "VehicleType",
    "WaitlistEntry",
    "WaitlistStatus",
    "Zone",
    "utcnow",
]

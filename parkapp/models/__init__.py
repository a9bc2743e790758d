"""Every model, importable from one place (Alembic needs them all loaded)."""

from parkapp.models import analytics  # noqa: F401  (the rollup tables)
from parkapp.models.audit import AuditEvent
from parkapp.models.billing import (
    GATE_METHODS,
    Discount,
    DiscountKind,
    DiscountRedemption,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
)
from parkapp.models.bookings import HOLDING, Booking, BookingSource, BookingStatus
from parkapp.models.ev import (
    ChargerType,
    ChargingSession,
    ChargingStatus,
    Connector,
    EvStation,
    MeterReading,
    StationStatus,
)
from parkapp.models.jobs import (
    ExportJob,
    JobKind,
    JobStatus,
    Notification,
    NotificationStatus,
    OutboxMail,
)
from parkapp.models.lots import (
    AMENITY_BITS,
    Amenity,
    Level,
    Lot,
    Spot,
    SpotKind,
    SpotStatus,
    Zone,
    amenity_mask,
)
from parkapp.models.memberships import (
    Membership,
    MembershipPayment,
    MembershipPlan,
    MembershipStatus,
    MembershipVehicle,
    membership_plan_lots,
)
from parkapp.models.pricing import ALL_WEEKDAYS, DemandDirection, DemandStep, Rate, RateKind
from parkapp.models.types import utcnow
from parkapp.models.users import ADMIN, OPERATOR, ROLE_NAMES, USER, RevokedToken, Role, User
from parkapp.models.vehicles import Vehicle, VehicleType
from parkapp.models.waitlist import QUEUED, WaitlistEntry, WaitlistStatus

__all__ = [
    "ADMIN",
    "ALL_WEEKDAYS",
    "AMENITY_BITS",
    "GATE_METHODS",
    "HOLDING",
    "OPERATOR",
    "QUEUED",
    "ROLE_NAMES",
    "USER",
    "Amenity",
    "AuditEvent",
    "Booking",
    "BookingSource",
    "BookingStatus",
    "ChargerType",
    "ChargingSession",
    "ChargingStatus",
    "Connector",
    "DemandDirection",
    "DemandStep",
    "Discount",
    "DiscountKind",
    "DiscountRedemption",
    "EvStation",
    "ExportJob",
    "JobKind",
    "JobStatus",
    "Level",
    "Lot",
    "Membership",
    "MembershipPayment",
    "MembershipPlan",
    "MembershipStatus",
    "MembershipVehicle",
    "MeterReading",
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
    "StationStatus",
    "User",
    "Vehicle",
    "VehicleType",
    "WaitlistEntry",
    "WaitlistStatus",
    "Zone",
    "amenity_mask",
    "membership_plan_lots",
    "utcnow",
]

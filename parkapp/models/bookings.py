"""Bookings: one vehicle's claim on one spot over a half-open interval."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.accounts import VehicleType
from parkapp.models.types import UTCDateTime, enum_column, utcnow


class BookingStatus(StrEnum):
    RESERVED = "reserved"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class BookingSource(StrEnum):
    WEB = "web"
    API = "api"
    GATE = "gate"


HOLDING = (BookingStatus.RESERVED, BookingStatus.ACTIVE)  # statuses that claim a spot


class Booking(db.Model):
    """A reservation, a park-now stay or a gate entry.

    `[starts_at, ends_at)` is the claim on the spot; `ends_at` is NULL while a park-now
    stay is open. `booked_ends_at` keeps the end the driver reserved, for pricing.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="interval_ordered"),
        Index("ix_bookings_spot_status", "spot_id", "status"),
        Index("ix_bookings_user_starts", "user_id", "starts_at"),
        Index("ix_bookings_lot_status", "lot_id", "status"),
        Index("ix_bookings_plate_status", "plate", "status"),
        # The operator dashboard counts today's entries and exits per lot.
        Index("ix_bookings_lot_checked_in", "lot_id", "checked_in_at"),
        Index("ix_bookings_lot_released", "lot_id", "released_at"),
        # The analytics charts read ranges of days (bench/analytics.py, docs/performance.md).
        Index(
            "ix_bookings_starts_cover",
            "starts_at",
            postgresql_include=["lot_id", "status", "ends_at", "checked_in_at"],
        ),
        Index(
            "ix_bookings_lot_starts",
            "lot_id",
            "starts_at",
            postgresql_include=["status", "ends_at", "checked_in_at"],
        ),
        Index("ix_bookings_ends_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"))
    spot_id: Mapped[int] = mapped_column(ForeignKey("spots.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id", ondelete="SET NULL"))
    plate: Mapped[str] = mapped_column(String(16))
    # Priced and placed by type; kept here because a gate entry may have no Vehicle row.
    vehicle_type: Mapped[VehicleType | None] = mapped_column(
        enum_column(VehicleType), nullable=True
    )
    source: Mapped[BookingSource] = mapped_column(
        enum_column(BookingSource), default=BookingSource.WEB
    )
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus))
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=True)
    booked_ends_at = mapped_column(UTCDateTime, nullable=True)
    checked_in_at = mapped_column(UTCDateTime, nullable=True)
    released_at = mapped_column(UTCDateTime, nullable=True)
    cancelled_at = mapped_column(UTCDateTime, nullable=True)
    confirmation_code: Mapped[str] = mapped_column(String(16), unique=True)
    ticket_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    quoted_cents: Mapped[int | None] = mapped_column(Integer)
    price_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    discount_id: Mapped[int | None] = mapped_column(ForeignKey("discounts.id", ondelete="SET NULL"))
    # The membership that priced the stay (its included hours and discount).
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL"), index=True
    )
    # The demand adjustment quoted at booking time, applied to this stay whatever comes later.
    demand_percent: Mapped[int | None] = mapped_column(Integer)
    demand_occupancy_percent: Mapped[int | None] = mapped_column(Integer)
    entry_gate: Mapped[str | None] = mapped_column(String(60))
    exit_gate: Mapped[str | None] = mapped_column(String(60))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    lot = relationship("Lot")
    spot = relationship("Spot")
    user = relationship("User")
    vehicle = relationship("Vehicle")
    discount = relationship("Discount")
    membership = relationship("Membership")
    payments = relationship("Payment", back_populates="booking", order_by="Payment.id")
    # Read-only: set to [] by a loader that knows there are none (ev.charging reads it then).
    charging_sessions = relationship(
        "ChargingSession",
        viewonly=True,
        order_by="(ChargingSession.started_at, ChargingSession.id)",
    )

    # Not stored: the final itemised price `bookings.release` computed, kept on the object
    # for the rest of the request (a released stay's price never changes).
    released_quote = None
    booked_quote = None  # (quote, (starts_at, booked_ends_at, spot_id)) priced when booked

    @property
    def is_active(self):
        return self.status == BookingStatus.ACTIVE

    @property
    def is_open_ended(self):
        return self.booked_ends_at is None

    def is_owner(self, user):
        return user is not None and self.user_id == user.id

    def can_view(self, user):
        return self.is_owner(user) or user.is_operator

    def can_check_in(self, user):
        return self.is_owner(user) or user.is_operator

    def can_release(self, user):
        return self.is_owner(user) or user.is_operator

    def can_cancel(self, user):
        return self.is_owner(user) or user.is_admin

    def __repr__(self):
        return f"<Booking {self.id} {self.status} spot={self.spot_id}>"

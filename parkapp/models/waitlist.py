"""The FIFO waitlist: a vehicle queueing for a full lot, and the offer of a freed spot."""

from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.accounts import VehicleType
from parkapp.models.lots import SpotKind
from parkapp.models.types import UTCDateTime, enum_column, utcnow


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # a spot is held for the entry until offer_expires_at
    EXPIRED = "expired"  # the offer ran out untaken
    ASSIGNED = "assigned"  # the offer was accepted: the hold became the stay
    LEFT = "left"  # the driver left the queue or declined the offer


QUEUED = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)  # statuses still in the queue
_QUEUED_SQL = text("status IN ('waiting', 'offered')")


class WaitlistEntry(db.Model):
    """One vehicle in a lot's queue; `user_id` is NULL for a vehicle queued at the gate.

    An offer is a real `reserved` booking on the freed spot (`booking_id`), so the
    booking constraints keep anyone else off the spot while the offer stands.
    """

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        # A driver, and a vehicle, queue at most once per lot at a time.
        Index(
            "uq_waitlist_user_queued",
            "lot_id",
            "user_id",
            unique=True,
            sqlite_where=_QUEUED_SQL,
            postgresql_where=_QUEUED_SQL,
        ),
        Index(
            "uq_waitlist_plate_queued",
            "lot_id",
            "plate",
            unique=True,
            sqlite_where=_QUEUED_SQL,
            postgresql_where=_QUEUED_SQL,
        ),
        Index("ix_waitlist_lot_status_created", "lot_id", "status", "created_at", "id"),
        Index("ix_waitlist_status_expires", "status", "offer_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    plate: Mapped[str] = mapped_column(String(16))
    spot_kind: Mapped[SpotKind | None] = mapped_column(enum_column(SpotKind), nullable=True)
    # The vehicle as it was when queued (from the driver's vehicle, or given at the gate):
    # an entry without a spot kind is offered only spots that fit it. NULL type: a car.
    vehicle_type: Mapped[VehicleType | None] = mapped_column(
        enum_column(VehicleType), nullable=True
    )
    is_ev: Mapped[bool] = mapped_column(Boolean, default=False)
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[WaitlistStatus] = mapped_column(
        enum_column(WaitlistStatus), default=WaitlistStatus.WAITING
    )
    offered_spot_id: Mapped[int | None] = mapped_column(ForeignKey("spots.id", ondelete="SET NULL"))
    offer_expires_at = mapped_column(UTCDateTime, nullable=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    lot = relationship("Lot")
    user = relationship("User")
    offered_spot = relationship("Spot")
    booking = relationship("Booking")

    @property
    def is_offered(self):
        return self.status == WaitlistStatus.OFFERED

    def is_owner(self, user):
        return user is not None and self.user_id == user.id

    def __repr__(self):
        return f"<WaitlistEntry {self.id} lot={self.lot_id} {self.status}>"

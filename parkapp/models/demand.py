"""Demand pricing: the steps by which a lot's hourly rate follows its occupancy.

A lot's own settings (on/off, floor and ceiling of the adjusted hourly rate) live on `Lot`;
a booking keeps the adjustment it was quoted with (`Booking.demand_percent`).
"""

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, enum_column, utcnow

MIN_ADJUST, MAX_ADJUST = -90, 300


class DemandDirection(StrEnum):
    ABOVE = "above"  # applies when occupancy is at or above the threshold
    BELOW = "below"  # applies when occupancy is below the threshold


class DemandStep(db.Model):
    """One step: at or above (below) `threshold_percent` full, the rate moves by `adjust_percent`."""

    __tablename__ = "demand_steps"
    __table_args__ = (
        UniqueConstraint(
            "lot_id", "direction", "threshold_percent", name="uq_demand_steps_lot_step"
        ),
        CheckConstraint(
            "threshold_percent >= 0 AND threshold_percent <= 100", name="threshold_range"
        ),
        CheckConstraint(
            f"adjust_percent >= {MIN_ADJUST} AND adjust_percent <= {MAX_ADJUST}",
            name="adjust_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), index=True)
    direction: Mapped[DemandDirection] = mapped_column(enum_column(DemandDirection))
    threshold_percent: Mapped[int] = mapped_column(Integer)
    adjust_percent: Mapped[int] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    lot = relationship("Lot", back_populates="demand_steps")

    def __repr__(self):
        return f"<DemandStep {self.direction} {self.threshold_percent}% {self.adjust_percent:+d}%>"

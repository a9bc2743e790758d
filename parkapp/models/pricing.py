"""Prices: rate tables by spot kind, vehicle type, day and time, and the demand pricing steps.

A lot's own demand settings (on/off, floor and ceiling of the adjusted hourly rate) live on
`Lot`; a booking keeps the adjustment it was quoted with (`Booking.demand_percent`)."""

from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.accounts import VehicleType
from parkapp.models.lots import SpotKind
from parkapp.models.types import UTCDateTime, enum_column, utcnow

ALL_WEEKDAYS = 0b1111111  # bit 0 = Monday ... bit 6 = Sunday


class RateKind(StrEnum):
    HOURLY = "hourly"  # amount per started unit of `unit_minutes`
    FLAT = "flat"  # amount once per band occurrence (or per day without a band)


class Rate(db.Model):
    """One row of a lot's rate table.

    A row without a band (all weekdays, no time window) is a base rate; a row with a band
    (some weekdays and/or a local time window such as 18:00-06:00) overrides the base rate
    while the band is in force. `spot_kind`/`vehicle_type` NULL match any; a more specific
    row wins. `effective_from`/`effective_until` are local dates, inclusive. Without any
    row in force the lot's own hourly rate, daily maximum and grace period apply.
    """

    __tablename__ = "rates"
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
        CheckConstraint("unit_minutes > 0", name="unit_positive"),
        CheckConstraint("daily_max_cents IS NULL OR daily_max_cents >= 0", name="daily_max_ok"),
        CheckConstraint("grace_minutes IS NULL OR grace_minutes >= 0", name="grace_ok"),
        CheckConstraint("weekdays > 0 AND weekdays <= 127", name="weekdays_mask"),
        CheckConstraint(
            "effective_until IS NULL OR effective_from IS NULL OR effective_until >= effective_from",
            name="effective_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[RateKind] = mapped_column(enum_column(RateKind), default=RateKind.HOURLY)
    amount_cents: Mapped[int] = mapped_column(Integer)
    unit_minutes: Mapped[int] = mapped_column(Integer, default=60)
    daily_max_cents: Mapped[int | None] = mapped_column(Integer)
    grace_minutes: Mapped[int | None] = mapped_column(Integer)
    spot_kind: Mapped[SpotKind | None] = mapped_column(enum_column(SpotKind), nullable=True)
    vehicle_type: Mapped[VehicleType | None] = mapped_column(
        enum_column(VehicleType), nullable=True
    )
    weekdays: Mapped[int] = mapped_column(Integer, default=ALL_WEEKDAYS)
    band_starts = mapped_column(Time, nullable=True)  # local; with band_ends, may wrap midnight
    band_ends = mapped_column(Time, nullable=True)
    effective_from = mapped_column(Date, nullable=True)
    effective_until = mapped_column(Date, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    lot = relationship("Lot", back_populates="rates")

    @property
    def has_band(self):
        return self.weekdays != ALL_WEEKDAYS or self.band_starts is not None

    def __repr__(self):
        return f"<Rate {self.id} {self.name!r} {self.kind} {self.amount_cents}>"


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

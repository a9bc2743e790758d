"""Drivers' vehicles, identified by a normalised licence plate."""

from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, enum_column, utcnow


class VehicleType(StrEnum):
    CAR = "car"
    MOTORCYCLE = "motorcycle"
    VAN = "van"
    TRUCK = "truck"


class Vehicle(db.Model):
    """A vehicle a driver keeps on their account."""

    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("user_id", "plate", name="uq_vehicles_user_plate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    vehicle_type: Mapped[VehicleType] = mapped_column(
        enum_column(VehicleType), default=VehicleType.CAR
    )
    make: Mapped[str] = mapped_column(String(60), default="")
    model: Mapped[str] = mapped_column(String(60), default="")
    colour: Mapped[str] = mapped_column(String(30), default="")
    is_ev: Mapped[bool] = mapped_column(Boolean, default=False)
    # Holds a disabled parking permit: may use accessible spots, and gets them first.
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    owner = relationship("User", back_populates="vehicles")

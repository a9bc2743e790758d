"""Lots, their levels and zones, and the spots drivers park in."""

from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Time,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, enum_column, utcnow


class SpotKind(StrEnum):
    STANDARD = "standard"
    COMPACT = "compact"
    ACCESSIBLE = "accessible"
    EV = "ev"
    MOTORCYCLE = "motorcycle"


class SpotStatus(StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    REMOVED = "removed"  # deleted by an admin but kept for the booking history


class Amenity(StrEnum):
    """What a lot offers besides the spaces; stored as bits of `Lot.amenity_bits` (this order
    is the bit order: add new ones at the end)."""

    COVERED = "covered"
    EV_CHARGING = "ev_charging"
    ACCESSIBLE = "accessible"
    SECURITY = "security"
    TOILETS = "toilets"
    BIKE = "bike"


AMENITY_BITS = {amenity: 1 << n for n, amenity in enumerate(Amenity)}


def amenity_mask(amenities):
    """The bits of a set of amenities (Amenity members or their values)."""
    return sum(AMENITY_BITS[Amenity(a)] for a in set(amenities))


class Lot(db.Model):
    """A car park with its address, opening hours and basic rate."""

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("hourly_rate_cents >= 0", name="hourly_rate_non_negative"),
        CheckConstraint(
            "daily_max_cents IS NULL OR daily_max_cents >= 0", name="daily_max_non_negative"
        ),
        CheckConstraint("grace_minutes >= 0", name="grace_non_negative"),
        CheckConstraint(
            "refund_hours_before IS NULL OR refund_hours_before >= 0", name="refund_hours_ok"
        ),
        CheckConstraint("exit_minutes_after_payment >= 0", name="exit_minutes_ok"),
        CheckConstraint(
            "height_limit_cm IS NULL OR height_limit_cm BETWEEN 100 AND 500",
            name="height_limit_ok",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    city: Mapped[str] = mapped_column(String(120), default="", index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    opens_at = mapped_column(Time, nullable=True)  # local time; NULL with closes_at: 24 hours
    closes_at = mapped_column(Time, nullable=True)
    hourly_rate_cents: Mapped[int] = mapped_column(Integer, default=0)
    daily_max_cents: Mapped[int | None] = mapped_column(Integer)
    grace_minutes: Mapped[int] = mapped_column(Integer, default=0)
    max_booking_days: Mapped[int] = mapped_column(Integer, default=30)
    # Refund policy: a cancelled reservation is refunded in full until this many hours
    # before its start, not at all after; NULL: never refunded. evaluates_none: an explicit
    # None is stored as NULL, the default applies only when no value is given.
    refund_hours_before: Mapped[int | None] = mapped_column(Integer().evaluates_none(), default=24)
    # A stay paid at the gate or in advance leaves freely this long after paying.
    exit_minutes_after_payment: Mapped[int] = mapped_column(Integer, default=15)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Listed in the public occupancy feed for cities and map apps.
    open_data: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # A stay may run across closing time (else it must end by then; the booth lets it out).
    allow_overnight: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Amenities as bits (see Amenity): one integer filters alike on PostgreSQL and SQLite.
    amenity_bits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The tallest vehicle that fits under the entrance, in cm; NULL: no limit.
    height_limit_cm: Mapped[int | None] = mapped_column(Integer)
    # Demand pricing (steps in DemandStep): bounds of the adjusted hourly rate, NULL: none.
    demand_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    demand_floor_cents: Mapped[int | None] = mapped_column(Integer)
    demand_ceiling_cents: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    levels = relationship(
        "Level", back_populates="lot", order_by="Level.ordinal", cascade="all, delete-orphan"
    )
    spots = relationship(
        "Spot", back_populates="lot", order_by="Spot.label", cascade="all, delete-orphan"
    )
    rates = relationship(
        "Rate", back_populates="lot", order_by="Rate.id", cascade="all, delete-orphan"
    )
    demand_steps = relationship(
        "DemandStep",
        back_populates="lot",
        order_by="DemandStep.threshold_percent",
        cascade="all, delete-orphan",
    )

    @property
    def amenities(self):
        """The lot's amenities, a list of Amenity in declaration order."""
        bits = self.amenity_bits or 0
        return [a for a in Amenity if bits & AMENITY_BITS[a]]

    @amenities.setter
    def amenities(self, values):
        self.amenity_bits = amenity_mask(values)

    @property
    def is_open_all_day(self):
        return self.opens_at is None or self.closes_at is None

    def __repr__(self):
        return f"<Lot {self.id} {self.name!r}>"


class Level(db.Model):
    """A floor of a lot."""

    __tablename__ = "levels"
    __table_args__ = (UniqueConstraint("lot_id", "name", name="uq_levels_lot_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    ordinal: Mapped[int] = mapped_column(Integer, default=0)

    lot = relationship("Lot", back_populates="levels")
    zones = relationship(
        "Zone", back_populates="level", order_by="Zone.name", cascade="all, delete-orphan"
    )


class Zone(db.Model):
    """A named area of a level (for example "A" or "EV corner")."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("level_id", "name", name="uq_zones_level_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("levels.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))

    level = relationship("Level", back_populates="zones")


class Spot(db.Model):
    """One parking space; whether it is occupied is derived from bookings."""

    __tablename__ = "spots"
    __table_args__ = (UniqueConstraint("lot_id", "label", name="uq_spots_lot_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), index=True)
    level_id: Mapped[int | None] = mapped_column(ForeignKey("levels.id", ondelete="SET NULL"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(30))
    kind: Mapped[SpotKind] = mapped_column(enum_column(SpotKind), default=SpotKind.STANDARD)
    status: Mapped[SpotStatus] = mapped_column(enum_column(SpotStatus), default=SpotStatus.ACTIVE)

    lot = relationship("Lot", back_populates="spots")
    level = relationship("Level")
    zone = relationship("Zone")

    def __repr__(self):
        return f"<Spot {self.id} {self.label}>"

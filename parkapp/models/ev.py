"""EV charging: stations on ev spots, charging sessions against bookings, meter readings."""

from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, enum_column, utcnow


class ChargerType(StrEnum):
    LEVEL1 = "level1"
    LEVEL2 = "level2"
    DC_FAST = "dc_fast"


class Connector(StrEnum):
    J1772 = "j1772"
    TYPE2 = "type2"
    CCS1 = "ccs1"
    CCS2 = "ccs2"
    CHADEMO = "chademo"
    TESLA = "tesla"


class StationStatus(StrEnum):
    ACTIVE = "active"
    OUT_OF_SERVICE = "out_of_service"


class ChargingStatus(StrEnum):
    CHARGING = "charging"
    FINISHED = "finished"


class EvStation(db.Model):
    """A charger on one ev spot, with its price per kWh and idle fee per minute."""

    __tablename__ = "ev_stations"
    __table_args__ = (
        CheckConstraint("power_w > 0", name="power_positive"),
        CheckConstraint("price_per_kwh_cents >= 0", name="price_non_negative"),
        CheckConstraint("idle_fee_per_minute_cents >= 0", name="idle_fee_non_negative"),
        CheckConstraint("idle_grace_minutes >= 0", name="idle_grace_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), index=True)
    spot_id: Mapped[int] = mapped_column(ForeignKey("spots.id", ondelete="CASCADE"), unique=True)
    charger_type: Mapped[ChargerType] = mapped_column(enum_column(ChargerType))
    power_w: Mapped[int] = mapped_column(Integer)
    connector: Mapped[Connector] = mapped_column(enum_column(Connector))
    price_per_kwh_cents: Mapped[int] = mapped_column(Integer)
    idle_fee_per_minute_cents: Mapped[int] = mapped_column(Integer, default=0)
    idle_grace_minutes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[StationStatus] = mapped_column(
        enum_column(StationStatus), default=StationStatus.ACTIVE
    )
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # SHA-256 (hex) of the key the charger reports meter readings with; NULL: none issued.
    api_key_hash: Mapped[str | None] = mapped_column(
        String(64), nullable=True, index=True, unique=True
    )

    lot = relationship("Lot")
    spot = relationship("Spot")

    def __repr__(self):
        return f"<EvStation {self.id} spot={self.spot_id} {self.charger_type}>"


class ChargingSession(db.Model):
    """One charge of a booking's vehicle at a station, metered in Wh.

    The station's prices are copied at the start, so a later price change never alters a
    stay's bill. At most one session charges at a time per station and per booking.
    """

    __tablename__ = "charging_sessions"
    __table_args__ = (
        CheckConstraint("start_wh >= 0", name="start_non_negative"),
        CheckConstraint("last_wh >= start_wh", name="last_not_below_start"),
        CheckConstraint("stop_wh IS NULL OR stop_wh = last_wh", name="stop_is_last"),
        Index(
            "ux_charging_sessions_station_open",
            "station_id",
            unique=True,
            postgresql_where=text("status = 'charging'"),
            sqlite_where=text("status = 'charging'"),
        ),
        Index(
            "ux_charging_sessions_booking_open",
            "booking_id",
            unique=True,
            postgresql_where=text("status = 'charging'"),
            sqlite_where=text("status = 'charging'"),
        ),
        Index("ix_charging_sessions_booking", "booking_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("ev_stations.id", ondelete="RESTRICT"), index=True
    )
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="RESTRICT"))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[ChargingStatus] = mapped_column(
        enum_column(ChargingStatus), default=ChargingStatus.CHARGING
    )
    price_per_kwh_cents: Mapped[int] = mapped_column(Integer)
    idle_fee_per_minute_cents: Mapped[int] = mapped_column(Integer)
    idle_grace_minutes: Mapped[int] = mapped_column(Integer)
    started_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    start_wh: Mapped[int] = mapped_column(BigInteger)
    last_wh: Mapped[int] = mapped_column(BigInteger)
    last_reading_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    stopped_at = mapped_column(UTCDateTime, nullable=True)
    stop_wh: Mapped[int | None] = mapped_column(BigInteger)

    station = relationship("EvStation")
    booking = relationship("Booking")
    started_by = relationship("User")
    readings = relationship(
        "MeterReading",
        back_populates="session",
        order_by="MeterReading.id",
        cascade="all, delete-orphan",
    )

    @property
    def is_charging(self):
        return self.status == ChargingStatus.CHARGING

    @property
    def energy_wh(self):
        """Energy delivered so far (final once stopped)."""
        return self.last_wh - self.start_wh

    @property
    def energy_cents(self):
        """What the energy costs: per Wh at the kWh price, rounded up to a whole cent."""
        return -(-self.energy_wh * self.price_per_kwh_cents // 1000)

    def __repr__(self):
        return f"<ChargingSession {self.id} {self.status} station={self.station_id}>"


class MeterReading(db.Model):
    """A meter value reported by the charger during a session (start, readings, stop)."""

    __tablename__ = "meter_readings"
    __table_args__ = (CheckConstraint("wh >= 0", name="wh_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("charging_sessions.id", ondelete="CASCADE"), index=True
    )
    wh: Mapped[int] = mapped_column(BigInteger)
    read_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    session = relationship("ChargingSession", back_populates="readings")

"""Merchants who pay part of their customers' parking, their staff, and their validations."""

from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, enum_column, utcnow

merchant_lots = Table(
    "merchant_lots",
    db.metadata,
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True),
    Column("lot_id", ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True),
)


class GiveKind(StrEnum):
    """What a merchant's validation takes off a stay."""

    FULL_FEE = "full_fee"  # the whole parking fee
    FREE_HOURS = "free_hours"  # the fee of the stay's first N hours
    FIXED = "fixed"  # a fixed amount in cents


class Merchant(db.Model):
    """A shop or cinema that validates tickets at some lots; optionally capped per month."""

    __tablename__ = "merchants"
    __table_args__ = (
        CheckConstraint("give_value >= 0", name="give_value_non_negative"),
        CheckConstraint("monthly_cap_cents IS NULL OR monthly_cap_cents >= 0", name="cap_ok"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    give_kind: Mapped[GiveKind] = mapped_column(enum_column(GiveKind))
    give_value: Mapped[int] = mapped_column(Integer, default=0)  # hours or cents (full: 0)
    monthly_cap_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    billing_email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    lots = relationship("Lot", secondary=merchant_lots, order_by="Lot.id")
    staff = relationship(
        "MerchantStaff", back_populates="merchant", order_by="MerchantStaff.user_id"
    )


class MerchantStaff(db.Model):
    """A user who validates for a merchant (one merchant per user)."""

    __tablename__ = "merchant_staff"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )

    merchant = relationship("Merchant", back_populates="staff")
    user = relationship("User")


class Validation(db.Model):
    """A merchant paying part of one booking's parking: at most one per booking."""

    __tablename__ = "validations"
    __table_args__ = (
        UniqueConstraint("booking_id", name="uq_validations_booking"),
        CheckConstraint("amount_cents IS NULL OR amount_cents >= 0", name="amount_ok"),
        CheckConstraint("limit_cents IS NULL OR limit_cents >= 0", name="limit_ok"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    validated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # What it took off the stay, set once the stay is priced (paid or gone out).
    amount_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The most it may give: what was left of the merchant's monthly cap (None: no cap).
    limit_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)

    merchant = relationship("Merchant")
    # `booking.validation`: the booking's validation, or None (read when a stay is priced).
    booking = relationship("Booking", backref=backref("validation", uselist=False))
    validated_by = relationship("User")


class MerchantStatement(db.Model):
    """The monthly statement mail of a merchant: the unique key sends it once."""

    __tablename__ = "merchant_statements"
    __table_args__ = (UniqueConstraint("merchant_id", "month", name="uq_merchant_statements"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # 2026-11
    total_cents: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = mapped_column(UTCDateTime, nullable=True)

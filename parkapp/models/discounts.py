"""Promo codes and their redemptions."""

from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, enum_column, utcnow


class DiscountKind(StrEnum):
    PERCENT = "percent"  # value: percent off, 1..100
    FIXED = "fixed"  # value: cents off
    FREE_HOURS = "free_hours"  # value: hours of the stay that cost nothing


class Discount(db.Model):
    """A promo code: what it takes off, when it is valid and how often it may be used.

    `uses_count` is the number of redemptions, kept with the rows in `discount_redemptions`
    under a lock on this row, so concurrent redemptions are counted exactly once.
    """

    __tablename__ = "discounts"
    __table_args__ = (
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("kind <> 'percent' OR value <= 100", name="percent_at_most_100"),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
        CheckConstraint(
            "max_uses_per_user IS NULL OR max_uses_per_user > 0", name="per_user_positive"
        ),
        CheckConstraint("uses_count >= 0", name="uses_non_negative"),
        CheckConstraint(
            "valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from",
            name="validity_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # stored upper case
    name: Mapped[str] = mapped_column(String(120), default="")
    kind: Mapped[DiscountKind] = mapped_column(enum_column(DiscountKind))
    value: Mapped[int] = mapped_column(Integer)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"))
    valid_from = mapped_column(UTCDateTime, nullable=True)
    valid_until = mapped_column(UTCDateTime, nullable=True)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_user: Mapped[int | None] = mapped_column(Integer)
    uses_count: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    lot = relationship("Lot")

    def __repr__(self):
        return f"<Discount {self.code} {self.kind} {self.value}>"


class DiscountRedemption(db.Model):
    """One use of a code, on one booking (a booking carries at most one code)."""

    __tablename__ = "discount_redemptions"
    __table_args__ = (UniqueConstraint("booking_id", name="uq_discount_redemptions_booking"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discount_id: Mapped[int] = mapped_column(
        ForeignKey("discounts.id", ondelete="CASCADE"), index=True
    )
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    discount = relationship("Discount")

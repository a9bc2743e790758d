"""Money records: promo codes and their redemptions, payments for stays, and their refunds."""

from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
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


class PaymentMethod(StrEnum):
    CASH = "cash"  # at the gate
    CARD = "card"  # at the gate
    MOBILE = "mobile"  # at the gate
    ONLINE = "online"  # prepaid by the driver (Stripe Checkout when configured)


GATE_METHODS = (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.MOBILE)


class PaymentStatus(StrEnum):
    PENDING = "pending"  # waiting for the provider (Stripe Checkout)
    PAID = "paid"
    FAILED = "failed"  # the provider gave up, or the checkout expired
    REFUNDED = "refunded"  # refunded in full (partial refunds keep PAID)


class Payment(db.Model):
    """Money taken for a booking; `idempotency_key` makes retries create nothing new."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_within_amount"
        ),
        Index("ix_payments_booking", "booking_id"),
        Index("ix_payments_paid_at", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus))
    amount_cents: Mapped[int] = mapped_column(Integer)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    receipt_number: Mapped[str] = mapped_column(String(24), unique=True)
    provider: Mapped[str | None] = mapped_column(String(20))  # "stripe"
    provider_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    paid_at = mapped_column(UTCDateTime, nullable=True)

    booking = relationship("Booking", back_populates="payments")
    user = relationship("User", foreign_keys=[user_id])
    operator = relationship("User", foreign_keys=[operator_id])
    refunds = relationship("Refund", back_populates="payment", order_by="Refund.id")

    @property
    def net_cents(self):
        """What the payment still counts for after refunds (0 unless paid)."""
        if self.status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
            return 0
        return self.amount_cents - self.refunded_cents

    def __repr__(self):
        return f"<Payment {self.id} {self.method} {self.status} {self.amount_cents}>"


class Refund(db.Model):
    """Money given back on a payment."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255), default="")
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    payment = relationship("Payment", back_populates="refunds")

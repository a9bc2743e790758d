"""Payments for stays, and refunds of them."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, enum_column, utcnow


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

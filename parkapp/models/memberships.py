"""Membership plans and drivers' memberships (included hours, a discount, attached vehicles)."""

from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.billing import PaymentStatus
from parkapp.models.types import UTCDateTime, enum_column, utcnow

membership_plan_lots = Table(
    "membership_plan_lots",
    db.metadata,
    Column("plan_id", ForeignKey("membership_plans.id", ondelete="CASCADE"), primary_key=True),
    Column("lot_id", ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True),
)


class MembershipStatus(StrEnum):
    PENDING = "pending"  # waiting for its first payment (Stripe Checkout); not in force
    ACTIVE = "active"
    CANCELLED = "cancelled"  # will not renew; still in force until ends_at
    EXPIRED = "expired"


IN_FORCE = (MembershipStatus.ACTIVE, MembershipStatus.CANCELLED)  # until its end (+ grace)
HELD = (*IN_FORCE, MembershipStatus.PENDING)  # covers its vehicles: in force or being paid for


class MembershipPlan(db.Model):
    """What a membership gives: hours included per month, a discount, the lots it covers.

    A plan without lots covers every lot.
    """

    __tablename__ = "membership_plans"
    __table_args__ = (
        CheckConstraint("duration_months >= 1 AND duration_months <= 24", name="duration_ok"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        CheckConstraint("vehicle_limit >= 1", name="vehicle_limit_positive"),
        CheckConstraint("included_hours >= 0", name="included_hours_non_negative"),
        CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100", name="discount_percent_ok"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    duration_months: Mapped[int] = mapped_column(Integer, default=1)
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    vehicle_limit: Mapped[int] = mapped_column(Integer, default=1)
    included_hours: Mapped[int] = mapped_column(Integer, default=0)  # per month
    discount_percent: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    lots = relationship("Lot", secondary=membership_plan_lots, order_by="Lot.name")

    def covers(self, lot_id):
        return not self.lots or any(lot.id == lot_id for lot in self.lots)

    def __repr__(self):
        return f"<MembershipPlan {self.name}>"


class MembershipVehicle(db.Model):
    """A vehicle attached to a membership: its stays are priced with the membership."""

    __tablename__ = "membership_vehicles"
    __table_args__ = (
        UniqueConstraint("membership_id", "vehicle_id", name="uq_membership_vehicles_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    vehicle_id: Mapped[int] = mapped_column(
        ForeignKey("vehicles.id", ondelete="CASCADE"), index=True
    )
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    vehicle = relationship("Vehicle")


class Membership(db.Model):
    """A driver's membership of a plan over `[starts_at, ends_at)`.

    `price_cents` is what the current term cost, recorded when it was paid (`paid_at`);
    `renewals` counts the terms added after the first, so a renewal runs once.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="interval_ordered"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        Index("ix_memberships_user_status", "user_id", "status"),
        Index("ix_memberships_status_ends", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("membership_plans.id", ondelete="RESTRICT"))
    status: Mapped[MembershipStatus] = mapped_column(
        enum_column(MembershipStatus), default=MembershipStatus.ACTIVE
    )
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=True)
    price_cents: Mapped[int] = mapped_column(Integer)
    total_paid_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    paid_at = mapped_column(UTCDateTime, nullable=True)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_at = mapped_column(UTCDateTime, nullable=True)
    # An auto-renewal whose payment failed: in force until `grace_until`, retried at `retry_at`
    grace_until = mapped_column(UTCDateTime, nullable=True)
    retry_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    user = relationship("User")
    plan = relationship("MembershipPlan")
    attached = relationship(
        "MembershipVehicle", order_by="MembershipVehicle.id", cascade="all, delete-orphan"
    )
    payments = relationship(
        "MembershipPayment", order_by="MembershipPayment.id", back_populates="membership"
    )

    @property
    def vehicles(self):
        return [link.vehicle for link in self.attached]

    @hybrid_property
    def in_force_until(self):
        """The end of its term, or of its grace period while a failed renewal is retried."""
        return max(self.ends_at, self.grace_until) if self.grace_until else self.ends_at

    @in_force_until.inplace.expression
    @classmethod
    def _in_force_until(cls):
        return func.coalesce(cls.grace_until, cls.ends_at)

    @property
    def renewal_failed(self):
        return self.grace_until is not None

    def is_owner(self, user):
        return user is not None and self.user_id == user.id

    def __repr__(self):
        return f"<Membership {self.id} {self.status} plan={self.plan_id}>"


class MembershipPayment(db.Model):
    """Money taken for a term of a membership (subscribing, renewing): nothing is granted
    without one. Paid at once in test mode; with Stripe pending until the webhook."""

    __tablename__ = "membership_payments"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    purpose: Mapped[str] = mapped_column(String(20))  # "subscribe" or "renew"
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    receipt_number: Mapped[str] = mapped_column(String(24), unique=True)
    provider: Mapped[str | None] = mapped_column(String(20))  # "stripe"; none in test mode
    provider_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    paid_at = mapped_column(UTCDateTime, nullable=True)

    membership = relationship("Membership", back_populates="payments")

    @property
    def test_mode(self):
        """Recorded as paid with no card charged (PAYMENTS_TEST_MODE)."""
        return self.provider is None

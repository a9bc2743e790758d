"""Accounts: users and roles (Flask-Security-Too models), revoked API tokens, drivers'
vehicles by normalised licence plate, and the audit log of what staff changed."""

from enum import StrEnum

from flask import current_app
from flask_security.models import fsqla_v3 as fsqla
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, enum_column, utcnow

fsqla.FsModels.set_db_info(db, user_table_name="users", role_table_name="roles")

ADMIN, OPERATOR, USER = "admin", "operator", "user"
MERCHANT = "merchant"  # staff of a shop that validates parking (see models.merchants)
ROLE_NAMES = (ADMIN, OPERATOR, USER, MERCHANT)
STAFF_ROLES = (OPERATOR, ADMIN)  # who runs a car park: the gate, its stays, its chargers


class Role(db.Model, fsqla.FsRoleMixin):
    """A named role: admin, operator or user (driver)."""

    __tablename__ = "roles"


class User(db.Model, fsqla.FsUserMixin):
    """A person with an account: driver, gate operator or admin."""

    __tablename__ = "users"

    full_name: Mapped[str] = mapped_column(String(120), default="")
    # Booking mail (confirmations, changes, reminders); receipts and security mail always go.
    booking_mail: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    vehicles = db.relationship(
        "Vehicle", back_populates="owner", lazy="select", order_by="Vehicle.plate"
    )

    @property
    def role_names(self):
        """The names of the user's roles, sorted."""
        return sorted(role.name for role in self.roles)

    @property
    def is_admin(self):
        return self.has_role(ADMIN)

    @property
    def is_operator(self):
        return self.has_role(OPERATOR) or self.has_role(ADMIN)

    @property
    def is_merchant(self):
        return self.has_role(MERCHANT)

    @property
    def display_name(self):
        return self.full_name or self.email

    @property
    def has_two_factor(self):
        """Whether the account signs in with an authenticator app code."""
        return bool(self.tf_primary_method and self.tf_totp_secret)

    @property
    def two_factor_required(self):
        """Staff must use two-factor when STAFF_REQUIRE_2FA is on."""
        staff = self.has_role(ADMIN) or self.has_role(OPERATOR)
        return staff and bool(current_app.config.get("STAFF_REQUIRE_2FA"))

    def check_tf_required(self, tf_setup_methods, tf_fresh):
        """Flask-Security's rule, plus: staff are taken through setup or the code step."""
        required, methods = super().check_tf_required(tf_setup_methods, tf_fresh)
        if not required and self.two_factor_required:
            always = current_app.config.get("SECURITY_TWO_FACTOR_ALWAYS_VALIDATE", True)
            required = always or not tf_fresh
        return required, methods

    def check_tf_required_setup(self):
        """Required staff are not offered "disable" on the setup page."""
        return super().check_tf_required_setup() or self.two_factor_required


class RevokedToken(db.Model):
    """A JWT id that must no longer be accepted (logout or refresh rotation)."""

    __tablename__ = "revoked_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    revoked_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)


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


class AuditEvent(db.Model):
    """Who did what to which object, when and from where, with the changed fields."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_created", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    # The email is kept as it was: the account may be renamed or erased later.
    actor_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_email: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before = mapped_column(JSON, nullable=True)
    after = mapped_column(JSON, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    endpoint: Mapped[str | None] = mapped_column(String(120))

    @property
    def target(self):
        """`type:id`, e.g. `lot:3`."""
        return f"{self.target_type}:{self.target_id}" if self.target_id else self.target_type

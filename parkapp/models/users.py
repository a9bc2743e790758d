"""Accounts and roles (Flask-Security-Too models) and revoked API tokens."""

from flask_security.models import fsqla_v3 as fsqla
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, utcnow

fsqla.FsModels.set_db_info(db, user_table_name="users", role_table_name="roles")

ADMIN, OPERATOR, USER = "admin", "operator", "user"
ROLE_NAMES = (ADMIN, OPERATOR, USER)


class Role(db.Model, fsqla.FsRoleMixin):
    """A named role: admin, operator or user (driver)."""

    __tablename__ = "roles"


class User(db.Model, fsqla.FsUserMixin):
    """A person with an account: driver, gate operator or admin."""

    __tablename__ = "users"

    full_name: Mapped[str] = mapped_column(String(120), default="")
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
    def display_name(self):
        return self.full_name or self.email


class RevokedToken(db.Model):
    """A JWT id that must no longer be accepted (logout or refresh rotation)."""

    __tablename__ = "revoked_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    revoked_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

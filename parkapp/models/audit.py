"""The audit log: one row per object a staff member's request created, changed or deleted."""

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, utcnow


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

"""Background export jobs, mails sent once, and the development outbox."""

from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parkapp.extensions import db
from parkapp.models.types import UTCDateTime, enum_column, utcnow


class JobKind(StrEnum):
    BOOKINGS_CSV = "bookings_csv"
    ACTIVITY_PDF = "activity_pdf"
    ADMIN_BOOKINGS_CSV = "admin_bookings_csv"
    REVENUE_PDF = "revenue_pdf"


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(db.Model):
    """A report a user asked for (or beat scheduled), its progress and its file."""

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[JobKind] = mapped_column(enum_column(JobKind, 30))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.PENDING)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    row_count: Mapped[int | None] = mapped_column(Integer)
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_path: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The runner holding the job (services.export_leases): its token and when it lapses.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    dispatched_at = mapped_column(UTCDateTime, nullable=True)
    started_at = mapped_column(UTCDateTime, nullable=True)
    finished_at = mapped_column(UTCDateTime, nullable=True)

    user = relationship("User")

    def is_owner(self, user):
        return user is not None and user.id == self.user_id


class NotificationStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"


class Notification(db.Model):
    """One mail of a kind for a user and period; the unique key stops a retry mailing twice."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "kind", "period", name="uq_notifications_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(40))
    status: Mapped[NotificationStatus] = mapped_column(enum_column(NotificationStatus))
    claimed_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = mapped_column(UTCDateTime, nullable=True)


class OutboxMail(db.Model):
    """A mail the app would have sent, kept when no SMTP server is configured (development)."""

    __tablename__ = "outbox_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipients: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(String(500), default="")
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

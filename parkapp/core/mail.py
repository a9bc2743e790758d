"""Outgoing mail: templates, sending once per (user, kind, period), and the dev outbox."""

from datetime import timedelta

from flask import current_app, render_template
from flask_mail import Message, email_dispatched
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from parkapp.core.exceptions import NotFound
from parkapp.extensions import db, mail
from parkapp.models import Notification, NotificationStatus, OutboxMail, utcnow

STALE_CLAIM = timedelta(minutes=15)  # a claim this old belongs to a worker that died


def init_outbox(app):
    """Keep a copy of every mail in the outbox table when sending is suppressed (no SMTP)."""
    del app  # one receiver serves every app; it reads the sending app's config
    email_dispatched.connect(_record_in_outbox)


def _record_in_outbox(app, message):
    if not app.config.get("MAIL_SUPPRESS_SEND"):
        return
    db.session.add(
        OutboxMail(
            recipients=", ".join(message.recipients)[:500],
            subject=(message.subject or "")[:300],
            body=message.body or "",
            html=message.html,
            attachments=", ".join(a.filename for a in message.attachments)[:500],
        )
    )
    db.session.commit()


def build_message(to, subject, template, attachments=(), **context):
    """A message with plain-text and HTML bodies from emails/<template>.txt and .html."""
    message = Message(subject=subject, recipients=[to])
    message.body = render_template(f"emails/{template}.txt", **context)
    message.html = render_template(f"emails/{template}.html", **context)
    for attachment in attachments:  # (filename, content_type, data[, disposition, headers])
        message.attach(*attachment)
    return message


def send(message):
    """Send now through Flask-Mail (SMTP errors propagate so tasks can retry)."""
    mail.send(message)


def claim(user_id, kind, period):
    """Reserve the right to send one mail; False when it was sent or is being sent."""
    db.session.commit()  # write from a fresh transaction: SQLite then waits for its lock
    db.session.add(
        Notification(
            user_id=user_id,
            kind=kind,
            period=period,
            status=NotificationStatus.SENDING,
            claimed_at=utcnow(),
        )
    )
    try:
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
    # Someone claimed it before: take it over only if that claim went stale unsent.
    taken_over = db.session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.kind == kind,
            Notification.period == period,
            Notification.status == NotificationStatus.SENDING,
            Notification.claimed_at < utcnow() - STALE_CLAIM,
        )
        .values(claimed_at=utcnow())
    )
    db.session.commit()
    return taken_over.rowcount == 1


def mark_sent(user_id, kind, period):
    """Record that the claimed mail went out."""
    db.session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.kind == kind,
            Notification.period == period,
        )
        .values(status=NotificationStatus.SENT, sent_at=utcnow())
    )
    db.session.commit()


def release_claim(user_id, kind, period):
    """Give a claim back after a failed send, so a retry may send."""
    db.session.execute(
        delete(Notification).where(
            Notification.user_id == user_id,
            Notification.kind == kind,
            Notification.period == period,
            Notification.status == NotificationStatus.SENDING,
        )
    )
    db.session.commit()


def send_once(user_id, kind, period, message):
    """Send `message` unless this (user, kind, period) mail was already sent; True if sent now."""
    if not claim(user_id, kind, period):
        return False
    try:
        send(message)
    except Exception:
        release_claim(user_id, kind, period)
        raise
    mark_sent(user_id, kind, period)
    return True


def was_sent(user_id, kind, period):
    """Whether the mail of this key went out."""
    return (
        db.session.scalar(
            select(Notification.id).where(
                Notification.user_id == user_id,
                Notification.kind == kind,
                Notification.period == period,
                Notification.status == NotificationStatus.SENT,
            )
        )
        is not None
    )


def mail_configured():
    """True when mail goes to a real SMTP server."""
    return not current_app.config.get("MAIL_SUPPRESS_SEND")


def outbox_query():
    """The development outbox, newest first (a select, for pagination)."""
    return select(OutboxMail).order_by(OutboxMail.id.desc())


def get_outbox_mail(mail_id):
    """One mail of the development outbox, or NotFound."""
    mail_row = db.session.get(OutboxMail, mail_id)
    if mail_row is None:
        raise NotFound("No such mail in the outbox.")
    return mail_row

"""The waitlist's minute task: expire untaken offers, offer missed spots, re-send offer mail.

Everything here runs from the beat (parkapp.tasks.upkeep); the queue itself, offers and
accepting live in parkapp.waitlist.queue and waitlist_offers.
"""

from sqlalchemy import select

from parkapp.core import mail as mailer
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.models import BookingStatus, WaitlistEntry, WaitlistStatus, utcnow
from parkapp.waitlist import offers as waitlist_offers
from parkapp.waitlist import queue as waitlist


def spots_freed(freed):
    """Offer many freed (lot_id, spot_id) pairs, e.g. the no-shows of one upkeep run."""
    for lot_id, spot_id in sorted(set(freed)):
        waitlist.pass_on(lot_id, spot_id)


def expire_offers(now=None):
    """Offers not taken in time expire, their holds are cancelled and the spots pass on."""
    now = now or utcnow()
    freed = []
    with write_transaction() as session:
        entries = session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.status == WaitlistStatus.OFFERED,
                WaitlistEntry.offer_expires_at <= now,
            )
            .with_for_update(skip_locked=True)  # one being accepted right now is left alone
        ).all()
        for entry in entries:
            if entry.booking is not None and entry.booking.status == BookingStatus.ACTIVE:
                # The hold became a stay without the entry noticing: the driver took the spot.
                entry.status = WaitlistStatus.ASSIGNED
                continue
            spot_id = waitlist.drop_hold(session, entry, now)
            entry.status = WaitlistStatus.EXPIRED
            if spot_id is not None:
                freed.append((entry.lot_id, spot_id))
    spots_freed(freed)
    return len(entries)


def sweep():
    """Offer every spot that is free from now on in lots where someone waits.

    Catches spots freed without a hook: a hook that failed, a spot back from maintenance.
    """
    lot_ids = db.session.scalars(
        select(WaitlistEntry.lot_id)
        .where(WaitlistEntry.status == WaitlistStatus.WAITING)
        .group_by(WaitlistEntry.lot_id)
    ).all()
    db.session.rollback()
    return sum(len(waitlist_offers.offer_next(lot_id)) for lot_id in lot_ids)


def remail_offers(now=None):
    """Mail standing offers whose mail has not gone out (SMTP was down when offered)."""
    now = now or utcnow()
    entries = db.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.status == WaitlistStatus.OFFERED,
            WaitlistEntry.user_id.is_not(None),
            WaitlistEntry.offer_expires_at > now,
        )
    ).all()
    pending = [
        e
        for e in entries
        if not mailer.was_sent(e.user_id, waitlist_offers.OFFER_MAIL, f"entry:{e.id}")
    ]
    return sum(waitlist_offers.mail_offer(entry) for entry in pending)


def run(now=None):
    """The minute task: expire untaken offers, offer free spots, re-send unsent offers."""
    return {"expired": expire_offers(now), "offered": sweep(), "mailed": remail_offers(now)}

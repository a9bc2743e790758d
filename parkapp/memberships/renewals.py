"""The daily membership upkeep: renew or expire ended memberships, remind before renewals.

A renewal is made only against a payment (membership_payments): in test mode one is
recorded paid; otherwise no payment can be taken unattended and the membership expires.

A reminder goes once per membership term (Notification keyed by the term's end). A due
membership is locked and checked again before it is renewed or expired, so a task that
runs twice, or two workers at once, renew it exactly once.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from parkapp.core import hooks, links
from parkapp.core import mail as mailer
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.memberships.subscriptions import AUTO_RENEW, IN_FORCE, PAID, extend
from parkapp.models import Membership, MembershipStatus, utcnow

REMINDER = "membership_renewal"


def reminder_key(membership):
    return f"membership:{membership.id}:{membership.ends_at:%Y%m%d%H%M}"


def _memberships_url():
    return links.link("memberships") or "the Memberships page"


def remind_renewals(now=None):
    """Mail each driver once, MEMBERSHIP_REMINDER_DAYS before an auto-renewal."""
    now = now or utcnow()
    horizon = now + timedelta(days=current_app.config["MEMBERSHIP_REMINDER_DAYS"])
    due = db.session.scalars(
        select(Membership)
        .where(
            Membership.status == MembershipStatus.ACTIVE,
            Membership.auto_renew.is_(True),
            Membership.ends_at > now,
            Membership.ends_at <= horizon,
        )
        .order_by(Membership.id)
    ).all()
    sent = 0
    for membership in due:
        message = mailer.build_message(
            membership.user.email,
            f"Your {membership.plan.name} membership renews soon",
            REMINDER,
            user=membership.user,
            membership=membership,
            url=_memberships_url(),
        )
        sent += mailer.send_once(membership.user_id, REMINDER, reminder_key(membership), message)
    return sent


def settle_due(now=None):
    """Renew ended memberships that auto-renew (one term each); expire the others."""
    now = now or utcnow()
    due_ids = db.session.scalars(
        select(Membership.id)
        .where(Membership.status.in_(IN_FORCE), Membership.ends_at <= now)
        .order_by(Membership.id)
    ).all()
    renewed = expired = 0
    for membership_id in due_ids:
        with write_transaction() as session:
            membership = session.scalar(
                select(Membership).where(Membership.id == membership_id).with_for_update()
            )
            if membership.status not in IN_FORCE or membership.ends_at > now:
                continue  # settled meanwhile by another run
            if (
                membership.auto_renew
                and membership.status == MembershipStatus.ACTIVE
                and membership.plan.is_active
                and _charge_renewal(session, membership, now)
            ):
                extend(membership, now, membership.plan.price_cents)
                renewed += 1
            else:
                membership.status = MembershipStatus.EXPIRED
                membership.auto_renew = False
                expired += 1
    return {"renewed": renewed, "expired": expired}


def _charge_renewal(session, membership, now):
    """Take the renewal's payment in the caller's transaction; False when none can be taken.

    Billing answers the `membership_term_due` hook: only test mode can charge with nobody
    there (a Stripe Checkout needs the driver), so otherwise the membership ends and the
    driver renews by hand. Nobody answering means no payment either. A free plan needs none.
    """
    if not membership.plan.price_cents:
        return True
    # One key per term: a second run of the task can never charge the same term twice.
    answer = hooks.first_answer(
        hooks.membership_term_due,
        session=session,
        membership=membership,
        purpose=AUTO_RENEW,
        key=f"renew-{membership.id}-{membership.renewals + 1}",
        now=now,
    )
    return answer == PAID


def upkeep(now=None):
    """The daily run: renewals and expiries first (no mail needed), then the reminders."""
    now = now or utcnow()
    settled = settle_due(now)
    return {**settled, "reminded": remind_renewals(now)}

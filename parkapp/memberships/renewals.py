"""The daily membership upkeep: renew ended memberships, retry failed renewals, remind.

A renewal is made only against a payment (membership_payments): in test mode one is
recorded paid; with no way to charge the driver unattended the payment fails. A failed
auto-renewal keeps the membership in force for MEMBERSHIP_GRACE_DAYS after its term
(`grace_until`), mails the driver once, and is retried once a day (`retry_at`); paid, the
term follows on from the old end; still unpaid at the end of the grace, it lapses (expired)
with a mail. Memberships that do not auto-renew simply expire at their end.

A due membership is locked and checked again before it is renewed, retried or expired, so
a task that runs twice, or two workers at once, act on it exactly once. Mail goes after the
commit, once per term and event (Notification keys), from what the rows say: a mail that
failed to send is sent by the next run.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from parkapp.core import hooks, links
from parkapp.core import mail as mailer
from parkapp.dbsetup import write_transaction
from parkapp.extensions import db
from parkapp.memberships.subscriptions import AUTO_RENEW, IN_FORCE, PAID, extend
from parkapp.models import Membership, MembershipStatus, utcnow

REMINDER = "membership_renewal"
FAILED, LAPSED = "membership_renewal_failed", "membership_lapsed"
DAY = timedelta(days=1)
MAIL_WINDOW = timedelta(days=7)  # how long a mail that failed to send is tried again


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


def grace_days():
    return current_app.config.get("MEMBERSHIP_GRACE_DAYS", 3)


def settle_due(now=None):
    """Renew, retry or expire each membership whose term ended (or whose retry is due).

    Returns counts: renewed (paid), failed (a first failed attempt: grace begins),
    retrying (failed again within the grace), lapsed (grace over unpaid), expired (no
    auto-renewal).
    """
    now = now or utcnow()
    due_ids = db.session.scalars(
        select(Membership.id)
        .where(
            Membership.status.in_(IN_FORCE),
            Membership.ends_at <= now,
            or_(Membership.retry_at.is_(None), Membership.retry_at <= now),
        )
        .order_by(Membership.id)
    ).all()
    counts = dict.fromkeys(("renewed", "failed", "retrying", "lapsed", "expired"), 0)
    for membership_id in due_ids:
        with write_transaction() as session:
            membership = session.scalar(
                select(Membership).where(Membership.id == membership_id).with_for_update()
            )
            outcome = _settle(session, membership, now)
        if outcome:
            counts[outcome] += 1
    return counts


def _settle(session, membership, now):
    """One locked membership's outcome (None when another run settled it meanwhile)."""
    if membership.status not in IN_FORCE or membership.ends_at > now:
        return None
    if membership.retry_at is not None and membership.retry_at > now:
        return None  # today's attempt was made by another run
    renewing = (
        membership.auto_renew
        and membership.status == MembershipStatus.ACTIVE
        and membership.plan.is_active
    )
    if renewing and _charge_renewal(session, membership, now):
        extend(membership, now, membership.plan.price_cents)
        return "renewed"
    in_grace = membership.grace_until is not None
    if renewing and (not in_grace or now < membership.grace_until):
        if not in_grace:
            membership.grace_until = membership.ends_at + timedelta(days=grace_days())
        membership.retry_at = min(now + DAY, membership.grace_until)
        return "retrying" if in_grace else "failed"
    membership.status = MembershipStatus.EXPIRED
    membership.auto_renew = False
    membership.retry_at = None
    return "lapsed" if in_grace else "expired"


def _charge_renewal(session, membership, now):
    """Take the renewal's payment in the caller's transaction; False when none can be taken.

    Billing answers the `membership_term_due` hook: only test mode can charge with nobody
    there (a Stripe Checkout needs the driver), so otherwise the renewal fails and the
    driver may renew by hand during the grace period. Nobody answering means no payment
    either. A free plan needs none.
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


def failure_key(membership):
    return f"membership:{membership.id}:{membership.ends_at:%Y%m%d%H%M}"


def mail_failures(now=None):
    """Mail once per term: the renewal failed (in grace), or the membership lapsed."""
    now = now or utcnow()
    failing = select(Membership).where(Membership.grace_until.is_not(None))
    in_grace = failing.where(Membership.status == MembershipStatus.ACTIVE)
    lapsed = failing.where(
        Membership.status == MembershipStatus.EXPIRED,
        Membership.grace_until > now - MAIL_WINDOW,
    )
    sent = 0
    for kind, query in ((FAILED, in_grace), (LAPSED, lapsed)):
        for membership in db.session.scalars(query.order_by(Membership.id)).all():
            if mailer.was_sent(membership.user_id, kind, failure_key(membership)):
                continue
            sent += _mail(kind, membership)
    return sent


def _mail(kind, membership):
    plan = membership.plan
    subject = (
        f"Your {plan.name} membership could not be renewed"
        if kind == FAILED
        else f"Your {plan.name} membership has ended"
    )
    message = mailer.build_message(
        membership.user.email,
        subject,
        kind,
        user=membership.user,
        membership=membership,
        url=_memberships_url(),
    )
    return mailer.send_once(membership.user_id, kind, failure_key(membership), message)


def upkeep(now=None):
    """The daily run: renewals, retries and expiries first, then their mail and reminders."""
    now = now or utcnow()
    settled = settle_due(now)
    return {**settled, "mailed": mail_failures(now), "reminded": remind_renewals(now)}

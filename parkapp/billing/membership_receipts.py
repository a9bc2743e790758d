"""Membership payments' receipts: the PDF (built like a booking payment's) and its mail.

Each paid term's receipt (the first one and every renewal) is mailed once (Notification key
per payment): right after a driver pays (a task queued by `hooks.membership_paid`), and by
the daily renewal task for renewals it made and for any receipt a failed send left behind.
"""

from datetime import timedelta

from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer
from sqlalchemy import select

from parkapp.billing.receipts import TIME, facts_table, file_name
from parkapp.core import links
from parkapp.core import mail as mailer
from parkapp.core.exceptions import WrongState
from parkapp.core.money import money
from parkapp.core.pdf import Listing, build_a4
from parkapp.extensions import db
from parkapp.memberships.subscriptions import RENEW
from parkapp.models import MembershipPayment, PaymentStatus, utcnow

KIND = "membership_receipt"
MAIL_WINDOW = timedelta(days=7)  # how long a receipt that failed to send is tried again


def receipt_pdf(payment):
    """The receipt of a paid membership payment as PDF bytes; WrongState before that."""
    if payment.status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
        raise WrongState(
            f"This payment is {payment.status.value}; its receipt exists once it is paid.",
            code="not_paid",
        )
    membership, plan = payment.membership, payment.membership.plan
    styles = getSampleStyleSheet()
    method = "test mode (no card charged)" if payment.test_mode else "card (Stripe)"
    term = f"{plan.duration_months} month" + ("s" if plan.duration_months != 1 else "")
    facts = [
        ("Receipt number", payment.receipt_number),
        ("Paid", f"{payment.paid_at.strftime(TIME)} (UTC)"),
        ("Method", method),
        ("Amount", money(payment.amount_cents, payment.currency)),
        ("Membership", f"{plan.name}, membership {membership.id}"),
        ("For", ("Renewal, " if payment.purpose == RENEW else "First term, ") + term),
        ("In force until", f"{membership.ends_at.strftime(TIME)} (UTC)"),
        ("Vehicles", ", ".join(v.plate for v in membership.vehicles) or "none"),
    ]
    rows = [
        [
            p.receipt_number,
            p.purpose,
            p.status.value,
            p.paid_at.strftime(TIME) if p.paid_at else "",
            money(p.amount_cents, p.currency),
        ]
        for p in membership.payments
    ]
    story = [
        Paragraph(f"Receipt {payment.receipt_number}", styles["Title"]),
        Paragraph(f"Membership: {plan.name}", styles["Heading2"]),
        Spacer(1, 4 * mm),
        facts_table(facts),
        Spacer(1, 5 * mm),
        Paragraph("Payments for this membership", styles["Heading3"]),
        Listing(["Receipt", "For", "Status", "Paid at (UTC)", "Amount"], rows),
    ]
    return build_a4(story, f"Receipt {payment.receipt_number}")


def mail_key(payment):
    return f"mpayment:{payment.id}"


def mail_receipts(now=None, membership_id=None):
    """Mail the receipt of each term paid lately (of one membership when given), once; the
    number sent now."""
    now = now or utcnow()
    query = select(MembershipPayment).where(
        MembershipPayment.status == PaymentStatus.PAID,
        MembershipPayment.paid_at > now - MAIL_WINDOW,
        MembershipPayment.user_id.is_not(None),
    )
    if membership_id is not None:
        query = query.where(MembershipPayment.membership_id == membership_id)
    paid = db.session.scalars(query.order_by(MembershipPayment.id)).all()
    sent = 0
    for payment in paid:
        if not mailer.was_sent(payment.user_id, KIND, mail_key(payment)):
            sent += mail_receipt(payment)
    return sent


def mail_receipt(payment):
    """Mail one membership payment's receipt with its PDF (once); True if sent now."""
    membership = payment.membership
    message = mailer.build_message(
        membership.user.email,
        f"Receipt {payment.receipt_number}: {membership.plan.name} membership",
        KIND,
        [(file_name(payment), "application/pdf", receipt_pdf(payment))],
        user=membership.user,
        membership=membership,
        payment=payment,
        amount=money(payment.amount_cents, payment.currency),
        link=links.link("memberships"),
    )
    return mailer.send_once(payment.user_id, KIND, mail_key(payment), message)

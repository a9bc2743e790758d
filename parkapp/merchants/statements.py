"""The month-end statement of a merchant: its validations of a month and the total owed.

Amounts are what each validation took off its stay (billing writes them when a stay is
paid or leaves; the task prices any still open before it builds the statement). The PDF
lists every validation with its time in the lot's time zone; the mail goes to the
merchant's billing email, else to its staff, once per merchant and month: the
`merchant_statements` row (unique per merchant and month) is claimed before sending.
"""

from dataclasses import dataclass
from datetime import timedelta

from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from parkapp.core import mail as mailer
from parkapp.core.money import money
from parkapp.core.pdf import Listing, build_a4
from parkapp.core.timezones import localtime
from parkapp.extensions import db
from parkapp.merchants import merchants as merchant_rules
from parkapp.merchants import validations
from parkapp.models import Merchant, MerchantStatement, Validation, utcnow

STALE_CLAIM = timedelta(minutes=15)  # a claim this old belongs to a worker that died
TIME = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Statement:
    """A merchant's validations of one month and what they gave."""

    merchant: Merchant
    month: str
    validations: list
    currency: str

    @property
    def total_cents(self):
        return sum(v.amount_cents or 0 for v in self.validations)


def statement(merchant, month):
    """The Statement of a merchant's validations made in `month` ('YYYY-MM', UTC)."""
    start, end = merchant_rules.month_bounds(month)
    rows = db.session.scalars(
        validations.list_query(merchant.id, start, end).order_by(None).order_by("created_at")
    ).all()
    currency = rows[0].currency if rows else (merchant.lots[0].currency if merchant.lots else "")
    return Statement(merchant, month, list(rows), currency)


def file_name(merchant, month):
    return f"statement-merchant{merchant.id}-{month}.pdf"


def statement_pdf(found):
    """The statement as PDF bytes: one line per validation, then the total owed."""
    styles = getSampleStyleSheet()
    rows = [
        [
            localtime(v.created_at, v.booking.lot, TIME),
            v.booking.lot.name,
            v.booking.ticket_number or v.booking.confirmation_code,
            v.validated_by.display_name if v.validated_by else "",
            money(v.amount_cents or 0, v.currency),
        ]
        for v in found.validations
    ]
    total = money(found.total_cents, found.currency)
    story = [
        Paragraph(f"Parking validations {found.month}", styles["Title"]),
        Paragraph(found.merchant.name, styles["Heading2"]),
        Paragraph(f"{len(rows)} validation(s). Total owed: {total}", styles["Normal"]),
        Spacer(1, 5 * mm),
    ]
    if rows:
        story.append(Listing(["Validated at", "Car park", "Ticket", "By", "Amount"], rows))
    story += [Spacer(1, 5 * mm), Paragraph(f"<b>Total owed: {total}</b>", styles["Normal"])]
    return build_a4(story, f"{found.merchant.name}: validations {found.month}")


def recipients(merchant):
    """Where the statement goes: the billing email, else every active staff member."""
    if merchant.billing_email:
        return [merchant.billing_email]
    return [link.user.email for link in merchant.staff if link.user.active]


def due_merchants(month):
    """Merchants with validations in the month (active or not: they still owe)."""
    start, end = merchant_rules.month_bounds(month)
    ids = db.session.scalars(
        select(Validation.merchant_id)
        .where(Validation.created_at >= start, Validation.created_at < end)
        .group_by(Validation.merchant_id)
        .order_by(Validation.merchant_id)
    ).all()
    return [db.session.get(Merchant, i) for i in ids]


def send_statement(merchant, month):
    """Mail the month's statement once; True if it was sent now (False: sent, or nobody)."""
    to = recipients(merchant)
    if not to or not _claim(merchant.id, month):
        return False
    try:
        found = statement(merchant, month)
        message = mailer.build_message(
            to[0],
            f"Parking validations {month}: {merchant.name}",
            "merchant_statement",
            [(file_name(merchant, month), "application/pdf", statement_pdf(found))],
            merchant=merchant,
            month=month,
            count=len(found.validations),
            total=money(found.total_cents, found.currency),
        )
        for extra in to[1:]:
            message.add_recipient(extra)
        mailer.send(message)
    except Exception:
        _release(merchant.id, month)
        raise
    _mark_sent(merchant.id, month, found.total_cents)
    return True


def _claim(merchant_id, month):
    db.session.commit()  # write from a fresh transaction: SQLite then waits for its lock
    db.session.add(MerchantStatement(merchant_id=merchant_id, month=month, claimed_at=utcnow()))
    try:
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
    taken_over = db.session.execute(  # a stale claim whose sender died unsent
        update(MerchantStatement)
        .where(
            MerchantStatement.merchant_id == merchant_id,
            MerchantStatement.month == month,
            MerchantStatement.sent_at.is_(None),
            MerchantStatement.claimed_at < utcnow() - STALE_CLAIM,
        )
        .values(claimed_at=utcnow())
    )
    db.session.commit()
    return taken_over.rowcount == 1


def _release(merchant_id, month):
    db.session.rollback()
    db.session.execute(
        MerchantStatement.__table__.delete().where(
            MerchantStatement.merchant_id == merchant_id,
            MerchantStatement.month == month,
            MerchantStatement.sent_at.is_(None),
        )
    )
    db.session.commit()


def _mark_sent(merchant_id, month, total_cents):
    db.session.execute(
        update(MerchantStatement)
        .where(MerchantStatement.merchant_id == merchant_id, MerchantStatement.month == month)
        .values(sent_at=utcnow(), total_cents=total_cents)
    )
    db.session.commit()

"""The PDF receipt of a payment (ReportLab, in the style of the activity report).

It shows the lot, the vehicle and spot, the stay's times in the lot's time zone, the
price's lines as billed when the payment was made, every payment on the booking with its
method and time, and the refunds.
"""

from reportlab.lib import colors
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from parkapp.billing import bills as billing
from parkapp.billing.payments import PAYABLE
from parkapp.core.exceptions import WrongState
from parkapp.core.money import money
from parkapp.core.pdf import Listing, build_a4
from parkapp.core.timezones import localtime
from parkapp.models import PaymentStatus

LABEL = colors.HexColor("#5b6475")
TIME = "%Y-%m-%d %H:%M"


def file_name(payment):
    return f"receipt-{payment.receipt_number}.pdf"


def receipt_pdf(payment):
    """The receipt of a paid (or refunded) payment as PDF bytes; WrongState before that."""
    if payment.status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
        raise WrongState(
            f"This payment is {payment.status.value}; its receipt exists once it is paid.",
            code="not_paid",
        )
    booking, lot = payment.booking, payment.booking.lot
    styles = getSampleStyleSheet()
    bill = billing.bill(booking, payment.paid_at)
    story = [
        Paragraph(f"Receipt {payment.receipt_number}", styles["Title"]),
        Paragraph(lot.name, styles["Heading2"]),
        Paragraph(", ".join(part for part in (lot.address, lot.city) if part), styles["Normal"]),
        Spacer(1, 4 * mm),
        facts_table(_payment_facts(payment) + _stay_facts(booking)),
        Spacer(1, 5 * mm),
        Paragraph("Price", styles["Heading3"]),
        _price_table(bill.quote),
        Spacer(1, 5 * mm),
        Paragraph("Payments", styles["Heading3"]),
        Listing(["Receipt", "Method", "Status", "Paid at", "Amount"], _payment_rows(booking)),
    ]
    refund_rows = _refund_rows(booking)
    if refund_rows:
        story += [
            Spacer(1, 5 * mm),
            Paragraph("Refunds", styles["Heading3"]),
            Listing(["Date", "Receipt", "Reason", "Amount"], refund_rows),
        ]
    story += [Spacer(1, 5 * mm), facts_table(_totals(booking, bill))]
    return build_a4(story, f"Receipt {payment.receipt_number}")


def _payment_facts(payment):
    lot = payment.booking.lot
    return [
        ("Receipt number", payment.receipt_number),
        ("Paid", f"{localtime(payment.paid_at, lot, TIME)} ({lot.timezone})"),
        ("Method", payment.method.value),
        ("Amount", money(payment.amount_cents, payment.currency)),
    ]


def _stay_facts(booking):
    lot = booking.lot
    facts = [
        ("Booking", booking.confirmation_code),
        ("Vehicle", booking.plate),
        ("Spot", booking.spot.label),
    ]
    if booking.checked_in_at is not None:
        facts.append(("Entry", localtime(booking.checked_in_at, lot, TIME)))
        end = booking.released_at
        facts.append(("Exit", localtime(end, lot, TIME) if end else "still parked"))
    else:
        facts.append(("Booked from", localtime(booking.starts_at, lot, TIME)))
        facts.append(("Booked until", localtime(booking.booked_ends_at, lot, TIME)))
    return facts


def facts_table(pairs):
    """(label, value) rows as a two-column table, labels muted (membership receipts too)."""
    table = Table([list(pair) for pair in pairs], colWidths=[50 * mm, 120 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle([("FONTSIZE", (0, 0), (-1, -1), 10), ("TEXTCOLOR", (0, 0), (0, -1), LABEL)])
    )
    return table


def _price_table(quote):
    rows = [[line.label, money(line.amount_cents, quote.currency)] for line in quote.lines]
    rows.append(["Total", money(quote.total_cents, quote.currency)])
    table = Table(rows, colWidths=[130 * mm, 40 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 10),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, LABEL),
            ]
        )
    )
    return table


def _payment_rows(booking):
    lot = booking.lot
    return [
        [
            p.receipt_number,
            p.method.value,
            p.status.value,
            localtime(p.paid_at, lot, TIME) if p.paid_at else "",
            money(p.amount_cents, p.currency),
        ]
        for p in booking.payments
    ]


def _refund_rows(booking):
    lot = booking.lot
    return [
        [
            localtime(r.created_at, lot, TIME),
            p.receipt_number,
            r.reason,
            money(-r.amount_cents, p.currency),
        ]
        for p in booking.payments
        for r in p.refunds
    ]


def _totals(booking, bill):
    currency = bill.currency
    paid = sum(p.amount_cents for p in booking.payments if p.paid_at is not None)
    refunded = sum(p.refunded_cents or 0 for p in booking.payments)
    payable = booking.status in PAYABLE
    return [
        ("Total paid", money(paid, currency)),
        ("Refunded", money(refunded, currency)),
        ("Still due", money(billing.bill(booking).due_cents if payable else 0, currency)),
    ]

"""PDF reports with ReportLab: a driver's monthly activity, an admin's revenue by lot and day."""

from collections import defaultdict
from dataclasses import dataclass, field

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from parkapp.core.money import money
from parkapp.core.pdf import Listing, build_a4
from parkapp.core.timezones import local_text


@dataclass
class Activity:
    """A user's bookings in one month, summed up for the report."""

    name: str
    month_label: str
    bookings: int = 0
    minutes: int = 0
    spent: dict = field(default_factory=lambda: defaultdict(int))
    saved: dict = field(default_factory=lambda: defaultdict(int))
    by_lot: dict = field(default_factory=dict)
    by_week: dict = field(default_factory=lambda: defaultdict(int))
    rows: list = field(default_factory=list)

    def add(self, lot_name, zone, spot, plate, starts, ends, price, currency, status, week):
        """Fold one booking into the totals and the listing."""
        minutes = int((ends - starts).total_seconds() // 60) if ends else 0
        self.bookings += 1
        self.minutes += minutes
        self.spent[currency] += price or 0
        lot = self.by_lot.setdefault(lot_name, [0, 0, defaultdict(int)])
        lot[0] += 1
        lot[1] += minutes
        lot[2][currency] += price or 0
        self.by_week[week] += 1
        self.rows.append(
            [
                local_text(starts, zone),
                lot_name,
                spot,
                plate,
                f"{minutes // 60}h{minutes % 60:02d}",
                str(status),
                "" if price is None else money(price, currency),
            ]
        )


def _totals(amounts):
    return ", ".join(money(v, c) for c, v in sorted(amounts.items())) or "0.00"


def build_activity_pdf(path, activity):
    """Write the monthly activity PDF for one user."""
    styles = getSampleStyleSheet()
    story = [
        Paragraph(f"parkapp activity report: {activity.month_label}", styles["Title"]),
        Paragraph(f"For {activity.name}", styles["Heading2"]),
        _facts_table(
            [
                ("Bookings", str(activity.bookings)),
                ("Hours parked", f"{activity.minutes / 60:.1f}"),
                ("Amount spent", _totals(activity.spent)),
                ("Saved by discounts and memberships", _totals(activity.saved)),
            ]
        ),
        Spacer(1, 6 * mm),
        Paragraph("By lot", styles["Heading3"]),
    ]
    lot_rows = [
        [name, str(n), f"{m / 60:.1f}", _totals(spent)]
        for name, (n, m, spent) in sorted(activity.by_lot.items())
    ]
    story += _chunked(["Lot", "Bookings", "Hours", "Spent"], lot_rows)
    if activity.by_week:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Bookings by week", styles["Heading3"]),
            _week_chart(activity.by_week),
        ]
    story += [Spacer(1, 4 * mm), Paragraph("Bookings", styles["Heading3"])]
    story += _chunked(
        ["Start", "Lot", "Spot", "Plate", "Duration", "Status", "Amount"], activity.rows
    )
    build_a4(story, f"Activity {activity.month_label}", path)


def _facts_table(pairs):
    table = Table([[k, v] for k, v in pairs], colWidths=[70 * mm, 100 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 10),
                ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor("#5b6475")),
            ]
        )
    )
    return table


def _chunked(header, rows):
    """The rows as a Listing (which splits across pages), or a line saying there are none."""
    if not rows:
        return [Paragraph("Nothing in this period.", getSampleStyleSheet()["Normal"])]
    return [Listing(header, rows)]


def _week_chart(by_week):
    weeks = sorted(by_week)
    drawing = Drawing(170 * mm, 45 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 10 * mm, 8 * mm, 150 * mm, 32 * mm
    chart.data = [[by_week[w] for w in weeks]]
    chart.categoryAxis.categoryNames = [f"wk {w}" for w in weeks]
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#1f5eff")
    drawing.add(chart)
    return drawing


def build_revenue_pdf(path, title, rows):
    """Write an admin revenue and occupancy PDF: rows of (day, lot, bookings, hours, revenue)."""
    styles = getSampleStyleSheet()
    story = [Paragraph(title, styles["Title"])]
    story += _chunked(["Day", "Lot", "Bookings", "Hours parked", "Revenue"], rows)
    SimpleDocTemplate(path, pagesize=A4, title=title).build(story)


def week_of(instant):
    """ISO week number of an instant."""
    return instant.isocalendar().week

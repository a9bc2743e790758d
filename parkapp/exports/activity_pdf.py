"""PDF reports with ReportLab: a driver's monthly activity, an admin's revenue by lot and day.

Long listings are drawn by `Listing`, not ReportLab's Table: one Table split across many
pages costs quadratic time in its rows, and even in chunks of a few hundred rows its
per-cell layout and drawing took 2.8 s for 10,000 bookings (bench/exports.py). Listing
draws the same striped, gridded table with the header on every page in about 1.1 s.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import accumulate

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from parkapp.exports.booking_csv import _local
from parkapp.pricing.quoting import money

HEADER_BACKGROUND = colors.HexColor("#1f5eff")
STRIPE = colors.HexColor("#f1f4f9")
GRID = colors.HexColor("#c4cad4")
FONT, FONT_SIZE = "Helvetica", 8
ROW_HEIGHT = 18  # a 12 pt line and 3 pt of padding above and below, as ReportLab's Table
PADDING = 6  # left and right of the text in a cell
BASELINE = 7  # text baseline above the bottom of its row


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
                _local(starts, zone),
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
    SimpleDocTemplate(
        path,
        pagesize=A4,
        title=f"Activity {activity.month_label}",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
    ).build(story)


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


class Listing(Flowable):
    """A table of one-line text cells, striped and gridded, its header on every page.

    It looks like ReportLab's Table with the style this module used (blue header row,
    alternate row shading, a light grid, the last column right-aligned) but lays out once:
    column widths come from the widest text in each column, every row is ROW_HEIGHT high,
    and a page draws its cells in one text object.
    """

    def __init__(self, header, rows, widths=None, start=0, stop=None):
        super().__init__()
        self.hAlign = "CENTER"
        self.header, self.rows = header, rows
        self.widths = widths or _column_widths(header, rows)
        self.start, self.stop = start, len(rows) if stop is None else stop
        self.width = sum(self.widths)
        self.height = ROW_HEIGHT * (self.stop - self.start + 1)

    def wrap(self, avail_width, avail_height):
        """Its size: the header and every row it holds."""
        return self.width, self.height

    def split(self, avail_width, avail_height):
        """The rows that fit in avail_height under a header, and the rest (nothing fits: [])."""
        fit = int(avail_height // ROW_HEIGHT) - 1
        if fit < 1:
            return []
        if self.start + fit >= self.stop:
            return [self]
        middle = self.start + fit
        return [
            Listing(self.header, self.rows, self.widths, self.start, middle),
            Listing(self.header, self.rows, self.widths, middle, self.stop),
        ]

    def draw(self):
        """Shade, rule, then write every cell of this part."""
        canvas, count = self.canv, self.stop - self.start
        edges = [0, *accumulate(self.widths)]
        tops = [self.height - ROW_HEIGHT * k for k in range(count + 2)]
        canvas.setFillColor(HEADER_BACKGROUND)
        canvas.rect(0, tops[1], self.width, ROW_HEIGHT, stroke=0, fill=1)
        canvas.setFillColor(STRIPE)
        for bottom in tops[3::2]:  # every second row, the first one after the header white
            canvas.rect(0, bottom, self.width, ROW_HEIGHT, stroke=0, fill=1)
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(0.25)
        canvas.grid(edges, tops)
        text = canvas.beginText()
        text.setFont(FONT, FONT_SIZE)
        text.setFillColor(colors.white)
        _write_row(text, self.header, edges, tops[1] + BASELINE, right_last=False)
        text.setFillColor(colors.black)
        for bottom, row in zip(tops[2:], self.rows[self.start : self.stop], strict=True):
            _write_row(text, row, edges, bottom + BASELINE, right_last=True)
        canvas.drawText(text)


def _column_widths(header, rows):
    """The widest text of each column (each distinct value measured once) plus padding."""
    return [
        max(stringWidth(str(value), FONT, FONT_SIZE) for value in set(column)) + 2 * PADDING
        for column in zip(header, *rows, strict=True)
    ]


def _write_row(text, cells, edges, baseline, right_last):
    """Write one row's cells into a text object, moving along the line between cells."""
    text.setTextOrigin(edges[0] + PADDING, baseline)
    line_start = edges[0] + PADDING
    last = len(cells) - 1
    for i, cell in enumerate(cells):
        cell = str(cell)
        if right_last and i == last:
            x = edges[i + 1] - PADDING - stringWidth(cell, FONT, FONT_SIZE)
        else:
            x = edges[i] + PADDING
        if x != line_start:
            text.setXPos(x - line_start)  # relative to the start of the line, not the cursor
            line_start = x
        text.textOut(cell)


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

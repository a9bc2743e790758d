"""PDF building blocks with ReportLab: an A4 document, and `Listing`, a long striped table
laid out once.

One ReportLab Table split across many pages costs quadratic time in its rows, and even in
chunks of a few hundred rows its per-cell layout and drawing took 2.8 s for 10,000 bookings
(bench/exports.py). Listing draws the same striped, gridded table with the header on every
page in about 1.1 s.
"""

from io import BytesIO
from itertools import accumulate

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, SimpleDocTemplate

HEADER_BACKGROUND = colors.HexColor("#1f5eff")


STRIPE = colors.HexColor("#f1f4f9")


GRID = colors.HexColor("#c4cad4")


FONT, FONT_SIZE = "Helvetica", 8


ROW_HEIGHT = 18  # a 12 pt line and 3 pt of padding above and below, as ReportLab's Table


PADDING = 6  # left and right of the text in a cell


BASELINE = 7  # text baseline above the bottom of its row


def build_a4(story, title, path=None):
    """Lay `story` out on A4 pages with 15 mm side margins; the PDF's bytes (or write `path`)."""
    target = path or BytesIO()
    SimpleDocTemplate(
        target, pagesize=A4, title=title, leftMargin=15 * mm, rightMargin=15 * mm
    ).build(story)
    return None if path else target.getvalue()


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

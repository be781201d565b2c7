"""Reading order for OCR boxes: lines top to bottom, boxes left to right, and columns one after another.

Lines: boxes are taken in order of their vertical centre; a box joins the line being built when its
vertical extent overlaps that line's (mean top to mean bottom of the boxes in it) by at least half of the
smaller of the two heights, else it starts a new line. Within a line, boxes go left to right.

Columns (an XY-cut over lines): a line whose boxes leave a wide horizontal gap (more than GAP_HEIGHTS
times the median box height) is split there into segments. A gutter is an x position that falls in such
a gap on many lines and inside a segment on few; it separates columns when both sides read as prose:
each side at least MIN_SIDE of the page's width, its segments MIN_CHARS characters long on average, and
MIN_ROWS lines split there. Lines that cross the gutter (a title, a full-width paragraph, a footer) cut
the page into stretches; each stretch is read left column first, then right, and each column is cut again
(three columns and more). Without such a gutter, a page reads line by line as before: key-value forms and
tables keep their rows, because their sides are short labels and values, not prose.

Segments of a line are joined by one space, lines by "\\n".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIN_OVERLAP = 0.5  # of the smaller height
GAP_HEIGHTS = 1.5
MIN_SIDE = 0.25
MIN_CHARS = 15
MIN_ROWS = 4
MAX_DEPTH = 4


@dataclass(frozen=True)
class TextBox:
    left: float
    top: float
    bottom: float
    text: str
    right: float | None = None
    """The right edge; None: estimated from the text's length and the box's height."""

    @classmethod
    def from_quad(cls, quad: Sequence[Sequence[float]], text: str) -> TextBox:
        """From OCR output's four corner points [[x, y], ...] in any order."""
        xs = [float(p[0]) for p in quad]
        ys = [float(p[1]) for p in quad]
        return cls(min(xs), min(ys), max(ys), text, max(xs))

    @property
    def end(self) -> float:
        if self.right is not None:
            return self.right
        return self.left + 0.5 * (self.bottom - self.top) * len(self.text)


Segment = list[TextBox]
Row = list[Segment]


def reading_order_lines(boxes: Iterable[TextBox]) -> list[str]:
    """The text of the boxes as lines in reading order (empty boxes dropped)."""
    items = [b for b in boxes if b.text.strip()]
    if not items:
        return []
    heights = sorted(b.bottom - b.top for b in items)
    gap = GAP_HEIGHTS * max(heights[len(heights) // 2], 1e-6)
    rows = [_segments(line, gap) for line in _lines(items)]
    return [_text(row) for row in _order(rows, 0)]


def _lines(items: list[TextBox]) -> list[list[TextBox]]:
    lines: list[list[TextBox]] = []
    for box in sorted(items, key=lambda b: ((b.top + b.bottom) / 2, b.left)):
        if lines and _same_line(lines[-1], box):
            lines[-1].append(box)
        else:
            lines.append([box])
    return [sorted(line, key=lambda b: b.left) for line in lines]


def _same_line(line: list[TextBox], box: TextBox) -> bool:
    top = sum(b.top for b in line) / len(line)
    bottom = sum(b.bottom for b in line) / len(line)
    overlap = min(bottom, box.bottom) - max(top, box.top)
    smaller = max(min(bottom - top, box.bottom - box.top), 1e-6)
    return overlap >= MIN_OVERLAP * smaller


def _segments(line: list[TextBox], gap: float) -> Row:
    """A line cut where its boxes leave a gap wider than GAP."""
    row: Row = [[line[0]]]
    for box in line[1:]:
        if box.left - max(b.end for b in row[-1]) > gap:
            row.append([box])
        else:
            row[-1].append(box)
    return row


def _text(row: Row) -> str:
    return " ".join(b.text.strip() for segment in row for b in segment)


def _span(segment: Segment) -> tuple[float, float]:
    return min(b.left for b in segment), max(b.end for b in segment)


def _order(rows: list[Row], depth: int) -> list[Row]:
    """ROWS in reading order: column by column where a gutter is found (recursively), else as they are."""
    gutter = _gutter(rows) if depth < MAX_DEPTH else None
    if gutter is None:
        return rows
    out: list[Row] = []
    left: list[Row] = []
    right: list[Row] = []

    def flush() -> None:
        out.extend(_order(left, depth + 1))
        out.extend(_order(right, depth + 1))
        left.clear()
        right.clear()

    for row in rows:
        if any(_span(s)[0] < gutter < _span(s)[1] for s in row):
            flush()  # a line across the gutter ends the stretch of columns above it
            out.append(row)
            continue
        lhs = [s for s in row if _span(s)[1] <= gutter]
        rhs = [s for s in row if _span(s)[0] >= gutter]
        if lhs:
            left.append(lhs)
        if rhs:
            right.append(rhs)
    flush()
    return out


def _gutter(rows: list[Row]) -> float | None:
    """The x of a gutter between two prose columns, or None (see the module docstring)."""
    segments = [s for row in rows for s in row]
    if len(segments) < 2 * MIN_ROWS:
        return None
    x0 = min(_span(s)[0] for s in segments)
    x1 = max(_span(s)[1] for s in segments)
    width = x1 - x0
    if width <= 0:
        return None
    candidates = sorted(
        {
            (_span(a)[1] + _span(b)[0]) / 2
            for row in rows
            for a, b in zip(row, row[1:])
            if x0 + MIN_SIDE * width <= (_span(a)[1] + _span(b)[0]) / 2 <= x1 - MIN_SIDE * width
        }
    )
    best, best_support = None, 0
    for x in candidates:
        support = crossing = 0
        for row in rows:
            spans = [_span(s) for s in row]
            if any(a < x < b for a, b in spans):
                crossing += 1
            elif any(b <= x for _, b in spans) and any(a >= x for a, _ in spans):
                support += 1
        if support >= MIN_ROWS and support >= 2 * crossing and support > best_support:
            if _prose(rows, x, x0, x1):
                best, best_support = x, support
    return best


def _prose(rows: list[Row], x: float, x0: float, x1: float) -> bool:
    """Both sides of X read as columns of prose: wide enough, with lines long enough."""
    sides: tuple[list[Segment], list[Segment]] = ([], [])
    for row in rows:
        for s in row:
            a, b = _span(s)
            if b <= x:
                sides[0].append(s)
            elif a >= x:
                sides[1].append(s)
    for side in sides:
        if len(side) < MIN_ROWS:
            return False
        lo = min(_span(s)[0] for s in side)
        hi = max(_span(s)[1] for s in side)
        if hi - lo < MIN_SIDE * (x1 - x0):
            return False
        chars = sum(len(" ".join(b.text.strip() for b in s)) for s in side) / len(side)
        if chars < MIN_CHARS:
            return False
    return True

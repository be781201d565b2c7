"""Reading order for OCR boxes: group boxes into lines, lines top to bottom, boxes left to right.

The rule, kept simple on purpose: boxes are taken in order of their vertical centre; a box joins the
line being built when its vertical extent overlaps that line's (mean top to mean bottom of the boxes
in it) by at least half of the smaller of the two heights, else it starts a new line. Within a line,
boxes go left to right by their left edge, joined by one space; lines are joined by "\\n".
Two columns side by side therefore merge into shared lines; a page layout model is out of scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIN_OVERLAP = 0.5  # of the smaller height


@dataclass(frozen=True)
class TextBox:
    left: float
    top: float
    bottom: float
    text: str

    @classmethod
    def from_quad(cls, quad: Sequence[Sequence[float]], text: str) -> TextBox:
        """From OCR output's four corner points [[x, y], ...] in any order."""
        xs = [float(p[0]) for p in quad]
        ys = [float(p[1]) for p in quad]
        return cls(min(xs), min(ys), max(ys), text)


def reading_order_lines(boxes: Iterable[TextBox]) -> list[str]:
    """The text of the boxes as lines in reading order (empty boxes dropped)."""
    items = sorted((b for b in boxes if b.text.strip()), key=lambda b: ((b.top + b.bottom) / 2, b.left))
    lines: list[list[TextBox]] = []
    for box in items:
        if lines and _same_line(lines[-1], box):
            lines[-1].append(box)
        else:
            lines.append([box])
    return [" ".join(b.text.strip() for b in sorted(line, key=lambda b: b.left)) for line in lines]


def _same_line(line: list[TextBox], box: TextBox) -> bool:
    top = sum(b.top for b in line) / len(line)
    bottom = sum(b.bottom for b in line) / len(line)
    overlap = min(bottom, box.bottom) - max(top, box.top)
    smaller = max(min(bottom - top, box.bottom - box.top), 1e-6)
    return overlap >= MIN_OVERLAP * smaller

"""Reading order of OCR boxes (vlmhb_server/layout.py, stdlib only): multi-column pages column by column,
single columns, forms and tables row by row as before. Boxes come from synthetic layouts and from the
text rectangles of real two-column PDF pages (fpdf2, read back with pypdfium2)."""

from __future__ import annotations

from pathlib import Path

import jiwer
import pytest

from tests.support.documents import PROSE, two_column_pdf, two_column_reference
from vlmhb_server.layout import TextBox, reading_order_lines


def column(x: float, top: float, lines: list[str], width: float = 300, height: float = 20) -> list[TextBox]:
    """One box per line, as an OCR engine that finds line boxes (rapidocr) gives them."""
    return [TextBox(x, top + i * 28, top + i * 28 + height, t, x + width) for i, t in enumerate(lines)]


LEFT = [f"left column line {i} with enough words" for i in range(6)]
RIGHT = [f"right column line {i} with enough words" for i in range(6)]


def test_two_aligned_columns_are_read_one_after_the_other():
    boxes = [TextBox(200, 10, 40, "A title across both columns", 500)]
    boxes += column(40, 60, LEFT) + column(380, 60, RIGHT)
    assert reading_order_lines(boxes) == ["A title across both columns", *LEFT, *RIGHT]


def test_a_line_across_the_gutter_ends_a_stretch_of_columns():
    boxes = column(40, 0, LEFT[:4]) + column(380, 0, RIGHT[:4])
    boxes += [TextBox(40, 130, 150, "a full-width paragraph line that crosses the gutter of the page", 680)]
    boxes += column(40, 170, LEFT[4:] + LEFT[:2]) + column(380, 170, RIGHT[4:] + RIGHT[:2])
    expected = [*LEFT[:4], *RIGHT[:4], boxes[8].text, *LEFT[4:], *LEFT[:2], *RIGHT[4:], *RIGHT[:2]]
    assert reading_order_lines(boxes) == expected


def test_three_columns():
    cols = [[f"column {c} line {i} carries prose text" for i in range(5)] for c in range(3)]
    boxes = [b for c in range(3) for b in column(20 + c * 240, 0, cols[c], width=200)]
    assert reading_order_lines(boxes) == [line for c in cols for line in c]


def test_a_single_column_and_word_boxes_read_as_before():
    words = []
    for row, line in enumerate(["The quick brown fox", "jumps over the lazy dog"]):
        x = 10.0
        for w in line.split():
            words.append(TextBox(x, row * 30, row * 30 + 20, w, x + 12 * len(w)))
            x += 12 * len(w) + 8
    assert reading_order_lines(reversed(words)) == ["The quick brown fox", "jumps over the lazy dog"]


def test_forms_and_tables_keep_their_rows():
    labels = ["Invoice number:", "Date:", "Customer:", "Total due:", "Payment terms:", "Reference:"]
    values = [
        "INV-2026-0042",
        "2026-11-30",
        "ACME Laboratories Ltd",
        "1,234.50 EUR",
        "30 days net",
        "PO 7781",
    ]
    boxes = column(40, 0, labels, width=160) + column(420, 0, values, width=220)
    assert reading_order_lines(boxes) == [f"{a} {b}" for a, b in zip(labels, values)]


def pdf_boxes(path: Path) -> list[TextBox]:
    """The text rectangles of a real PDF page (pypdfium2), top-down coordinates: what an OCR engine finds."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    page = pdf[0]
    height = page.get_height()
    text = page.get_textpage()
    boxes = []
    for i in range(text.count_rects()):
        left, bottom, right, top = text.get_rect(i)
        words = text.get_text_bounded(left, bottom, right, top).strip()
        if words:
            boxes.append(TextBox(left, height - top, height - bottom, words, right))
    pdf.close()
    return boxes


@pytest.mark.parametrize("size", [9.5, 8.0])
def test_a_real_two_column_page_keeps_its_column_order(tmp_path, size):
    left, right = PROSE[:3] * 2, PROSE[3:] * 2
    path = two_column_pdf(tmp_path / "page.pdf", left, right, size=size)
    boxes = pdf_boxes(path)
    reference = " ".join(two_column_reference(left, right).split())
    ordered = " ".join(" ".join(reading_order_lines(boxes)).split())
    rows_only = " ".join(" ".join(_rows(boxes)).split())
    assert jiwer.cer(reference, ordered) < 0.02
    assert jiwer.cer(reference, rows_only) > 0.3  # what reading row by row across the gutter gives


def _rows(boxes: list[TextBox]) -> list[str]:
    """Rows across the whole page, the order before columns were found (the first release's)."""
    from vlmhb_server.layout import _lines

    return [" ".join(b.text for b in line) for line in _lines(boxes)]

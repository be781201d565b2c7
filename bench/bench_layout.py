"""Reading order of the OCR baselines on real multi-column renders: CER and token F1 before and after.

    python bench/bench_layout.py [--dpi 150]

Writes real pages with fpdf2 (a two-column guideline page like the dense one of the issue, a denser one, a
two-column page with a full-width paragraph between its stretches, a three-column newsletter, and two
controls that must not change: one column of prose and a key-value form), renders them with PDFium at
--dpi, and reads them with the OCR engines in their own environments (built by the EnvManager as the
benchmark builds them):

- rapidocr: one OCR pass a page; its boxes ordered as before (lines across the whole page: layout.py with
  columns switched off) and now (layout.py's XY-cut);
- tesseract: its own page segmentation (the default, before and now), and `layout=xycut` (its word
  boxes through layout.py).

The reference is each page's text layer, in the order it was written (title, then column by column).
CER is jiwer's over the page with whitespace runs as one space; token F1 is CC-OCR's (order-free).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jiwer  # noqa: E402

from environments.backends import BACKENDS  # noqa: E402
from environments.manager import EnvManager  # noqa: E402
from metrics._parse import cc_ocr_f1, cc_ocr_tokens  # noqa: E402
from tests.support.documents import FONT, FONT_BOLD, PROSE  # noqa: E402
from vlmhyperbench.config import ModelRow  # noqa: E402

FORM = [
    ("Invoice number:", "INV-2026-0042"),
    ("Issue date:", "30 November 2026"),
    ("Customer:", "ACME Laboratories Ltd"),
    ("Address:", "12 Harbour Road, Leith"),
    ("Total due:", "1,234.50 EUR"),
    ("Payment terms:", "30 days net"),
    ("Reference:", "PO 7781 / project Delta"),
]

# In the engine's environment: one OCR pass a page, ordered both ways; JSON lines out.
IN_ENV = r"""
import json, sys
from PIL import Image
from vlmhb_server import layout
from vlmhb_server.layout import TextBox, reading_order_lines
engine_name, pages = sys.argv[1], sys.argv[2:]
if engine_name == "rapidocr":
    from vlmhb_server.engine_rapidocr import RapidOCREngine
    engine = RapidOCREngine("", {"warmup": "false"}); engine.load()
else:
    from vlmhb_server.engine_tesseract import TesseractEngine
    own = TesseractEngine("", {"lang": "eng", "workers": "1"}); own.load()
    xy = TesseractEngine("", {"lang": "eng", "layout": "xycut", "workers": "1"}); xy.load()
for path in pages:
    image = Image.open(path).convert("RGB")
    if engine_name == "rapidocr":
        import numpy as np
        result, _ = engine._ocr(np.asarray(image))
        boxes = [TextBox.from_quad(box, text) for box, text, *_ in (result or [])]
        layout.MAX_DEPTH = 0
        before = reading_order_lines(boxes)
        layout.MAX_DEPTH = 4
        out = {"before": before, "now": reading_order_lines(boxes)}
    else:
        text = own.recognise(image)
        out = {"before": text, "now": text, "now (layout=xycut)": xy.recognise(image)}
    print(json.dumps({"page": path, **out}), flush=True)
"""


def _pdf():
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.add_font("body", "", str(FONT))
    pdf.add_font("body", "B", str(FONT_BOLD))
    return pdf


def _title(pdf, text: str) -> None:
    pdf.set_font("body", "B", 15)
    pdf.set_xy(18, 14)
    pdf.cell(174, 9, text, align="C")


def _column(
    pdf, x: float, y: float, width: float, paragraphs: list[str], size: float, bottom: float = 285
) -> float:
    pdf.set_font("body", "", size)
    pdf.set_xy(x, y)
    for paragraph in paragraphs:
        if pdf.get_y() > bottom:
            break
        pdf.set_x(x)
        pdf.multi_cell(width, size * 0.45, paragraph, align="J")
        pdf.set_y(pdf.get_y() + size * 0.3)
    return pdf.get_y()


def make_pages(folder: Path) -> dict[str, Path]:
    pages = {}

    def save(name, pdf) -> None:
        pages[name] = folder / f"{name}.pdf"
        pdf.output(str(pages[name]))

    pdf = _pdf()
    pdf.add_page()
    _title(pdf, "Laboratory guideline")
    _column(pdf, 18, 30, 82, PROSE[:3] * 2, 9.5)
    _column(pdf, 110, 30, 82, PROSE[3:] * 2, 9.5)
    save("two-column guideline", pdf)

    pdf = _pdf()
    pdf.add_page()
    _title(pdf, "Quality manual, section 4")
    _column(pdf, 15, 28, 87, PROSE * 4, 8.0)
    _column(pdf, 108, 28, 87, PROSE[::-1] * 4, 8.0)
    save("dense two-column", pdf)

    pdf = _pdf()
    pdf.add_page()
    _title(pdf, "Annual report")
    _column(pdf, 18, 30, 82, PROSE[:2], 9.5, bottom=95)
    _column(pdf, 110, 30, 82, PROSE[2:4], 9.5, bottom=95)
    y = _column(pdf, 18, 100, 174, [PROSE[4] + " " + PROSE[5]], 9.5)
    _column(pdf, 18, y + 6, 82, PROSE[1:3], 9.5)
    _column(pdf, 110, y + 6, 82, PROSE[3:5], 9.5)
    save("columns, full-width paragraph, columns", pdf)

    pdf = _pdf()
    pdf.add_page()
    _title(pdf, "Staff newsletter")
    for i, x in enumerate((15, 77, 139)):
        _column(pdf, x, 30, 56, PROSE[i * 2 : i * 2 + 2] * 2, 8.5)
    save("three-column newsletter", pdf)

    pdf = _pdf()
    pdf.add_page()
    _title(pdf, "Memorandum")
    _column(pdf, 18, 30, 174, PROSE, 10)
    save("control: one column", pdf)

    pdf = _pdf()
    pdf.add_page()
    _title(pdf, "Invoice")
    pdf.set_font("body", "", 11)
    for i, (label, value) in enumerate(FORM):
        pdf.set_xy(20, 35 + i * 9)
        pdf.cell(50, 6, label)
        pdf.set_xy(110, 35 + i * 9)
        pdf.cell(80, 6, value)
    save("control: key-value form", pdf)
    return pages


def render(pages: dict[str, Path], dpi: int) -> tuple[dict[str, Path], dict[str, str]]:
    import pypdfium2 as pdfium

    images, references = {}, {}
    for name, path in pages.items():
        pdf = pdfium.PdfDocument(str(path))
        page = pdf[0]
        images[name] = path.with_suffix(".png")
        page.render(scale=dpi / 72).to_pil().save(images[name])
        references[name] = page.get_textpage().get_text_bounded()
        pdf.close()
    return images, references


def flat(text: str) -> str:
    return " ".join(text.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="vlmhb-bench-layout-"))
    images, references = render(make_pages(folder), args.dpi)
    manager = EnvManager()
    print(f"{len(images)} pages written with fpdf2, rendered by PDFium at {args.dpi} dpi ({folder})")
    for engine in ("tesseract", "rapidocr"):
        env = manager.ensure(
            manager.spec(ModelRow(name=engine, backend=engine), BACKENDS.get(engine), "venv")
        )
        proc = subprocess.run(
            [env.python, "-c", IN_ENV, engine, *map(str, images.values())],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": env.server_path or "", "PATH": "/usr/bin:/bin", "OMP_THREAD_LIMIT": "1"},
        )
        if proc.returncode:
            print(f"{engine}: failed\n{proc.stderr[-2000:]}")
            continue
        by_page = {Path(r["page"]): r for r in map(json.loads, proc.stdout.splitlines())}
        print(f"\n{engine}")
        print(f"{'page':42} {'reading':20} {'CER':>6} {'token F1':>9}")
        for name, image in images.items():
            ref = flat(references[name])
            for label, lines in by_page[image].items():
                if label == "page":
                    continue
                hyp = flat("\n".join(lines))
                cer = jiwer.cer(ref, hyp)
                f1 = cc_ocr_f1(cc_ocr_tokens(hyp), cc_ocr_tokens(ref))
                print(f"{name:42} {label:20} {cer:6.3f} {f1:9.3f}")


if __name__ == "__main__":
    main()

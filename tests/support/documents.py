"""PDFs and OmniDocBench / olmOCR-bench folders written by the tests and bench/ (fpdf2, DejaVu fonts).

text_pdf(path, ["page one text", "page two text"])         # born-digital, one text block a page
two_column_pdf(path, left_paragraphs, right_paragraphs)     # a title across, then two columns
omnidocbench_folder(root, pages)                            # images/ + OmniDocBench.json
olmocr_bench_folder(root, {"multi_column": [...]})          # pdfs/ + <category>.jsonl
"""

from __future__ import annotations

import json
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

PROSE = [
    "The committee reviewed the draft guideline and agreed that every laboratory report must state "
    "the method, the instrument and the date of calibration before any result is released.",
    "Samples that arrive outside the stated temperature range are logged, photographed and kept "
    "apart until the responsible officer decides whether they can still be analysed.",
    "Each result carries the name of the analyst who produced it and of the colleague who checked it; "
    "neither may sign for the other, and both signatures are kept with the raw data.",
    "When two results disagree by more than the stated tolerance, the analysis is repeated on a fresh "
    "portion of the sample and both values are reported with a short explanation.",
    "Records are kept for seven years in a form that can be read without special software, and a copy "
    "is stored in a second building so that a fire or a flood cannot destroy both.",
    "Training is recorded for every member of staff, with the date, the trainer and the procedures "
    "covered, and it is repeated whenever a procedure changes in a way that affects results.",
]


def _pdf():
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    if FONT.exists():
        pdf.add_font("body", "", str(FONT))
        pdf.add_font("body", "B", str(FONT_BOLD if FONT_BOLD.exists() else FONT))
    return pdf


def _font(pdf, size: float, bold: bool = False) -> None:
    pdf.set_font("body" if FONT.exists() else "helvetica", "B" if bold else "", size)


def text_pdf(path: Path, pages: list[str], *, size: float = 12, encrypt: str | None = None) -> Path:
    """A born-digital PDF with one block of text on each page (a page of "" has no text layer)."""
    pdf = _pdf()
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password=encrypt)
    for text in pages:
        pdf.add_page()
        _font(pdf, size)
        if text:
            pdf.set_xy(20, 20)
            pdf.multi_cell(170, size * 0.5, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def two_column_pdf(
    path: Path, left: list[str], right: list[str], *, title: str = "Laboratory guideline", size: float = 9.5
) -> Path:
    """One A4 page: a title across the page, then LEFT's paragraphs in the left column and RIGHT's in the
    right one (the order a reader follows: title, left column, right column)."""
    pdf = _pdf()
    pdf.add_page()
    _font(pdf, 16, bold=True)
    pdf.set_xy(18, 16)
    pdf.cell(174, 9, title, align="C")
    line_h = size * 0.45
    for x, paragraphs in ((18, left), (110, right)):
        _font(pdf, size)
        pdf.set_xy(x, 34)
        for paragraph in paragraphs:
            pdf.set_x(x)
            pdf.multi_cell(82, line_h, paragraph, align="J")
            pdf.set_y(pdf.get_y() + line_h)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def two_column_reference(left: list[str], right: list[str], title: str = "Laboratory guideline") -> str:
    return "\n".join([title, *left, *right])


def omnidocbench_page(
    image_path: str, blocks: list[tuple[str, str]], *, layout: str = "single_column"
) -> dict:
    """One OmniDocBench.json entry: BLOCKS are (category_type, text/html/latex) in reading order."""
    dets = []
    for n, (category, content) in enumerate(blocks):
        det = {
            "category_type": category,
            "poly": [0, 0, 1, 0, 1, 1, 0, 1],
            "ignore": False,
            "order": n + 1,
            "anno_id": n,
        }
        if category == "table":
            det["html"] = content
        elif category == "equation_isolated":
            det["latex"] = content
        else:
            det["text"] = content
        dets.append(det)
    return {
        "layout_dets": dets,
        "page_info": {
            "page_no": 0,
            "height": 1100,
            "width": 850,
            "image_path": image_path,
            "page_attribute": {"data_source": "research_report", "language": "english", "layout": layout},
        },
        "extra": {"relation": []},
    }


def omnidocbench_folder(root: Path, pages: list[dict]) -> Path:
    """ROOT/OmniDocBench.json and ROOT/images/ with each page's text blocks drawn on a white page."""
    from PIL import Image, ImageDraw, ImageFont

    (root / "images").mkdir(parents=True, exist_ok=True)
    font = ImageFont.truetype(str(FONT), 28) if FONT.exists() else ImageFont.load_default()
    for page in pages:
        image = Image.new("RGB", (1240, 1754), "white")
        draw = ImageDraw.Draw(image)
        y = 80
        for det in page["layout_dets"]:
            if "text" in det:
                draw.text((80, y), det["text"], fill="black", font=font)
                y += 60
        image.save(root / "images" / page["page_info"]["image_path"])
    (root / "OmniDocBench.json").write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
    return root


def olmocr_bench_folder(root: Path, categories: dict[str, list[tuple[str, list[str], list[dict]]]]) -> Path:
    """ROOT/pdfs/<category>/<name>.pdf and ROOT/<category>.jsonl: CATEGORIES maps a category to its
    documents, each (name, page texts, tests); a test gets its pdf, page (default 1) and id filled in."""
    for category, documents in categories.items():
        lines = []
        for name, texts, tests in documents:
            pdf = f"{category}/{name}.pdf"
            text_pdf(root / "pdfs" / pdf, texts)
            for n, test in enumerate(tests):
                lines.append(json.dumps({"pdf": pdf, "page": 1, "id": f"{name}_{n}", **test}))
        (root / f"{category}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def zero_page_pdf(path: Path) -> Path:
    """A well-formed PDF whose page tree is empty (PDF libraries refuse to write one)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path

"""Render the embedded default dataset: synthetic invoices, receipts and forms (deterministic).

    python configs/default/make_data.py            # (re)write configs/default/data/
    python configs/default/make_data.py --check    # also OCR it with rapidocr and print the CER

Layout written (the committed files are what count; rerunning reproduces them byte for byte as long
as Pillow and the DejaVu fonts are the same):

    configs/default/data/images/<doc>.png|.jpg   36 documents (12 invoices, 12 receipts, 12 forms)
    configs/default/data/ocr.csv                 task ocr: one row a document, the full transcription
    configs/default/data/vqa.csv                 task vqa: 2-4 questions a document about its fields

Both CSVs are in the `vlmhyperbench` format (`;`), whose PATH may name the annotation CSV itself
instead of a folder holding annotation.csv; both sit in the folder that holds images/, so their image
paths stay inside the dataset root. datasets.csv names them as (name;task;format;path):

    default_ocr;ocr;vlmhyperbench;data/ocr.csv
    default_vqa;vqa;vlmhyperbench;data/vqa.csv

The OCR reference is what a good line-level OCR reads: the printed lines in reading order, the
pieces of one line (label and value columns, table cells) joined by one space, lines joined by "\\n".
`join_ocr_lines` below is that rule applied to an engine's boxes; the rapidocr server joins its
boxes the same way, so that the reference and the baseline agree on layout and differ only on text.
Text is set in DejaVu Sans at 34 px with wide word spacing: rapidocr drops the spaces of tightly set
text ("INVOICE No. 12345" -> "INVOICENo.12345"), which would dominate its CER here. Measured with
rapidocr-onnxruntime 1.4.4 (default settings) and `join_ocr_lines`: corpus CER 0.0005 (jiwer).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import sys
import unicodedata
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SEED = 20240611
BODY, TITLE = 34, 46  # px; rapidocr reads 34 px DejaVu Sans with its spaces intact
PITCH = 62  # line pitch, px
WORD_GAP = 0.7  # extra space between words, in em

FIRST = [
    "Maria",
    "John",
    "Aisha",
    "Kenji",
    "Olga",
    "Pedro",
    "Emma",
    "Liam",
    "Sofia",
    "David",
    "Chloe",
    "Ravi",
    "Nina",
    "Omar",
    "Lucas",
    "Hannah",
    "Tomas",
    "Grace",
]
LAST = [
    "Garcia",
    "Smith",
    "Khan",
    "Tanaka",
    "Petrova",
    "Silva",
    "Brown",
    "Murphy",
    "Rossi",
    "Cohen",
    "Martin",
    "Patel",
    "Novak",
    "Haddad",
    "Weber",
    "Fischer",
    "Larsen",
    "Walsh",
]
COMPANIES = [
    "Northwind Trading Co.",
    "Blue Harbor Supplies",
    "Greenfield Office Ltd.",
    "Summit Tools Inc.",
    "Redwood Print Works",
    "Atlas Logistics",
    "Maple Leaf Foods",
    "Orion Software Ltd.",
]
STREETS = [
    "Harbour Street",
    "Elm Road",
    "King Avenue",
    "Station Road",
    "Mill Lane",
    "Park Street",
    "Queen Square",
    "Church Road",
]
CITIES = ["Leeds", "Bristol", "Dublin", "Glasgow", "Cardiff", "Oxford", "York", "Bath"]
STORES = ["Corner Market", "Fresh Foods", "City Bakery", "Green Grocer", "Daily Deli", "Book Nook"]
ITEMS = [
    "Office chairs",
    "Desk lamps",
    "Printer paper",
    "Ink cartridges",
    "Monitor stands",
    "Keyboards",
    "Cables",
    "Notebooks",
    "Staplers",
    "Whiteboards",
]
GROCERIES = [
    "Bread",
    "Milk",
    "Eggs",
    "Apples",
    "Coffee",
    "Cheese",
    "Rice",
    "Tea",
    "Butter",
    "Pasta",
    "Tomatoes",
    "Orange juice",
]
FORMS = [
    "Membership Application",
    "Patient Registration",
    "Library Card Application",
    "Employee Details Form",
]


@dataclass
class Doc:
    """One document: its printed rows (cells of (x, text, font size, bold)) and its questions.

    A cell with a negative x is right-aligned on -x (number columns).
    """

    doc_id: str
    doc_class: str
    width: int
    rows: list[list[tuple[int, str, int, bool]]] = field(default_factory=list)
    rules: list[tuple[int, int, int]] = field(default_factory=list)  # horizontal lines: x0, x1, row
    qa: list[tuple[str, str, list[str]]] = field(default_factory=list)  # question_type, question, answers

    def row(self, *cells: tuple[int, str], size: int = BODY, bold: bool = False) -> None:
        self.rows.append([(x, text, size, bold) for x, text in cells])

    def gap(self) -> None:
        self.rows.append([])

    def transcript(self) -> str:
        return "\n".join(" ".join(c[1] for c in sorted(r, key=lambda c: abs(c[0]))) for r in self.rows if r)


def _date(rng: random.Random) -> str:
    return f"{rng.randint(2021, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _money(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def make_invoice(i: int, rng: random.Random) -> Doc:
    d = Doc(f"invoice_{i:02d}", "invoice", 1100)
    number, date, name = f"INV-{rng.randint(10000, 99999)}", _date(rng), _name(rng)
    company = rng.choice(COMPANIES)
    d.row((60, "Invoice"), size=TITLE, bold=True)
    d.row((60, company), bold=True)
    d.row((60, f"{rng.randint(2, 180)} {rng.choice(STREETS)}"))
    d.row((60, rng.choice(CITIES)))
    d.gap()
    d.row((60, "Invoice No:"), (480, number))
    d.row((60, "Date:"), (480, date))
    d.row((60, "Bill to:"), (480, name))
    d.gap()
    d.row((60, "Item"), (560, "Qty"), (-840, "Price"), (-1040, "Amount"), bold=True)
    d.rules.append((60, 1040, len(d.rows)))
    subtotal = 0
    for item in rng.sample(ITEMS, rng.randint(2, 4)):
        qty, price = rng.randint(1, 9), rng.randint(150, 25000)
        subtotal += qty * price
        d.row((60, item), (560, str(qty)), (-840, _money(price)), (-1040, _money(qty * price)))
    d.rules.append((60, 1040, len(d.rows)))
    tax = subtotal // 5
    total = _money(subtotal + tax)
    d.row((560, "Subtotal:"), (-1040, _money(subtotal)))
    d.row((560, "VAT:"), (-1040, _money(tax)))
    d.row((560, "Total:"), (-1040, total), bold=True)
    d.gap()
    d.row((60, f"Payment due within {rng.choice([14, 30, 45])} days"))
    d.qa = [
        ("invoice_number", "What is the invoice number?", [number]),
        ("date", "What is the invoice date?", [date]),
        ("total", "What is the total amount of the invoice?", [total]),
        ("name", "Who is the invoice billed to?", [name]),
    ][: rng.randint(3, 4)]
    return d


def make_receipt(i: int, rng: random.Random) -> Doc:
    d = Doc(f"receipt_{i:02d}", "receipt", 760)
    store, date = rng.choice(STORES), _date(rng)
    time = f"{rng.randint(8, 21):02d}:{rng.randint(0, 59):02d}"
    d.row((60, store), size=TITLE, bold=True)
    d.row((60, f"{rng.randint(2, 180)} {rng.choice(STREETS)}"))
    d.row((60, f"Receipt {rng.randint(1000, 9999)}"))
    d.row((60, date), (-700, time))
    d.gap()
    total = 0
    for item in rng.sample(GROCERIES, rng.randint(3, 6)):
        price = rng.randint(49, 1299)
        total += price
        d.row((60, item), (-700, _money(price)))
    d.rules.append((60, 700, len(d.rows)))
    paid = rng.choice(["Card", "Cash"])
    d.row((60, "Total"), (-700, _money(total)), bold=True)
    d.row((60, f"Paid by {paid}"))
    d.gap()
    d.row((60, "Thank you"))
    d.qa = [
        ("total", "What is the total on the receipt?", [_money(total)]),
        ("date", "On what date was the purchase made?", [date]),
        ("name", "What is the name of the store?", [store]),
    ][: rng.randint(2, 3)]
    return d


def make_form(i: int, rng: random.Random) -> Doc:
    d = Doc(f"form_{i:02d}", "form", 1100)
    name, birth = _name(rng), f"{rng.randint(1950, 2004)}{_date(rng)[4:]}"
    phone = f"0{rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    member = f"M-{rng.randint(100000, 999999)}"
    d.row((60, rng.choice(FORMS)), size=TITLE, bold=True)
    d.row((60, "Please complete all fields"))
    d.gap()
    for label, value in [
        ("Full name:", name),
        ("Date of birth:", birth),
        ("Phone:", phone),
        ("City:", rng.choice(CITIES)),
        ("Member ID:", member),
    ]:
        d.row((60, label), (460, value))
        d.rules.append((450, 1040, len(d.rows)))
    d.gap()
    d.row((60, "Signed on:"), (460, _date(rng)))
    d.qa = [
        ("name", "What is the applicant's full name?", [name]),
        ("date", "What is the date of birth?", [birth]),
        ("phone", "What is the phone number?", [phone]),
        ("id_number", "What is the member ID?", [member]),
    ][: rng.randint(2, 4)]
    return d


def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)  # renders, but only the committed images are the reference


def render(doc: Doc, rng: random.Random) -> tuple[Image.Image, str]:
    """Draw the document; about a third get mild noise, a third a slight rotation (<= 2 degrees)."""
    top = 70
    height = top * 2 + PITCH * len(doc.rows) + 20
    img = Image.new("L", (doc.width, height), 255)
    draw = ImageDraw.Draw(img)
    for n, cells in enumerate(doc.rows):
        y = top + n * PITCH
        for x, text, size, bold in cells:
            font = _font(size, bold)
            if x < 0:
                words = text.split(" ")
                gaps = WORD_GAP * size * (len(words) - 1)
                x = -x - sum(draw.textlength(w, font=font) for w in words) - gaps
            for word in text.split(" "):
                draw.text((x, y), word, font=font, fill=25)
                x += draw.textlength(word, font=font) + WORD_GAP * size
    for x0, x1, n in doc.rules:
        y = top + n * PITCH - 10
        draw.line([(x0, y), (x1, y)], fill=90, width=2)
    variant = rng.choice(["clean", "noise", "rotate"])
    ext = "png"
    if variant == "rotate":
        angle = rng.choice([-1, 1]) * rng.uniform(0.7, 2.0)
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    elif variant == "noise":
        import numpy as np

        noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 9, (img.height, img.width))
        img = img.filter(ImageFilter.GaussianBlur(0.6))
        img = Image.fromarray((np.asarray(img, dtype=np.float32) + noise).clip(0, 255).astype("uint8"))
        ext = "jpg"
    return img, ext


def _grey16(v: int) -> int:
    return min(255, (v // 17) * 17 + 8) if v < 247 else 255


def build(out: Path = DATA) -> list[tuple[Doc, str]]:
    rng = random.Random(SEED)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    for old in images.iterdir():
        old.unlink()
    docs: list[tuple[Doc, str]] = []
    makers = [make_invoice, make_receipt, make_form]
    for i in range(12):
        for make in makers:
            doc = make(i + 1, rng)
            img, ext = render(doc, rng)
            rel = f"images/{doc.doc_id}.{ext}"
            if ext == "png":
                # 16 grey levels keep the PNG small; mode stays "L" (a palette image is read as indices)
                img.point(_grey16).save(out / rel, optimize=True)
            else:
                img.save(out / rel, quality=80, optimize=True)
            docs.append((doc, rel))
    header = ["data_index", "split", "image_path", "question", "answer", "doc_class", "question_type"]
    with open(out / "ocr.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(header)
        for doc, rel in docs:
            w.writerow([doc.doc_id, "test", rel, "Transcribe", doc.transcript(), doc.doc_class, "full_text"])
    with open(out / "vqa.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(header)
        for doc, rel in docs:
            for n, (qtype, question, answers) in enumerate(doc.qa, 1):
                answer = answers[0] if len(answers) == 1 else json.dumps(answers)
                w.writerow([f"{doc.doc_id}_q{n}", "test", rel, question, answer, doc.doc_class, qtype])
    return docs


def join_ocr_lines(result: list) -> str:
    """rapidocr's boxes as text: lines top to bottom, boxes of one line left to right.

    The page's skew is the median slope of the boxes' top edges; box centres are rotated back by
    it. A box joins the current line when its centre lies within half a box height of the line's
    mean centre. Each box's text is NFKC-normalised (the engine emits some full-width punctuation)
    and its whitespace collapsed; boxes of a line are joined with one space, lines with "\\n".
    """
    quads = [(quad, text) for quad, text, _score in result or []]
    slopes = sorted(math.atan2(q[1][1] - q[0][1], q[1][0] - q[0][0]) for q, _ in quads)
    skew = slopes[len(slopes) // 2] if slopes else 0.0
    cos, sin = math.cos(skew), math.sin(skew)
    boxes = []
    for quad, text in quads:
        cx, cy = sum(p[0] for p in quad) / 4, sum(p[1] for p in quad) / 4
        height = math.dist(quad[0], quad[3])
        left = min(p[0] * cos + p[1] * sin for p in quad)
        text = " ".join(unicodedata.normalize("NFKC", text).split())
        boxes.append((cy * cos - cx * sin, height, left, text))
    lines: list[list[tuple[float, float, float, str]]] = []
    for box in sorted(boxes):
        if lines:
            line = lines[-1]
            centre = sum(b[0] for b in line) / len(line)
            if abs(box[0] - centre) <= 0.5 * min(box[1], min(b[1] for b in line)):
                line.append(box)
                continue
        lines.append([box])
    return "\n".join(" ".join(b[3] for b in sorted(line, key=lambda b: b[2]) if b[3]) for line in lines)


def _edits(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def check(docs: list[tuple[Doc, str]], out: Path) -> float:
    """OCR every document with rapidocr; print per-document and corpus CER (edits / reference chars)."""
    from rapidocr_onnxruntime import RapidOCR

    engine, edits, chars = RapidOCR(), 0, 0
    for doc, rel in docs:
        result, _ = engine(str(out / rel))
        hyp, ref = join_ocr_lines(result), doc.transcript()
        e = _edits(ref, hyp)
        edits, chars = edits + e, chars + len(ref)
        print(f"{doc.doc_id}: cer {e / len(ref):.3f}")
        if e:
            for r, h in zip_longest(ref.split("\n"), hyp.split("\n"), fillvalue=""):
                if r != h:
                    print(f"    ref {r!r}\n    got {h!r}")
    print(f"corpus CER {edits / chars:.4f} over {len(docs)} documents")
    return edits / chars


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA)
    parser.add_argument("--check", action="store_true", help="OCR the result with rapidocr, print CER")
    args = parser.parse_args(argv)
    docs = build(args.out)
    print(f"wrote {len(docs)} documents to {args.out}", file=sys.stderr)
    if args.check:
        check(docs, args.out)


if __name__ == "__main__":
    main()

"""Sample data: a few synthetic samples written in a benchmark's exact hub layout, so that the benchmark can
be tried offline, its real reader and official scorer end to end, before its data is at hand
(`vlmhb bundle sample BENCHMARK OUT`). They are NOT the benchmark: every question starts with `[synthetic]`,
every page says so in print, the folder holds a README.md that says so, and a bundle made of them records
`synthetic` in its manifest, which a run's manifest repeats and its terminal warns about. Their figures
measure nothing about a model.

Each Benchmark names its writer (`starter`, a `module:attr` of fn(folder, samples) -> samples written), so
that a plugin's benchmark offers its own:

    write_starter(BENCHMARKS.get("docvqa"), Path("docvqa-sample"), samples=8)

The pages are small documents (an invoice, a receipt, a form...), charts or signs with the answer printed
on them, so that a model that reads well scores well.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlmhyperbench.benchmarks._hub_layouts import write_benchmark

if TYPE_CHECKING:
    from vlmhyperbench.benchmarks._registry import Benchmark

LABEL = "[synthetic]"
PRINTED = "SYNTHETIC SAMPLE - not {title} data"
README = """# SYNTHETIC SAMPLE DATA: not {title}

This folder holds {n} synthetic samples written by VLMHyperBench (`vlmhb bundle sample {name}`) in the exact
layout of the Hugging Face dataset {repo}, so that the benchmark can be tried offline: its reader and its
official scorer run on them as on the real data. It is not {title}: its questions and pages are made up, and
any figure measured on them says nothing about a model. To benchmark, use the real data (`hf://{repo}`, a
download of it, or a bundle made with `vlmhb bundle export`).
"""
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WORDS = (
    "HARBOUR",
    "MAPLE",
    "QUARTZ",
    "VELVET",
    "ORCHID",
    "TIMBER",
    "COBALT",
    "SAFFRON",
    "GRANITE",
    "LANTERN",
)


def write_starter(benchmark: Benchmark, folder: Path, samples: int = 8) -> Path:
    """SAMPLES synthetic samples of BENCHMARK in its hub layout under FOLDER (created), with the README that
    labels them; ValueError when the benchmark has no sample writer or SAMPLES is below 1."""
    if not benchmark.starter:
        raise ValueError(f"benchmark '{benchmark.name}' has no sample data")
    if samples < 1:
        raise ValueError(f"samples must be at least 1, not {samples}")
    from importlib import import_module

    module, _, attr = benchmark.starter.partition(":")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = getattr(import_module(module), attr)(folder, samples=samples)
    text = README.format(title=benchmark.title, name=benchmark.name, repo=benchmark.hub_repo, n=n)
    (folder / "README.md").write_text(text, encoding="utf-8")
    return folder


# ---------------------------------------------------------------- pages


def _font(size: int):
    from PIL import ImageFont

    if FONT.exists():
        return ImageFont.truetype(str(FONT), size)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def page_png(lines: list[str], title: str, size: tuple[int, int] = (640, 400)) -> bytes:
    """A white page with the synthetic label on top, then LINES in large print."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((16, 12), PRINTED.format(title=title), fill=(170, 0, 0), font=_font(16))
    y = 56
    for line in lines:
        draw.text((24, y), line, fill="black", font=_font(28))
        y += 48
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def chart_png(values: dict[str, int], title: str) -> bytes:
    """A bar chart of VALUES with each value printed above its bar."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.text((16, 12), PRINTED.format(title=title), fill=(170, 0, 0), font=_font(16))
    top = max(values.values())
    for k, (label, value) in enumerate(values.items()):
        x = 80 + k * 170
        height = int(260 * value / top)
        draw.rectangle((x, 360 - height, x + 90, 360), fill=(60, 110, 180))
        draw.text((x + 20, 330 - height), str(value), fill="black", font=_font(26))
        draw.text((x + 30, 364), label, fill="black", font=_font(26))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _document(i: int) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Document I: its printed lines and its (question, answer, question type) triples."""
    kind = ("INVOICE", "RECEIPT", "ORDER FORM")[i % 3]
    number, total = str(4711 + 97 * i), f"{(i + 3) * 17}.50"
    date, seller = f"2026-0{1 + i % 9}-{10 + i % 18}", WORDS[i % len(WORDS)].title() + " Ltd"
    lines = [f"{kind} No. {number}", f"Date: {date}", f"Seller: {seller}", f"Total: {total} EUR"]
    questions = [
        (f"What is the number of this {kind.lower()}?", number, "form"),
        ("What is the total amount?", total, "table/list"),
        ("Who is the seller?", seller, "layout"),
        (f"What is the date of the {kind.lower()}?", date, "form"),
    ]
    return lines, questions


def _qa(i: int) -> tuple[list[str], str, str, str]:
    lines, questions = _document(i // 4)
    question, answer, kind = questions[i % 4]
    return lines, f"{LABEL} {question}", answer, kind


# ---------------------------------------------------------------- the benchmarks' writers


def sample_docvqa(folder: Path, samples: int) -> int:
    rows, images = [], []
    for i in range(samples):
        lines, question, answer, kind = _qa(i)
        rows.append({"question": question, "answers": [answer], "question_types": [kind]})
        images.append(page_png(lines, "DocVQA"))
    _write("docvqa", folder, rows, images)
    return samples


def sample_infographicvqa(folder: Path, samples: int) -> int:
    rows, images = [], []
    for i in range(samples):
        share, word = 20 + 7 * i, WORDS[i % len(WORDS)]
        lines = [f"{word} REPORT 2026", f"{share}% of readers", f"grew by {i + 2} points"]
        question = f"{LABEL} What share of readers does the {word.lower()} report give?"
        rows.append({"question": question, "answers": [f"{share}%"], "answer_type": ["single span"]})
        images.append(page_png(lines, "InfographicVQA"))
    _write("infographicvqa", folder, rows, images)
    return samples


def sample_chartqa(folder: Path, samples: int) -> int:
    rows, images = [], []
    for i in range(samples):
        values = {"A": 10 + i, "B": 25 + 3 * i, "C": 17 + 2 * i}
        label = "ABC"[i % 3]
        kind = "human_test" if i % 2 == 0 else "augmented_test"
        rows.append({"question": f"{LABEL} What is the value of bar {label}?", "answer": str(values[label]),
                     "type": kind})  # fmt: skip
        images.append(chart_png(values, "ChartQA"))
    _write("chartqa", folder, rows, images)
    return samples


def sample_textvqa(folder: Path, samples: int) -> int:
    rows, images = [], []
    for i in range(samples):
        word = WORDS[i % len(WORDS)]
        rows.append({"question": f"{LABEL} What word is on the sign?", "answers": [word.lower()] * 10})
        images.append(page_png(["", f"   {word}"], "TextVQA"))
    _write("textvqa", folder, rows, images)
    return samples


def sample_ocrbench(folder: Path, samples: int) -> int:
    rows, images = [], []
    for i in range(samples):
        word = WORDS[i % len(WORDS)]
        rows.append(
            {
                "question": f"{LABEL} what is written in the image?",
                "answers": [word],
                "dataset": "synthetic",
                "question_type": ("Regular Text Recognition", "Key Information Extraction")[i % 2],
            }
        )
        images.append(page_png(["", f"   {word}"], "OCRBench"))
    _write("ocrbench", folder, rows, images)
    return samples


def _write(name: str, folder: Path, rows: list[dict], images: list[bytes]) -> None:
    for row, image in zip(rows, images):
        row["png"] = image
    write_benchmark(folder, name, rows)


def sample_omnidocbench(folder: Path, samples: int) -> int:
    """Pages with a title, two paragraphs and a table; OmniDocBench.json annotates them in reading order."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    pages = []
    for i in range(samples):
        lines, _ = _document(i)
        name = f"synthetic_{i:03d}.png"
        title, body = lines[0], [f"{lines[1]}.", f"{lines[2]}."]
        table = f"<table><tr><td>Total</td><td>{lines[3].split(': ')[1]}</td></tr></table>"
        blocks = [("title", title), *(("text_block", t) for t in body), ("table", table)]
        dets = []
        for n, (category, content) in enumerate(blocks):
            key = "html" if category == "table" else "text"
            poly = [0, 100 * n, 600, 100 * n, 600, 100 * n + 80, 0, 100 * n + 80]
            dets.append({"category_type": category, "poly": poly, "ignore": False, "order": n + 1,
                         "anno_id": n, key: content})  # fmt: skip
        attribute = {"data_source": "synthetic", "language": "english", "layout": "single_column"}
        pages.append(
            {
                "layout_dets": dets,
                "page_info": {
                    "page_no": i,
                    "height": 400,
                    "width": 640,
                    "image_path": name,
                    "page_attribute": attribute,
                },  # fmt: skip
                "extra": {"relation": []},
            }
        )
        printed = [title, *body, lines[3]]
        (folder / "images" / name).write_bytes(page_png(printed, "OmniDocBench"))
    (folder / "OmniDocBench.json").write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
    return samples


def sample_olmocr_bench(folder: Path, samples: int) -> int:
    """One-page PDFs with a text layer under bench_data/pdfs/<category>/, and their unit tests."""
    root = folder / "bench_data"
    tests: dict[str, list[str]] = {}
    for i in range(samples):
        lines, _ = _document(i)
        category = ("synthetic_text", "synthetic_order")[i % 2]
        pdf = f"{category}/doc_{i:03d}.pdf"
        target = root / "pdfs" / pdf
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text_pdf([PRINTED.format(title="olmOCR-bench"), "", *lines]))
        unit = (
            {"type": "present", "text": lines[0]}
            if i % 2 == 0
            else {"type": "order", "before": lines[0], "after": lines[3]}
        )
        tests.setdefault(category, []).append(
            json.dumps({"pdf": pdf, "page": 1, "id": f"doc_{i:03d}", **unit})
        )
    for category, lines in tests.items():
        (root / f"{category}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return samples


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(lines: list[str]) -> bytes:
    """A one-page A4 PDF with LINES of ASCII text in Helvetica: a real PDF with a text layer."""
    ops = ["BT", "/F1 16 Tf", "72 770 Td", "24 TL", *(f"({_pdf_text(line)}) Tj T*" for line in lines), "ET"]
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def sample_ocrbench_v2(folder: Path, samples: int) -> int:
    """Text recognition and text counting questions (English), through OCRBench v2's own layout writer."""
    from vlmhyperbench.benchmarks._starter import write_ocrbench_v2

    rows = []
    for i in range(samples):
        word = WORDS[i % len(WORDS)]
        if i % 2 == 0:
            row = {"type": "text recognition en", "question": f"{LABEL} What is written in the image?"}
            rows.append({**row, "answers": [word], "picture": word})
        else:
            row = {"type": "text counting en", "question": f"{LABEL} How many letters does the word have?"}
            rows.append({**row, "answers": [str(len(word))], "eval": "exact match", "picture": word})
    write_ocrbench_v2(folder, rows)
    return samples


def sample_cc_ocr(folder: Path, samples: int) -> int:
    """Scene text (IC15) and document parsing (doc_scan_eng) rows, through CC-OCR's own layout writer."""
    from vlmhyperbench.benchmarks._starter import write_cc_ocr

    rows = []
    for i in range(samples):
        word = WORDS[i % len(WORDS)]
        if i % 2 == 0:
            rows.append({"config": "multi_scene_ocr", "split": "IC15", "answer": word,
                         "question": f"{LABEL} Read the text in the image."})  # fmt: skip
        else:
            question = f"{LABEL} Convert the page to Markdown."
            rows.append({"config": "doc_parsing", "split": "doc_scan_eng", "l2-category": "doc",
                         "answer": f"{word} report", "question": question})  # fmt: skip
    write_cc_ocr(folder, rows)
    return samples


# ---------------------------------------------------------------- MMLongBench-Doc: two short PDFs

DOCUMENTS = {
    "sample-annual-report.pdf": [
        ["SYNTHETIC SAMPLE DOCUMENT - not MMLongBench-Doc data", "Acme Corp annual report 2023"],
        ["Revenue in 2023 was 42.5 million dollars.", "The company had 120 employees at the end of 2023."],
        ["Contact: info@acme.example", "Offices: Paris and Berlin."],
    ],
    "sample-setup-guide.pdf": [
        ["SYNTHETIC SAMPLE DOCUMENT - not MMLongBench-Doc data", "Setup guide of the Model 7 scanner"],
        ["Step 1: unpack the scanner. Step 2: plug it in.", "The scanner weighs 2.5 kg."],
    ],
}
QUESTIONS = [
    ("sample-annual-report.pdf", "How many employees did Acme Corp have at the end of 2023?", "120", "Int",
     [2], ["Pure-text (Plain-text)"]),
    ("sample-annual-report.pdf", "What was Acme Corp's revenue in 2023, in millions of dollars?", "42.5",
     "Float", [2], ["Pure-text (Plain-text)"]),
    ("sample-annual-report.pdf", "What is Acme Corp's contact e-mail address?", "info@acme.example", "Str",
     [3], ["Generalized-text (Layout)"]),
    ("sample-annual-report.pdf", "In which cities does Acme Corp have offices?", "['Paris', 'Berlin']",
     "List", [3], ["Pure-text (Plain-text)"]),
    ("sample-annual-report.pdf", "How many patents did Acme Corp file in 2023?", "Not answerable", "None",
     [], []),
    ("sample-setup-guide.pdf", "How much does the Model 7 scanner weigh, in kg?", "2.5", "Float", [2],
     ["Pure-text (Plain-text)"]),
    ("sample-setup-guide.pdf", "What is the first step of the setup?", "unpack the scanner", "Str", [2],
     ["Pure-text (Plain-text)"]),
    ("sample-setup-guide.pdf", "Which product and step come first in the guide?", "['Model 7', 'unpack']",
     "List", [1, 2], ["Pure-text (Plain-text)", "Generalized-text (Layout)"]),
]  # fmt: skip
DOC_TYPES = {
    "sample-annual-report.pdf": "Research report / Introduction",
    "sample-setup-guide.pdf": "Guidebook",
}


# ---------------------------------------------------------------- CharXiv: line charts


def sample_chart(i: int) -> dict[str, Any]:
    """Chart I as write_charxiv takes it: its lines, the answers read off them, a subject and a year."""
    from vlmhyperbench.benchmarks._starter import chart_png as line_chart_png

    names = ["alpha", "beta", "gamma"][: 2 + i % 2]
    lines = {name: [float((j * (k + 2) + i) % 7 + k) for j in range(5)] for k, name in enumerate(names)}
    best = max(lines, key=lambda name: max(lines[name]))
    spread = max(lines[names[0]]) - min(lines[names[0]])
    title = f"Synthetic series {i}"
    return {
        "figure_id": 1000 + i,
        "image": line_chart_png(title, lines),
        "category": ("cs", "physics", "math", "stat")[i % 4],
        "year": (20, 21, 22, 23)[i % 4],
        "descriptive": [(1, title), (2, "step"), (10, str(len(names))), (19, "1")],
        "reasoning": (f"{LABEL} Which line reaches the highest value?", best, 1, 3)
        if i % 2 == 0
        else (f"{LABEL} What is the range of the {names[0]} line?", f"{spread:.1f}", 4, 2),
    }


def sample_mmlongbench_doc(folder: Path, samples: int) -> int:
    """Questions of every answer format (and an unanswerable one) on two short text PDFs, through
    MMLongBench-Doc's own layout writer."""
    from vlmhyperbench.benchmarks._starter import write_mmlongbench_doc

    picked = [QUESTIONS[i % len(QUESTIONS)] for i in range(samples)]
    rows = [
        {
            "doc_id": doc,
            "doc_type": DOC_TYPES[doc],
            "question": f"{LABEL} {question}",
            "answer": answer,
            "evidence_pages": str(pages),
            "evidence_sources": str(sources),
            "answer_format": fmt,
        }
        for doc, question, answer, fmt, pages, sources in picked
    ]
    return write_mmlongbench_doc(folder, rows, DOCUMENTS)


def sample_charxiv(folder: Path, samples: int) -> int:
    """SAMPLES line charts (titled synthetic), each with CharXiv's five questions (four descriptive, one
    reasoning), through CharXiv's own layout writer; returns the questions written (5 x SAMPLES)."""
    from vlmhyperbench.benchmarks._starter import write_charxiv

    return 5 * write_charxiv(folder, [sample_chart(i) for i in range(samples)])

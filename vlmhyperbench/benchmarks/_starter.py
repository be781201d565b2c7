"""Benchmarks in their exact hub layouts, written from given rows: for tests, and for the sample bundles of
SYNTHETIC samples (never the real data, see _samples) that let the benchmarks be tried offline.

    write_ocrbench_v2(folder, [{"type": "text recognition en", "question": "...", "answers": ["A"]}])
    write_cc_ocr(folder, [{"config": "kie", "split": "POIE", "answer": '{"k": "v"}', ...}])
    write_mmlongbench_doc(folder, rows=[...], documents={"a.pdf": [["page 1 text"]]})
    write_charxiv(folder, rows=[{"figure_id": 1, "image": png, "descriptive": [...], "reasoning": (...)}])
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import polars as pl

SYNTHETIC = "SYNTHETIC (not the real data)"
IMAGE = pl.Struct({"bytes": pl.Binary, "path": pl.String})
OCRBENCH_V2_SCHEMA = {
    "id": pl.Int32,
    "dataset_name": pl.String,
    "question": pl.String,
    "type": pl.String,
    "answers": pl.List(pl.String),
    "image": IMAGE,
    "eval": pl.String,
    "bbox": pl.List(pl.Int32),
    "bbox_list": pl.List(pl.List(pl.Int32)),
    "content": pl.List(pl.String),
}
CC_OCR_SCHEMA = {
    "image": pl.String,
    "question": pl.String,
    "answer": pl.String,
    "image_name": pl.String,
    "split": pl.String,
    "l2-category": pl.String,
}
L2 = {"doc": "doc", "table": "table", "formula": "formula", "molecular": "molecular"}


def png(text: str, size: tuple[int, int] = (160, 48)) -> bytes:
    """A small PNG with TEXT written on it."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((4, 16), text[:24], fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_ocrbench_v2(root: Path, rows: list[dict]) -> Path:
    """ROWS (type, question, answers, and eval / bbox / content where they matter) as
    ROOT/data/test-00000-of-00001.parquet, with the uploader's encodings (dict answers as JSON text, eval
    "None" when absent, a spotting question's boxes in bbox_list)."""
    out = []
    for i, r in enumerate(rows):
        spotting = r["type"] == "text spotting en"
        gold = [json.dumps(a, ensure_ascii=False) if isinstance(a, dict) else str(a) for a in r["answers"]]
        out.append(
            {
                "id": r.get("id", i),
                "dataset_name": r.get("dataset_name", SYNTHETIC),
                "question": r["question"],
                "type": r["type"],
                "answers": gold,
                "image": {"bytes": png(r.get("picture", gold[0] if gold else r["question"])), "path": ""},
                "eval": str(r.get("eval")),
                "bbox": None if spotting else r.get("bbox"),
                "bbox_list": r.get("bbox") if spotting else None,
                "content": r.get("content"),
            }
        )
    folder = Path(root) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(out, schema=OCRBENCH_V2_SCHEMA).write_parquet(folder / "test-00000-of-00001.parquet")
    return Path(root)


def write_cc_ocr(root: Path, rows: list[dict]) -> Path:
    """ROWS (config, split = the dataset, question, answer, image_name, l2-category) as
    ROOT/CONFIG/test-00000-of-00001.parquet, images as base64 text."""
    by_config: dict[str, list[dict]] = {}
    for i, r in enumerate(rows):
        by_config.setdefault(r["config"], []).append(
            {
                "image": base64.b64encode(png(r.get("picture", r["answer"][:24]))).decode(),
                "question": r["question"],
                "answer": r["answer"],
                "image_name": r.get("image_name", f"synthetic_{i:04d}.png"),
                "split": r["split"],
                "l2-category": r.get("l2-category", r["config"]),
            }
        )
    for config, part in by_config.items():
        folder = Path(root) / config
        folder.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(part, schema=CC_OCR_SCHEMA).write_parquet(folder / "test-00000-of-00001.parquet")
    return Path(root)


# ---------------------------------------------------------------- PDFs (MMLongBench-Doc's documents)


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of A4 pages, each with its lines of ASCII text in Helvetica: a real, text-layered PDF."""
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 14 Tf", "72 770 Td", "18 TL"]
        ops += [f"({_pdf_text(line)}) Tj T*" for line in lines]
        stream = "\n".join([*ops, "ET"]).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def write_mmlongbench_doc(
    folder: Path, rows: list[dict[str, Any]], documents: dict[str, list[list[str]]]
) -> int:
    """MMLongBench-Doc's layout under FOLDER: data/train-00000-of-00001.parquet and documents/*.pdf, from ROWS
    (doc_id, doc_type, question, answer, evidence_pages, evidence_sources, answer_format: as published,
    the lists as Python literals) and DOCUMENTS (doc_id -> the lines of each page). Returns the rows
    written."""
    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "documents").mkdir(parents=True, exist_ok=True)
    for name, pages in documents.items():
        (folder / "documents" / name).write_bytes(text_pdf(pages))
    columns = (
        "doc_id",
        "doc_type",
        "question",
        "answer",
        "evidence_pages",
        "evidence_sources",
        "answer_format",
    )
    frame = pl.DataFrame([{c: r[c] for c in columns} for r in rows], schema={c: pl.String for c in columns})
    frame.write_parquet(folder / "data" / "train-00000-of-00001.parquet")
    return len(rows)


# ---------------------------------------------------------------- charts (CharXiv)


def chart_png(
    title: str, lines: dict[str, list[float]], x_label: str = "step", y_label: str = "value"
) -> bytes:
    """A line chart as PNG: its title (marked synthetic), axis labels, ticks and named lines."""
    from PIL import Image, ImageDraw

    width, height, left, top, right, bottom = 480, 320, 60, 40, 460, 270
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((left, 8), f"{title} (synthetic)", fill="black")
    draw.line([(left, bottom), (right, bottom)], fill="black")
    draw.line([(left, top), (left, bottom)], fill="black")
    draw.text(((left + right) // 2 - 20, bottom + 28), x_label, fill="black")
    draw.text((4, top - 18), y_label, fill="black")
    values = [v for vs in lines.values() for v in vs]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    n = max(len(vs) for vs in lines.values())
    for i in range(n):
        x = left + (right - left) * i / max(n - 1, 1)
        draw.text((x - 3, bottom + 6), str(i), fill="black")
    for k, (name, vs) in enumerate(lines.items()):
        colour = ("red", "blue", "green", "orange")[k % 4]
        points = [
            (left + (right - left) * i / max(len(vs) - 1, 1), bottom - (bottom - top) * (v - low) / span)
            for i, v in enumerate(vs)
        ]
        draw.line(points, fill=colour, width=2)
        draw.text((right - 70, top + 14 * k), name, fill=colour)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_charxiv(folder: Path, rows: list[dict[str, Any]], split: str = "validation") -> int:
    """CharXiv's layout under FOLDER: `val.parquet` (or `test.parquet`, its answers withheld), one row per
    chart of ROWS: figure_id, image (PNG bytes), category, year, descriptive [(template id, answer) x4],
    reasoning (question, answer, answer type, source), and optionally num_subplots, subplot_row,
    subplot_col, subplot_loc. Returns the charts written."""
    records = []
    for r in rows:
        fid = r["figure_id"]
        record = {
            "image": {"bytes": r["image"], "path": f"{fid}.jpg"},
            "category": r.get("category", "cs"),
            "year": r.get("year", 20),
            "original_figure_path": f"synthetic/{fid}.jpg",
            "original_id": f"synthetic.{fid:05d}",
            "figure_path": f"images/{fid}.jpg",
            "num_subplots": r.get("num_subplots", 1),
            "subplot_row": r.get("subplot_row", 0),
            "subplot_col": r.get("subplot_col", 0),
            "subplot_loc": r.get("subplot_loc"),
        }
        for i, (qid, answer) in enumerate(r["descriptive"], 1):
            record[f"descriptive_q{i}"] = qid
            record[f"descriptive_a{i}"] = answer if split != "test" else None
        question, answer, answer_type, source = r["reasoning"]
        record |= {
            "reasoning_q": question,
            "reasoning_q_source": source,
            "reasoning_a": answer if split != "test" else None,
            "reasoning_a_type": answer_type,
        }
        records.append(record)
    schema = {
        "image": pl.Struct({"bytes": pl.Binary, "path": pl.String}),
        "category": pl.String,
        "year": pl.Int64,
        "original_figure_path": pl.String,
        "original_id": pl.String,
        "figure_path": pl.String,
        "num_subplots": pl.Int64,
        "subplot_row": pl.Int64,
        "subplot_col": pl.Int64,
        "subplot_loc": pl.String,
        **{f"descriptive_q{i}": pl.Int64 for i in range(1, 5)},
        **{f"descriptive_a{i}": pl.String for i in range(1, 5)},
        "reasoning_q": pl.String,
        "reasoning_q_source": pl.Int64,
        "reasoning_a": pl.String,
        "reasoning_a_type": pl.Int64,
    }
    stem = {"validation": "val"}.get(split, split)
    Path(folder).mkdir(parents=True, exist_ok=True)
    pl.DataFrame(records, schema=schema).write_parquet(Path(folder) / f"{stem}.parquet")
    return len(records)

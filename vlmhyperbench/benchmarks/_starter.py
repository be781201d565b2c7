"""OCRBench v2 and CC-OCR in their exact hub layouts, written from given rows: for tests, and for starter
bundles of SYNTHETIC samples (never the real data) that let the benchmarks be tried offline.

    write_ocrbench_v2(folder, [{"type": "text recognition en", "question": "...", "answers": ["A"]}])
    write_cc_ocr(folder, [{"config": "kie", "split": "POIE", "answer": '{"k": "v"}', ...}])
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

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

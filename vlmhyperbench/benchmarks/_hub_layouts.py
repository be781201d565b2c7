"""Standard benchmarks in their exact published Hugging Face layouts, written from given rows: the parquet
shards, columns and types of each dataset on the hub. The sample bundles (`vlmhb bundle sample`, _samples)
are written through it, and so are the tests' and bench/'s benchmark folders.

    rows = [{"question": "Max?", "answer": "12", "type": "human_test"}]
    folder = write_benchmark(tmp_path / "ChartQA", "chartqa", rows)

A row gives the fields that matter to the reader (question, answers or answer, and per benchmark:
question_types, answer_type, type, dataset, question_type, id), and may give its picture (`png`, bytes);
every other published column gets a plausible value of its published type.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl

IMAGE = pl.Struct({"bytes": pl.Binary, "path": pl.String})


def png(text: str, size: tuple[int, int] = (96, 40)) -> bytes:
    """A small PNG with TEXT on it."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((3, 12), text[:14], fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _image(i: int, r: dict, images: bool) -> dict:
    """The row's own picture (`png`), else one with its question on it."""
    picture = r.get("png") or (png(r["question"]) if images else b"\x89PNG\r\n\x1a\n")
    return {"bytes": picture, "path": f"{i:06d}.png"}


def _docvqa(i: int, r: dict, images: bool) -> dict:
    return {
        "questionId": str(r.get("id", 50000 + i)),
        "question": r["question"],
        "question_types": r.get("question_types", ["form"]),
        "image": _image(i, r, images),
        "docId": 1000 + i,
        "ucsf_document_id": f"abcd{i:04d}",
        "ucsf_document_page_no": "1",
        "answers": r.get("answers"),
        "data_split": r.get("split", "val"),
    }


def _infovqa(i: int, r: dict, images: bool) -> dict:
    return {
        "questionId": str(r.get("id", 60000 + i)),
        "question": r["question"],
        "answers": r.get("answers"),
        "answer_type": r.get("answer_type", ["single span"]),
        "image": _image(i, r, images),
        "image_url": f"https://example.invalid/{i}.jpeg",
        "operation/reasoning": r.get("operation", []),
        "ocr": "{}",
        "data_split": r.get("split", "val"),
    }


def _chartqa(i: int, r: dict, images: bool) -> dict:
    return {
        "type": r.get("type", "human_test"),
        "question": r["question"],
        "answer": r.get("answer"),
        "image": _image(i, r, images),
    }


def _textvqa(i: int, r: dict, images: bool) -> dict:
    return {
        "image_id": f"{i:016x}",
        "question_id": int(r.get("id", 34602 + i)),
        "question": r["question"],
        "question_tokens": r["question"].split(),
        "image": _image(i, r, images),
        "image_width": 96,
        "image_height": 40,
        "flickr_original_url": f"https://example.invalid/{i}_o.jpg",
        "flickr_300k_url": f"https://example.invalid/{i}_z.jpg",
        "answers": r.get("answers"),
        "image_classes": ["Poster"],
        "set_name": "val",
        "ocr_tokens": [],
    }


def _ocrbench(i: int, r: dict, images: bool) -> dict:
    return {
        "dataset": r.get("dataset", "IIIT5K"),
        "question": r["question"],
        "question_type": r.get("question_type", "Regular Text Recognition"),
        "answer": r.get("answers", [r.get("answer")] if r.get("answer") is not None else None),
        "image": _image(i, r, images),
    }


# name -> (row maker, schema, config folder or None, default split)
LAYOUTS: dict[str, tuple[Any, dict, str | None, str]] = {
    "docvqa": (
        _docvqa,
        {
            "questionId": pl.String,
            "question": pl.String,
            "question_types": pl.List(pl.String),
            "image": IMAGE,
            "docId": pl.Int64,
            "ucsf_document_id": pl.String,
            "ucsf_document_page_no": pl.String,
            "answers": pl.List(pl.String),
            "data_split": pl.String,
        },
        "DocVQA",
        "validation",
    ),
    "infographicvqa": (
        _infovqa,
        {
            "questionId": pl.String,
            "question": pl.String,
            "answers": pl.List(pl.String),
            "answer_type": pl.List(pl.String),
            "image": IMAGE,
            "image_url": pl.String,
            "operation/reasoning": pl.List(pl.String),
            "ocr": pl.String,
            "data_split": pl.String,
        },
        "InfographicVQA",
        "validation",
    ),
    "chartqa": (
        _chartqa,
        {"type": pl.String, "question": pl.String, "answer": pl.String, "image": IMAGE},
        "data",
        "test",
    ),
    "textvqa": (
        _textvqa,
        {
            "image_id": pl.String,
            "question_id": pl.Int64,
            "question": pl.String,
            "question_tokens": pl.List(pl.String),
            "image": IMAGE,
            "image_width": pl.Int64,
            "image_height": pl.Int64,
            "flickr_original_url": pl.String,
            "flickr_300k_url": pl.String,
            "answers": pl.List(pl.String),
            "image_classes": pl.List(pl.String),
            "set_name": pl.String,
            "ocr_tokens": pl.List(pl.String),
        },
        "data",
        "validation",
    ),
    "ocrbench": (
        _ocrbench,
        {
            "dataset": pl.String,
            "question": pl.String,
            "question_type": pl.String,
            "answer": pl.List(pl.String),
            "image": IMAGE,
        },
        "data",
        "test",
    ),
}


def write_benchmark(
    root: Path,
    name: str,
    rows: list[dict],
    split: str | None = None,
    shards: int = 1,
    images: bool = True,
    row_group_size: int = 100,
) -> Path:
    """Writes ROWS as benchmark NAME's split in its published layout under ROOT (the dataset repository's
    folder: `ROOT/DocVQA/validation-00000-of-00001.parquet`, `ROOT/data/test-00000-of-00001.parquet`) and
    returns ROOT. IMAGES=False writes a PNG signature instead of a picture (fast, for big files)."""
    make, schema, folder, default_split = LAYOUTS[name]
    split = split or default_split
    target = Path(root) / folder if folder else Path(root)
    target.mkdir(parents=True, exist_ok=True)
    per = -(-len(rows) // shards)
    for k in range(shards):
        part = rows[k * per : (k + 1) * per]
        frame = pl.DataFrame([make(k * per + i, r, images) for i, r in enumerate(part)], schema=schema)
        frame.write_parquet(
            target / f"{split}-{k:05d}-of-{shards:05d}.parquet", row_group_size=row_group_size
        )
    return Path(root)

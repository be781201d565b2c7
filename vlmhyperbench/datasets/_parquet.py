"""The `parquet` format: one file or a folder of shards in the Hugging Face layout.

Only the small columns are read up front; each image stays in its file as (file, row) and is read
when asked for, a block of rows at a time (see `_sample.PARQUET_BLOCK_ROWS`), so a 100k-sample
dataset costs its metadata in memory, not its images.
"""

from __future__ import annotations

import re
from pathlib import Path

from vlmhb_core.errors import DatasetError
from vlmhyperbench.datasets._common import UniqueIds, as_text, first_of, references_of, task_fields, where
from vlmhyperbench.datasets._sample import ImageRef, Sample

META = (
    "id",
    "questionId",
    "question",
    "answers",
    "answer",
    "doc_class",
    "question_type",
    "question_types",
    "split",
    "data_split",
    "label",
    "classes",
    "fields",
    "order",
)
_SHARD = re.compile(r"^([A-Za-z][\w.]*?)-\d+-of-\d+$")


def shards(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if not files:
            raise DatasetError(f"{path}: no .parquet files in this folder")
        return files
    if not path.exists():
        raise DatasetError(f"{path}: file not found")
    return [path]


def read_parquet(path: Path) -> list[Sample]:
    """Columns: id or questionId, question, answers (list) or answer, image as {bytes, path} (or
    raw bytes, or `images`: a list of them for multi-page rows); optional doc_class, question_type
    (or DocVQA's question_types), split (or data_split, else the shard name's prefix as in
    `test-00000-of-00002.parquet`), label, classes, fields, order.
    """
    import polars as pl

    samples: list[Sample] = []
    ids = UniqueIds()
    for file in shards(path):
        try:
            schema = pl.read_parquet_schema(file)
        except Exception as e:
            raise DatasetError(f"{file}: not a readable Parquet file: {e}") from None
        image_col = "images" if "images" in schema else "image"
        if image_col not in schema:
            raise DatasetError(where(file, None, "image") + f"missing (columns: {', '.join(schema)})")
        if "question" not in schema and "label" not in schema:
            raise DatasetError(where(file, None, "question") + f"missing (columns: {', '.join(schema)})")
        columns = [c for c in META if c in schema]
        unknown = tuple(c for c in schema if c not in META and c not in ("image", "images"))
        scan = pl.scan_parquet(file)
        meta = scan.select(columns).collect()
        pages = (
            scan.select(pl.col("images").list.len()).collect().to_series().to_list()
            if image_col == "images"
            else None
        )
        shard = _SHARD.match(file.name.removesuffix(".parquet"))
        default_split = shard.group(1) if shard else ""
        for row, obj in enumerate(meta.iter_rows(named=True)):
            sample_id = as_text(obj.get("id") if obj.get("id") is not None else obj.get("questionId"))
            if not sample_id:
                sample_id = f"{file.stem}:{row}"
            ids.add(sample_id, f"{file}: row {row}")
            if pages is None:
                images = (ImageRef(path=file, row=row, column=image_col),)
            else:
                images = tuple(
                    ImageRef(path=file, row=row, column=image_col, index=i) for i in range(pages[row] or 0)
                )
            samples.append(
                Sample(
                    id=sample_id,
                    images=images,
                    question=as_text(obj.get("question")),
                    references=references_of(obj),
                    doc_class=as_text(obj.get("doc_class")),
                    question_type=as_text(
                        obj.get("question_type") or first_of(obj.get("question_types") or "")
                    ),
                    split=as_text(obj.get("split") or obj.get("data_split") or default_split),
                    error=None if images else "no image in this row",
                    error_field=None if images else image_col,
                    where=f"{file}: row {row}",
                    keys=tuple(k for k, v in obj.items() if v is not None),
                    unknown=unknown,
                    **task_fields(obj, file, None),
                )
            )
    return samples

"""Reading a benchmark in its published Hugging Face layout: the parquet shards of one config and split,
small columns only. Each image stays in its shard as (file, row) and is read when its request is built,
so the questions cost their text in memory, not their images.

Shards are found as the hub writes them: `CONFIG/SPLIT-00000-of-00006.parquet` (a dataset with configs,
like lmms-lab/DocVQA), `data/SPLIT-00000-of-00001.parquet`, `SPLIT.parquet`, or `CONFIG/SPLIT/0000.parquet`
(the hub's parquet conversion). PATH may be the dataset's folder, a config's folder, or one shard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmhb_core.errors import DatasetError
from vlmhyperbench.datasets import ImageRef, Sample
from vlmhyperbench.datasets._common import UniqueIds, as_text

_SHARD = re.compile(r"^(?P<split>[A-Za-z][\w.]*?)(?:-\d{5}-of-\d{5})?$")


@dataclass(frozen=True)
class Layout:
    """What a benchmark's published parquet files hold."""

    config: str | None
    """The config's folder in the dataset repository (`DocVQA`), or None for a dataset without configs."""
    columns: tuple[tuple[str, ...], ...]
    """The small columns read, each as its accepted names (`("question", "query")`: either one)."""
    required: tuple[str, ...] = ("question",)
    """The first names of the columns a shard must have."""
    image: str = "image"


def shard_split(file: Path) -> str:
    """The split of a shard, from its name (`validation-00000-of-00006`) or its folder (`test/0000`)."""
    match = _SHARD.match(file.stem)
    if match and not file.stem.isdigit():
        return match.group("split")
    return file.parent.name


def find_shards(path: Path, layout: Layout, split: str) -> list[Path]:
    """The parquet shards of SPLIT under PATH; DatasetError naming what is there when there are none."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DatasetError(f"{path}: no such file or folder")
    root = path / layout.config if layout.config and (path / layout.config).is_dir() else path
    # `hf download --local-dir` keeps its metadata under ROOT/.cache; ROOT itself may well be under ~/.cache
    # (a tarball bundle is imported into VLMHB_CACHE_DIR/bundles)
    files = sorted(
        p for p in root.rglob("*.parquet") if p.is_file() and ".cache" not in p.relative_to(root).parts
    )
    if not files:
        raise DatasetError(f"{root}: no .parquet files in this folder")
    chosen = [f for f in files if shard_split(f) == split]
    if not chosen:
        found = sorted({shard_split(f) for f in files})
        raise DatasetError(f"{root}: no shard of split '{split}' (splits found: {', '.join(found)})")
    return chosen


def read_rows(path: Path, layout: Layout, split: str) -> Iterator[tuple[Path, int, dict[str, Any], ImageRef]]:
    """(shard, row, small columns by their first name, lazy image) of every row of SPLIT, in file order."""
    import polars as pl

    for file in find_shards(path, layout, split):
        try:
            schema = pl.read_parquet_schema(file)
        except Exception as e:  # polars raises several kinds for unreadable files
            raise DatasetError(f"{file}: not a readable Parquet file: {e}") from None
        present = {names[0]: next((n for n in names if n in schema), None) for names in layout.columns}
        missing = [n for n in layout.required if present.get(n) is None]
        missing += [layout.image] if layout.image not in schema else []
        if missing:
            raise DatasetError(f"{file}: field '{missing[0]}': missing (columns: {', '.join(schema)})")
        columns = {first: actual for first, actual in present.items() if actual is not None}
        try:
            meta = pl.scan_parquet(file).select(list(columns.values())).collect()
        except Exception as e:
            raise DatasetError(f"{file}: cannot read columns {', '.join(columns.values())}: {e}") from None
        renamed = meta.rename({actual: first for first, actual in columns.items() if actual != first})
        for row, obj in enumerate(renamed.iter_rows(named=True)):
            yield file, row, obj, ImageRef(path=file, row=row, column=layout.image)


def build_samples(
    path: Path,
    layout: Layout,
    split: str,
    make: Callable[[dict[str, Any]], dict[str, Any]],
    id_column: str | None,
) -> list[Sample]:
    """One Sample per row of SPLIT: MAKE turns a row's small columns into Sample fields (question,
    references, doc_class, question_type); the id is ID_COLUMN's value, else `SPLIT-NNNNN` (the row's
    place in the split)."""
    samples: list[Sample] = []
    ids = UniqueIds()
    for n, (file, row, obj, image) in enumerate(read_rows(path, layout, split)):
        value = obj.get(id_column) if id_column else None
        sample_id = as_text(value) if value is not None else f"{split}-{n:05d}"
        ids.add(sample_id, f"{file}: row {row}")
        samples.append(Sample(id=sample_id, images=(image,), split=split, **make(obj)))
    return samples


def answers(value: Any) -> tuple[str, ...]:
    """Gold answers from a list column or a single string (None: none, as in a test split)."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(as_text(v) for v in value if v is not None)
    return (as_text(value),)


def first(value: Any) -> str:
    """The first element of a list column (DocVQA's question_types), or the value itself."""
    if isinstance(value, (list, tuple)):
        return as_text(value[0]) if value else ""
    return as_text(value)

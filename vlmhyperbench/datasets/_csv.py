"""The `vlmhyperbench` format: an annotation CSV next to its images."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from vlmhb_core.errors import DatasetError
from vlmhyperbench.datasets._common import UniqueIds, answers_from_cell, not_utf8, task_fields
from vlmhyperbench.datasets._paths import confine
from vlmhyperbench.datasets._sample import Sample

REQUIRED = ("data_index", "image_path", "answer")
OPTIONAL = (
    "split",
    "question",
    "doc_class",
    "question_type",
    "answer_bbox",
    "label",
    "classes",
    "fields",
    "order",
)

TASK_COLUMNS = ("label", "classes", "fields", "order")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # full-page transcriptions are long cells


def annotation_file(path: Path) -> Path:
    """PATH/annotation.csv, or PATH itself when it names a CSV file (several annotation files can
    then share one images folder)."""
    return path if path.suffix.lower() == ".csv" else path / "annotation.csv"


def read_vlmhyperbench(path: Path) -> list[Sample]:
    """Columns data_index, split, image_path, question, answer, doc_class, question_type,
    answer_bbox (optional), and as the task needs: label and classes (classification), fields (KIE, a JSON
    object), order (ordering); `;`-separated (a `,` header also works), UTF-8 with or without BOM.

    `answer` may be a JSON list of answers; `image_path` may be a JSON list of pages; `classes` and `order`
    a JSON list or space-separated words.
    """
    file = annotation_file(path)
    root = file.parent
    try:
        handle = open(file, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise DatasetError(f"{file}: annotation file not found") from None
    except OSError as e:
        raise DatasetError(f"{file}: cannot open: {e.strerror}") from None
    samples: list[Sample] = []
    with handle:
        try:
            header_line = handle.readline()
        except UnicodeDecodeError:
            raise not_utf8(file) from None
        delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
        header = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter), [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise DatasetError(
                f"{file}:1: column '{missing[0]}': missing (header has: {', '.join(header)}; "
                f"required: {', '.join(REQUIRED)})"
            )
        col = {name: header.index(name) for name in REQUIRED + OPTIONAL if name in header}
        keys = tuple(h for h in header if h)
        unknown = tuple(h for h in keys if h not in col)
        reader = csv.reader(handle, delimiter=delimiter)
        ids = UniqueIds()
        line = 2
        try:
            for record in reader:
                start, line = line, reader.line_num + 2
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) > len(header):
                    raise DatasetError(
                        f"{file}:{start}: {len(record)} cells but the header has "
                        f"{len(header)} columns (separator '{delimiter}')"
                    )
                cell = {name: (record[i] if i < len(record) else "") for name, i in col.items()}
                samples.append(_sample(cell, root, file, start, ids, keys, unknown))
        except UnicodeDecodeError:
            raise not_utf8(file) from None
        except csv.Error as e:
            raise DatasetError(f"{file}:{line}: {e}") from None
    return samples


def _sample(
    cell: dict[str, str],
    root: Path,
    file: Path,
    line: int,
    ids: UniqueIds,
    keys: tuple[str, ...],
    unknown: tuple[str, ...],
) -> Sample:
    sample_id = cell["data_index"].strip() or str(line)
    ids.add(sample_id, f"{file}:{line}")
    pages = (
        answers_from_cell(cell["image_path"])
        if cell["image_path"].strip().startswith("[")
        else (cell["image_path"],)
    )
    images, error = [], None if pages else "no image path"
    for page in pages:
        ref, why = confine(root, page, "image_path")
        if ref is None:
            error = error or why
        else:
            images.append(ref)
    return Sample(
        id=sample_id,
        images=tuple(images) if error is None else (),
        question=cell.get("question", ""),
        references=answers_from_cell(cell["answer"]),
        doc_class=cell.get("doc_class", "").strip(),
        question_type=cell.get("question_type", "").strip(),
        split=cell.get("split", "").strip(),
        error=error,
        error_field="image_path" if error else None,
        where=f"{file}:{line}",
        keys=keys,
        unknown=unknown,
        **task_fields({k: cell[k] for k in TASK_COLUMNS if cell.get(k, "").strip()}, file, line),
    )

"""The JSON formats: `docvqa` (one JSON file, the DocVQA layout) and `jsonl` (one object a line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlmhb_core.errors import DatasetError
from vlmhyperbench.datasets._common import (
    UniqueIds,
    as_text,
    first_of,
    json_objects,
    not_utf8,
    references_of,
    task_fields,
    where,
)
from vlmhyperbench.datasets._paths import confine
from vlmhyperbench.datasets._sample import ImageRef, Sample

JSONL_FIELDS = frozenset(
    "id image images question answer answers doc_class question_type split label classes fields order".split()
)
"""The fields of a jsonl row; any other is reported once per dataset, and ignored."""
DOCVQA_FIELDS = frozenset(
    "questionId question image answers doc_class question_type question_types data_split docId "
    "ucsf_document_id ucsf_document_page_no".split()
)
"""The fields of a DocVQA item (the distribution's own included)."""


def present(obj: dict[str, Any]) -> tuple[str, ...]:
    """The keys of OBJ that carry a value (null is no value)."""
    return tuple(k for k, v in obj.items() if v is not None)


def _open_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{file}: file not found") from None
    except IsADirectoryError:
        raise DatasetError(f"{file}: is a folder, expected a file") from None
    except UnicodeDecodeError:
        raise not_utf8(file) from None
    except OSError as e:
        raise DatasetError(f"{file}: cannot read: {e.strerror}") from None


def _images(paths: list[Any], root: Path, field: str = "image") -> tuple[tuple[ImageRef, ...], str | None]:
    refs = []
    for rel in paths:
        ref, why = confine(root, as_text(rel), field)
        if ref is None:
            return (), why
        refs.append(ref)
    return tuple(refs), None if refs else "no image path"


def read_docvqa(path: Path) -> list[Sample]:
    """`{"data": [{"questionId", "question", "image", "answers", ...}]}`; images relative to the file.

    question_type is the first of DocVQA's `question_types` (or a `question_type` key); split is the
    item's `data_split`, else the file's `dataset_split`.
    """
    text = _open_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}:{e.lineno}: bad JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DatasetError(where(path, None, "data") + "expected a top-level object with a 'data' list")
    split = as_text(doc.get("dataset_split", ""))
    ids = UniqueIds()
    samples = []
    for n, item in enumerate(doc["data"]):
        loc = f"data[{n}]"
        if not isinstance(item, dict):
            raise DatasetError(f"{path}: {loc}: expected an object, found {type(item).__name__}")
        for key in ("questionId", "question", "image"):
            if key not in item:
                raise DatasetError(f"{path}: {loc}: field '{key}': missing")
        sample_id = as_text(item["questionId"])
        ids.add(sample_id, f"{path}: {loc}")
        images, error = _images([item["image"]], path.parent)
        samples.append(
            Sample(
                id=sample_id,
                images=images,
                question=as_text(item["question"]),
                references=references_of({"answers": item.get("answers")}),
                doc_class=as_text(item.get("doc_class", "")),
                question_type=as_text(item.get("question_type") or first_of(item.get("question_types", ""))),
                split=as_text(item.get("data_split") or split),
                error=error,
                error_field="image" if error else None,
                where=f"{path}: {loc}",
                keys=present(item),
                unknown=tuple(k for k in item if k not in DOCVQA_FIELDS),
            )
        )
    return samples


def read_jsonl(path: Path) -> list[Sample]:
    """One object a line: id, image or images (list, multi-page), question, answer or answers,
    doc_class, question_type, split, label + classes, fields, order. Images relative to the file.

    Without answers, the reference is the task's own: label, fields (as JSON) or order (as JSON).
    """
    try:
        handle = open(path, encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot open: {e.strerror}") from None
    samples = []
    ids = UniqueIds()
    with handle:
        try:
            for line, obj in json_objects(path, enumerate(handle, 1)):
                samples.append(_jsonl_sample(obj, path, line, ids))
        except UnicodeDecodeError:
            raise not_utf8(path) from None
    return samples


def _jsonl_sample(obj: dict[str, Any], path: Path, line: int, ids: UniqueIds) -> Sample:
    if "images" in obj:
        pages = obj["images"]
        if not isinstance(pages, list):
            raise DatasetError(where(path, line, "images") + f"expected a list, found {type(pages).__name__}")
    elif "image" in obj:
        pages = [obj["image"]]
    else:
        raise DatasetError(where(path, line, "image") + "missing (give 'image' or 'images')")
    sample_id = as_text(obj.get("id", "")) or str(line)
    ids.add(sample_id, f"{path}:{line}")
    field = "images" if "images" in obj else "image"
    images, error = _images(pages, path.parent, field)
    return Sample(
        id=sample_id,
        images=images,
        question=as_text(obj.get("question", "")),
        references=references_of(obj),
        doc_class=as_text(obj.get("doc_class", "")),
        question_type=as_text(obj.get("question_type", "")),
        split=as_text(obj.get("split", "")),
        error=error,
        error_field=field if error else None,
        where=f"{path}:{line}",
        keys=present(obj),
        unknown=tuple(k for k in obj if k not in JSONL_FIELDS),
        **task_fields(obj, path, line),
    )

"""Helpers that several readers share: references, task fields, unique ids."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from vlmhb_core.errors import DatasetError


def where(file: Path, line: int | None = None, field: str | None = None) -> str:
    """`FILE:LINE: field 'NAME': ` — the prefix of every DatasetError message."""
    text = f"{file}:{line}: " if line is not None else f"{file}: "
    return text + (f"field '{field}': " if field else "")


def json_objects(file: Path, lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line of a JSONL FILE; a line that is not JSON, or not an
    object, is a DatasetError naming FILE:LINE."""
    for line, text in lines:
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{file}:{line}: bad JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(obj, dict):
            raise DatasetError(f"{file}:{line}: expected a JSON object, found {type(obj).__name__}")
        yield line, obj


def not_utf8(file: Path) -> DatasetError:
    """`FILE:LINE: not UTF-8 text`, LINE being that of the first bad byte (a text reader decodes a block
    ahead, so the line it was reading when it failed is not where the byte is)."""
    try:
        raw = file.read_bytes()
    except OSError as e:
        return DatasetError(f"{file}: cannot read: {e.strerror}")
    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return DatasetError(f"{file}:{line}: not UTF-8 text ({e.reason}, byte 0x{data[e.start]:02x})")
    return DatasetError(f"{file}: not UTF-8 text")


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def answers_from_cell(cell: str) -> tuple[str, ...]:
    """A CSV answer cell: a JSON list of answers, or else the cell itself as the one answer."""
    text = cell.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list):
            return tuple(as_text(v) for v in value)
    return (cell,) if cell != "" else ()


def references_of(obj: dict[str, Any]) -> tuple[str, ...]:
    """`answers` (list) or `answer` (str or list); else the task's reference (label, fields, order)."""
    for key in ("answers", "answer"):
        if key in obj and obj[key] is not None:
            value = obj[key]
            if isinstance(value, (list, tuple)):
                return tuple(as_text(v) for v in value)
            return (as_text(value),)
    if obj.get("label") is not None:
        return (as_text(obj["label"]),)
    if obj.get("fields") is not None:
        return (as_text(obj["fields"]),)
    if obj.get("order") is not None:
        order = obj["order"]
        return (as_text(list(order) if isinstance(order, (list, tuple)) else order),)
    return ()


def task_fields(obj: dict[str, Any], file: Path, line: int | None) -> dict[str, Any]:
    """label, classes, fields, order from a JSON-like object, checked for type."""

    def bad(name: str, what: str) -> DatasetError:
        return DatasetError(where(file, line, name) + what)

    out: dict[str, Any] = {}
    if obj.get("label") is not None:
        out["label"] = as_text(obj["label"])
    classes = obj.get("classes")
    if classes is not None:
        if isinstance(classes, str):
            classes = _list_cell(classes, file, line, "classes")
        if not isinstance(classes, (list, tuple)):
            raise bad("classes", f"expected a list, found {type(classes).__name__}")
        out["classes"] = tuple(as_text(c) for c in classes)
    fields = obj.get("fields")
    if fields is not None:
        if isinstance(fields, str):
            try:
                fields = json.loads(fields)
            except ValueError as e:
                raise bad("fields", f"not a JSON object: {e}") from None
        if not isinstance(fields, dict):
            raise bad("fields", f"expected an object, found {type(fields).__name__}")
        out["fields"] = fields
    order = obj.get("order")
    if order is not None:
        if isinstance(order, str):
            order = _list_cell(order, file, line, "order")
        try:
            out["order"] = tuple(int(p) for p in order)
        except (TypeError, ValueError):
            raise bad("order", f"expected a list of integers, found {order!r}") from None
    return out


def _list_cell(text: str, file: Path, line: int | None, name: str) -> Any:
    """A list given as a string: JSON (`["a", "b"]`) or space-separated words."""
    if not text.strip().startswith("["):
        return text.split()
    try:
        return json.loads(text)
    except ValueError as e:
        raise DatasetError(where(file, line, name) + f"not a JSON list: {e}") from None


class UniqueIds:
    """Remembers where each sample id was first seen, to name both places of a duplicate."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def add(self, sample_id: str, at: str) -> None:
        """`at` is where the sample is, as `FILE:LINE` (or `FILE: data[N]`, `FILE: row N`)."""
        first = self.seen.setdefault(sample_id, at)
        if first is not at:
            raise DatasetError(
                f"{at}: field 'id': sample id '{sample_id}' already used at {first}; ids must be unique"
            )


def first_of(values: Any) -> str:
    """The first element of a list-valued cell (DocVQA's question_types), or the value itself."""
    if isinstance(values, (list, tuple)):
        return as_text(values[0]) if values else ""
    return as_text(values)

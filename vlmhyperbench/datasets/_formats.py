"""Dataset formats: the FORMATS registry of readers, keyed by the name datasets.csv uses; `read_dataset`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from vlmhb_core.errors import DatasetError, UnknownNameError
from vlmhb_core.registry import Registry
from vlmhyperbench.datasets._options import PageOptions, takes_page_options
from vlmhyperbench.datasets._sample import Sample

Reader = Callable[[Path], list[Sample]]
"""Reads a whole dataset's metadata (images stay lazy); raises DatasetError when it cannot. A reader of
PDFs also takes `options=PageOptions(...)` (dpi, pages, max_pages, reference: see _options.py)."""

FORMATS: Registry[Reader] = Registry(
    "dataset_formats",
    kind="dataset format",
    expects="point the entry point at a reader: fn(path) -> list[Sample]",
    accept=lambda obj: obj if callable(obj) else None,
    describe=lambda reader: " ".join((reader.__doc__ or "").strip().split("\n\n")[0].split()),
)
FORMATS.add_lazy("vlmhyperbench", "vlmhyperbench.datasets._csv:read_vlmhyperbench")
FORMATS.add_lazy("docvqa", "vlmhyperbench.datasets._json:read_docvqa")
FORMATS.add_lazy("jsonl", "vlmhyperbench.datasets._json:read_jsonl")
FORMATS.add_lazy("parquet", "vlmhyperbench.datasets._parquet:read_parquet")
FORMATS.add_lazy("pdf", "vlmhyperbench.datasets._pdf:read_pdf")
FORMATS.add_lazy("omnidocbench", "vlmhyperbench.datasets._benchmarks:read_omnidocbench")
FORMATS.add_lazy("olmocr_bench", "vlmhyperbench.datasets._benchmarks:read_olmocr_bench")


def register_reader(name: str) -> Callable[[Reader], Reader]:
    """Decorator: `@register_reader("myformat")` makes `format=myformat` usable in datasets.csv."""
    return FORMATS.register(name)


def dataset_formats() -> list[str]:
    """The format names `read_dataset` accepts (built-in and from entry points, not yet imported)."""
    return FORMATS.names()


def get_reader(fmt: str) -> Reader:
    """The reader of FMT; a plugin's is imported now (PluginError, naming its package, if it cannot be)."""
    try:
        return FORMATS.get(fmt)
    except UnknownNameError:
        raise DatasetError(
            f"unknown dataset format '{fmt}' (allowed: {', '.join(dataset_formats())})"
        ) from None


def stable_rank(sample_id: str) -> int:
    """A hash of the id that is the same in every process and on every machine."""
    return int.from_bytes(hashlib.blake2b(sample_id.encode("utf-8"), digest_size=8).digest(), "big")


def read_dataset(
    fmt: str,
    path: Path,
    *,
    split: str | None = None,
    doc_classes: list[str] | None = None,
    question_types: list[str] | None = None,
    max_samples: int | None = None,
    requires: tuple[tuple[str, ...], ...] = (),
    options: PageOptions | None = None,
) -> list[Sample]:
    """The dataset's samples in file order, filtered, then cut to `max_samples`.

    Filters (None or empty = keep all): `split` equal, `doc_class` in `doc_classes`, `question_type`
    in `question_types`. `max_samples` keeps the N samples whose ids have the lowest stable hash
    (a spread over the whole file, the same on every run), in file order.

    `requires`: the fields every sample must give, each as a group of names any of which will do (the
    task's reference: answer for OCR and VQA, label and classes, fields, order); a sample without one is a
    DatasetError `FILE:LINE: field 'NAME': missing`, before anything is sent.
    OPTIONS go to a reader of PDFs; other readers take none (DatasetError when options other than the
    defaults are given).
    """
    if max_samples is not None and max_samples < 0:
        raise ValueError(f"max_samples must be >= 0, got {max_samples}")
    from vlmhyperbench.datasets._paths import _real_dir

    _real_dir.cache_clear()  # folders may have moved since the last read
    reader = get_reader(fmt)
    if takes_page_options(reader):
        samples = reader(Path(path), options=options or PageOptions())
    elif options is not None and not options.is_default():
        raise DatasetError(
            f"format '{fmt}' reads images, not PDFs: dpi, pages, max_pages and reference do not apply to it"
        )
    else:
        samples = reader(Path(path))
    check_fields(samples, requires)
    return select_samples(
        samples, split=split, doc_classes=doc_classes, question_types=question_types, max_samples=max_samples
    )


def select_samples(
    samples: list[Sample],
    *,
    split: str | None = None,
    doc_classes: list[str] | None = None,
    question_types: list[str] | None = None,
    max_samples: int | None = None,
) -> list[Sample]:
    """SAMPLES filtered and cut as `read_dataset` does (any reader's output: a benchmark's too)."""
    if max_samples is not None and max_samples < 0:
        raise ValueError(f"max_samples must be >= 0, got {max_samples}")
    if split:
        samples = [s for s in samples if s.split == split]
    if doc_classes:
        wanted = set(doc_classes)
        samples = [s for s in samples if s.doc_class in wanted]
    if question_types:
        wanted = set(question_types)
        samples = [s for s in samples if s.question_type in wanted]
    if max_samples is not None and max_samples < len(samples):
        keep = set(sorted(range(len(samples)), key=lambda i: (stable_rank(samples[i].id), i))[:max_samples])
        samples = [s for i, s in enumerate(samples) if i in keep]
    return samples


def given_fields(sample: Sample) -> set[str]:
    """The fields SAMPLE's row gave: those its reader recorded (`keys`), else (a standard benchmark's or a
    plugin's reader, which build samples from their own layouts) those its values show."""
    if sample.keys:
        return set(sample.keys)
    shown = {
        "answer": bool(sample.references),
        "answers": bool(sample.references),
        "label": sample.label is not None,
        "classes": bool(sample.classes),
        "fields": sample.fields is not None,
        "order": sample.order is not None,
        "annotation": sample.annotation is not None,
        "question": bool(sample.question),
    }
    return {name for name, present in shown.items() if present}


def check_fields(samples: list[Sample], requires: tuple[tuple[str, ...], ...]) -> None:
    """DatasetError at the first sample that lacks a required field (see read_dataset)."""
    for sample in samples:
        given = given_fields(sample)
        for names in requires:
            if not any(name in given for name in names):
                alternatives = f" (or {', '.join(repr(n) for n in names[1:])})" if len(names) > 1 else ""
                has = ", ".join(sorted(given)) or "nothing"
                raise DatasetError(
                    f"{sample.where}: field '{names[0]}'{alternatives}: missing (the row gives: {has})"
                )


def unknown_fields(samples: list[Sample]) -> str | None:
    """One line naming the fields the dataset's rows give that its format ignores, or None."""
    found = sorted({name for s in samples for name in s.unknown})
    if not found:
        return None
    where = samples[0].where.split(":")[0] if samples and samples[0].where else "the dataset"
    return (
        f"{where}: field(s) {', '.join(repr(n) for n in found)} are not read by this format and are ignored"
    )

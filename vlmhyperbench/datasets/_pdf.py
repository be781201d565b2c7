"""The `pdf` format: a folder of PDFs and an annotation file; pages are images rendered when sent.

    docs/
      annotation.jsonl      {"id": "inv-1", "pdf": "invoices/inv-1.pdf", "page": 2, "answer": "..."}
      invoices/inv-1.pdf

PATH is the folder (its `annotation.jsonl`) or the annotation file itself; PDF paths are relative to the
annotation file's folder and may not leave it. A line takes the keys of the `jsonl` format (question,
answer or answers, doc_class, question_type, split, label + classes, fields, order) with `pdf` in place of
`image`, and optionally `page` (1-based) or `pages` (`all`, `N-M`, or a list) to pick its pages;
otherwise the dataset's `pages` option decides (see _options.py). With `reference=text_layer` the
references are the PDF's own text, and the annotation file is optional: every PDF under PATH is then a
document (its id: its path under PATH).

A PDF that is encrypted, corrupt, empty or too large fails its own samples with the reason; the others
go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlmhb_core.errors import DatasetError
from vlmhyperbench.datasets._common import UniqueIds, as_text, json_objects, references_of, task_fields, where
from vlmhyperbench.datasets._options import PageOptions, PageSelection, parse_pages
from vlmhyperbench.datasets._pages import (
    MAX_DOCUMENT_PAGES,
    PdfInfo,
    PdfPage,
    check_page_size,
    open_pdf,
    page_text,
)
from vlmhyperbench.datasets._paths import confine
from vlmhyperbench.datasets._sample import Sample, SampleError

ANNOTATION = "annotation.jsonl"
PDF_FIELDS = frozenset(
    "id pdf file page pages question answer answers doc_class question_type split label classes fields "
    "order".split()
)
"""The fields of an annotation line; any other is reported once per dataset, and ignored."""
TEXT_LAYER_KEYS = ("answer",)
"""What a sample whose reference is its text layer gives, for the task's required fields."""


def read_pdf(path: Path, options: PageOptions | None = None) -> list[Sample]:
    """The samples of a folder of PDFs (see the module docstring)."""
    options = options or PageOptions()
    file = path if path.suffix.lower() == ".jsonl" else path / ANNOTATION
    if file.is_file():
        return list(_annotated(file, options))
    if path.is_dir() and options.reference == "text_layer":
        return list(_folder(path, options))
    if path.is_dir():
        raise DatasetError(
            f"{path}: no {ANNOTATION}: give one (a line per sample: pdf, page, answer...), or set "
            "reference=text_layer to use each PDF's own text as the reference"
        )
    raise DatasetError(f"{file}: annotation file not found")


def _folder(root: Path, options: PageOptions) -> Iterator[Sample]:
    pdfs = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
    if not pdfs:
        raise DatasetError(f"{root}: no PDF files (*.pdf) in the folder")
    for pdf in pdfs:
        where = {"where": str(pdf), "keys": TEXT_LAYER_KEYS}
        yield from document_samples(pdf.relative_to(root).as_posix(), pdf, options, options.pages, where)


def _annotated(file: Path, options: PageOptions) -> Iterator[Sample]:
    ids = UniqueIds()
    try:
        handle = open(file, encoding="utf-8-sig")
    except OSError as e:
        raise DatasetError(f"{file}: cannot open: {e.strerror}") from None
    with handle:
        try:
            lines = list(enumerate(handle, 1))
        except UnicodeDecodeError:
            from vlmhyperbench.datasets._common import not_utf8

            raise not_utf8(file) from None
    for line, obj in json_objects(file, lines):
        rel = obj.get("pdf", obj.get("file"))
        if not isinstance(rel, str) or not rel.strip():
            raise DatasetError(where(file, line, "pdf") + "missing (the PDF's path, relative to the file)")
        selection = _line_selection(obj, file, line) or options.pages
        doc_id = as_text(obj.get("id", "")) or Path(rel).stem
        keys = tuple(k for k, v in obj.items() if v is not None)
        fields = {
            "where": f"{file}:{line}",
            "keys": keys + TEXT_LAYER_KEYS if options.reference == "text_layer" else keys,
            "unknown": tuple(k for k in obj if k not in PDF_FIELDS),
            "question": as_text(obj.get("question", "")),
            "references": references_of(obj),
            "doc_class": as_text(obj.get("doc_class", "")),
            "question_type": as_text(obj.get("question_type", "")),
            "split": as_text(obj.get("split", "")),
            **task_fields(obj, file, line),
        }
        ref, why = confine(file.parent, rel, "pdf")
        if ref is not None and not ref.path.is_file():
            ref, why = None, f"PDF {rel!r} not found (looked for {ref.path})"
        if ref is None:
            ids.add(doc_id, f"{file}:{line}")
            yield Sample(id=doc_id, images=(), error=why, error_field="pdf", **fields)
            continue
        for sample in document_samples(doc_id, ref.path, options, selection, fields):
            ids.add(sample.id, f"{file}:{line}")
            yield sample


def _line_selection(obj: dict[str, Any], file: Path, line: int) -> PageSelection | None:
    if obj.get("page") is not None:
        page = obj["page"]
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            raise DatasetError(where(file, line, "page") + f"expected a page number >= 1, found {page!r}")
        return PageSelection("range", page, page)
    pages = obj.get("pages")
    if pages is None:
        return None
    if isinstance(pages, list):
        if not pages or not all(isinstance(p, int) and p >= 1 for p in pages):
            raise DatasetError(where(file, line, "pages") + f"expected page numbers >= 1, found {pages!r}")
        if pages != list(range(pages[0], pages[-1] + 1)):
            raise DatasetError(where(file, line, "pages") + f"expected consecutive pages, found {pages!r}")
        return PageSelection("range", pages[0], pages[-1])
    try:
        return parse_pages(str(pages))
    except ValueError as e:
        raise DatasetError(where(file, line, "pages") + str(e)) from None


def document_samples(
    doc_id: str,
    pdf: Path,
    options: PageOptions,
    selection: PageSelection,
    fields: dict[str, Any],
) -> list[Sample]:
    """The samples of one document: one per page (`each`) or one of the selected pages; a document that
    cannot be used is one sample whose error says why."""
    if selection.mode == "evidence":  # the config check refuses it first: the annotation names no pages
        raise DatasetError("pages=evidence: this dataset's annotation names no evidence pages")
    try:
        info = open_pdf(pdf)
    except SampleError as e:
        return [Sample(id=doc_id, images=(), error=str(e), dpi=options.dpi, **fields)]
    if selection.mode == "each":
        groups = [(f"{doc_id}#p{i + 1}", [i]) for i in selection.indices(info.pages, options.max_pages)]
    else:
        groups = [(doc_id, selection.indices(info.pages, options.max_pages))]
    return [_sample(sample_id, info, pages, options, selection, fields) for sample_id, pages in groups]


def _sample(
    sample_id: str,
    info: PdfInfo,
    pages: list[int],
    options: PageOptions,
    selection: PageSelection,
    fields: dict[str, Any],
) -> Sample:
    base = {**fields, "id": sample_id, "dpi": options.dpi}
    try:
        if not pages:
            first = selection.first
            raise SampleError(f"{info.path}: page {first} does not exist (the PDF has {info.pages})")
        if len(pages) > MAX_DOCUMENT_PAGES:
            raise SampleError(
                f"{info.path}: {len(pages)} pages in one sample, over the limit of {MAX_DOCUMENT_PAGES} "
                "(set the dataset's max_pages, or pages=each)"
            )
        for i in pages:
            check_page_size(info, i, options.dpi)
        if options.reference == "text_layer":
            texts = page_text(info.path, pages)
            empty = [str(i + 1) for i, text in zip(pages, texts) if not text.strip()]
            if len(empty) == len(pages):
                raise SampleError(
                    f"{info.path}: no text layer on page(s) {', '.join(empty)}: reference=text_layer needs "
                    "born-digital PDFs (these pages look scanned)"
                )
            base["references"] = ("\n".join(texts),)
    except SampleError as e:
        return Sample(images=(), error=str(e), **base)
    images = tuple(PdfPage(info.path, i, options.dpi, info.digest) for i in pages)
    return Sample(images=images, **base)

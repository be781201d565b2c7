"""Two published benchmarks in their own layouts: `omnidocbench` and `olmocr_bench`.

OmniDocBench (PATH: the folder, or its OmniDocBench.json)

    OmniDocBench.json    [{"layout_dets": [...], "page_info": {"image_path": ..., "page_attribute": {...}},
                           "extra": {"relation": [...]}}, ...]
    images/              the page images

A sample is a page: id = its image file name, doc_class = page_attribute.data_source, question_type =
page_attribute.layout, annotation = the page's whole entry (what the omnidocbench scorer reads), and as
reference a Markdown rendering of it (titles, text, code, references, display formulas as $$...$$, tables
as HTML, in the annotated reading order; headers, footers, page numbers, captions and figures left out,
as OmniDocBench leaves them out of its text score), so that the parse task's own metrics work too.

olmOCR-bench (PATH: the folder)

    pdfs/<category>/<name>.pdf   the pages (one page each in the published set)
    <category>.jsonl             unit tests: {"pdf": "<category>/<name>.pdf", "page": 1, "id", "type", ...}

A sample is a PDF page with at least one test: id = `<pdf>` (`<pdf>#p<page>` past page 1), doc_class =
the category of its tests, annotation = {"tests": [...]} with each test's `category` (its file's stem),
plus the `baseline` test olmocr's benchmark adds for every PDF that has none. The page is rendered at the
dataset's dpi (default 144). A test file that is not JSON fails the dataset with FILE:LINE.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlmhb_core.errors import DatasetError
from vlmhyperbench.datasets._common import as_text, json_objects, not_utf8, where
from vlmhyperbench.datasets._options import PageOptions
from vlmhyperbench.datasets._pages import PdfPage, check_page_size, open_pdf
from vlmhyperbench.datasets._paths import confine
from vlmhyperbench.datasets._sample import Sample, SampleError

OMNIDOCBENCH_JSON = "OmniDocBench.json"
_MARKDOWN_CATEGORIES = {"title", "text_block", "code_txt", "reference", "equation_isolated", "table"}


def read_omnidocbench(path: Path, split: str | None = None) -> list[Sample]:
    """OmniDocBench's pages (see the module docstring). The published set has one split: SPLIT is taken
    (the standard benchmarks' readers are fn(path, split)) and any value reads all of it."""
    file = path if path.suffix.lower() == ".json" else path / OMNIDOCBENCH_JSON
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(
            f"{file}: file not found (an OmniDocBench folder holds {OMNIDOCBENCH_JSON})"
        ) from None
    except UnicodeDecodeError:
        raise not_utf8(file) from None
    except OSError as e:
        raise DatasetError(f"{file}: cannot read: {e.strerror}") from None
    try:
        pages = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{file}:{e.lineno}: bad JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(pages, list):
        raise DatasetError(f"{file}: expected a list of pages, found {type(pages).__name__}")
    images = file.parent / "images"
    samples, seen = [], {}
    for n, page in enumerate(pages):
        loc = f"{file}: [{n}]"
        if not isinstance(page, dict) or not isinstance(page.get("page_info"), dict):
            raise DatasetError(f"{loc}: field 'page_info': missing (each page has page_info.image_path)")
        if not isinstance(page.get("layout_dets"), list):
            raise DatasetError(f"{loc}: field 'layout_dets': expected a list")
        info = page["page_info"]
        image = as_text(info.get("image_path", ""))
        if not image:
            raise DatasetError(f"{loc}: field 'page_info.image_path': missing")
        if image in seen:
            raise DatasetError(
                f"{loc}: field 'page_info.image_path': {image!r} already used at [{seen[image]}]"
            )
        seen[image] = n
        attributes = info.get("page_attribute") or {}
        ref, error = confine(images, image, "page_info.image_path")
        samples.append(
            Sample(
                id=image,
                images=(ref,) if ref is not None else (),
                references=(page_markdown(page),),
                doc_class=as_text(attributes.get("data_source", "")),
                question_type=as_text(attributes.get("layout", "")),
                annotation=page,
                error=error,
                error_field="page_info.image_path" if error else None,
                where=loc,
                keys=("answer", "annotation"),
            )
        )
    return samples


def page_markdown(page: dict[str, Any]) -> str:
    """The page's reference Markdown: its scored elements in reading order (see the module docstring)."""
    dets = [
        d
        for d in page.get("layout_dets", [])
        if isinstance(d, dict) and d.get("category_type") in _MARKDOWN_CATEGORIES and not d.get("ignore")
    ]
    dets.sort(key=lambda d: (d.get("order") is None, d.get("order") or 0))
    blocks = []
    for d in dets:
        kind = d["category_type"]
        if kind == "table":
            blocks.append(as_text(d.get("html") or d.get("latex") or ""))
        elif kind == "equation_isolated":
            latex = as_text(d.get("latex") or d.get("text") or "").strip().strip("$").strip()
            blocks.append(f"$$\n{latex}\n$$")
        elif kind == "title":
            blocks.append("# " + as_text(d.get("text", "")).strip())
        else:
            blocks.append(as_text(d.get("text", "")).strip())
    return "\n\n".join(b for b in blocks if b.strip())


def read_olmocr_bench(
    path: Path, split: str | None = None, *, options: PageOptions | None = None
) -> list[Sample]:
    """olmOCR-bench's pages with their unit tests (see the module docstring). One split, as OmniDocBench."""
    options = options or PageOptions()
    if not path.is_dir():
        raise DatasetError(f"{path}: expected the olmOCR-bench folder (pdfs/ and <category>.jsonl files)")
    if not (path / "pdfs").is_dir() and (path / "bench_data" / "pdfs").is_dir():
        path = path / "bench_data"  # the published repository keeps them one folder down
    pdfs = path / "pdfs"
    files = sorted(p for p in path.glob("*.jsonl") if p.is_file())
    if not files:
        raise DatasetError(f"{path}: no <category>.jsonl test files")
    pages: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for file in files:
        for line, test in _tests(file):
            pdf, page = test.get("pdf"), test.get("page")
            if not isinstance(pdf, str) or not pdf:
                raise DatasetError(where(file, line, "pdf") + "missing")
            if not isinstance(page, int) or isinstance(page, bool) or page < 1:
                raise DatasetError(where(file, line, "page") + f"expected a page number >= 1, found {page!r}")
            pages.setdefault((pdf, page), []).append({**test, "category": file.stem})
    for pdf in sorted({pdf for pdf, _ in pages}):
        if not any(t.get("type") == "baseline" for (p, _), tests in pages.items() if p == pdf for t in tests):
            baseline = {
                "pdf": pdf,
                "page": 1,
                "id": f"{pdf}_baseline",
                "type": "baseline",
                "category": "baseline",
            }
            pages.setdefault((pdf, 1), []).append(baseline)
    samples = []
    for (pdf, page), tests in pages.items():
        categories = [t["category"] for t in tests if t["category"] != "baseline"]
        sample_id = pdf if page == 1 else f"{pdf}#p{page}"
        fields = {
            "id": sample_id,
            "doc_class": categories[0] if categories else "baseline",
            "annotation": {"tests": tests},
            "dpi": options.dpi,
            "where": f"{pdfs / pdf}: page {page}",
            "keys": ("annotation",),
        }
        ref, error = confine(pdfs, pdf, "pdf")
        if ref is None:
            samples.append(Sample(images=(), error=error, error_field="pdf", **fields))
            continue
        try:
            info = open_pdf(ref.path)
            if page > info.pages:
                raise SampleError(f"{ref.path}: page {page} does not exist (the PDF has {info.pages})")
            check_page_size(info, page - 1, options.dpi)
        except SampleError as e:
            samples.append(Sample(images=(), error=str(e), **fields))
            continue
        samples.append(Sample(images=(PdfPage(ref.path, page - 1, options.dpi, info.digest),), **fields))
    return samples


def _tests(file: Path):
    try:
        with open(file, encoding="utf-8-sig") as handle:
            lines = list(enumerate(handle, 1))
    except UnicodeDecodeError:
        raise not_utf8(file) from None
    except OSError as e:
        raise DatasetError(f"{file}: cannot read: {e.strerror}") from None
    yield from json_objects(file, lines)

"""MMLongBench-Doc in its published Hugging Face layout (yubo2333/MMLongBench-Doc):

    data/train-00000-of-00001.parquet   doc_id, doc_type, question, answer, evidence_pages,
                                        evidence_sources, answer_format (the last three as Python literals:
                                        "[3, 5]", "['Chart']")
    documents/<doc_id>                  the PDFs

PATH is the repository folder (or its parquet file). A sample is a question: every page of its document up to
`max_pages` (120, the official default, when the row sets none), rendered at the row's `dpi` (144 when it sets
none: the official code's `--resolution` default), in page order, with the question as the prompt (the
official code sends the question's text, then the pages). `pages` N-M sends that range of each document,
and `pages=evidence` only the pages the question's annotation names as evidence (lmms-eval does this: it
gives the model the answer's location, so its figures are not comparable with the paper's; a question with
no evidence page, as the unanswerable ones, is then sent without pages). `pages=each` does not apply.

Sample fields: id `SPLIT-NNNNN` (the row's place), doc_class = doc_type, question_type = answer_format,
references = (answer,), annotation = the row's fields and the question's place (what the official scoring
reads: metrics._mmlongbench). A missing, encrypted or broken PDF fails its questions, not the dataset.
"""

from __future__ import annotations

from pathlib import Path

from vlmhb_core.errors import DatasetError
from vlmhyperbench.benchmarks._layout import Layout, find_shards
from vlmhyperbench.datasets import PageOptions, PdfPage, Sample, SampleError
from vlmhyperbench.datasets._common import UniqueIds, as_text
from vlmhyperbench.datasets._pages import MAX_DOCUMENT_PAGES, PdfInfo, check_page_size, open_pdf
from vlmhyperbench.datasets._paths import confine

OFFICIAL_MAX_PAGES = 120
"""run_api.py and run_lvlm.py: `--max_pages 120`."""
COLUMNS = ("doc_id", "doc_type", "question", "answer", "evidence_pages", "evidence_sources", "answer_format")
LAYOUT = Layout(config=None, columns=tuple((c,) for c in COLUMNS), required=COLUMNS, image="")
DOCUMENTS = "documents"


def _root(path: Path) -> Path:
    """The repository folder: the one holding documents/ (PATH, or above a parquet file or data/)."""
    folder = path.parent if path.is_file() else path
    for candidate in (folder, folder.parent):
        if (candidate / DOCUMENTS).is_dir():
            return candidate
    raise DatasetError(f"{path}: no {DOCUMENTS}/ folder of PDFs beside the questions (the hub's layout)")


def _rows(path: Path, split: str) -> list[tuple[Path, int, dict]]:
    import polars as pl

    out = []
    for file in find_shards(path, LAYOUT, split):
        try:
            schema = pl.read_parquet_schema(file)
        except Exception as e:  # polars raises several kinds for unreadable files
            raise DatasetError(f"{file}: not a readable Parquet file: {e}") from None
        missing = [c for c in COLUMNS if c not in schema]
        if missing:
            raise DatasetError(f"{file}: field '{missing[0]}': missing (columns: {', '.join(schema)})")
        frame = pl.read_parquet(file, columns=list(COLUMNS))
        out += [(file, row, obj) for row, obj in enumerate(frame.iter_rows(named=True))]
    return out


def _evidence(value, where: str) -> list[int]:
    import ast

    try:
        pages = ast.literal_eval(value) if isinstance(value, str) else value
    except (ValueError, SyntaxError):
        raise DatasetError(
            f"{where}: field 'evidence_pages': {value!r} is not a list of page numbers"
        ) from None
    return [int(p) for p in (pages if isinstance(pages, (list, tuple)) else [pages])]


def _pages(info: PdfInfo, options: PageOptions, evidence: list[int]) -> list[int]:
    if options.pages.mode == "evidence":
        chosen = sorted({p - 1 for p in evidence if 1 <= p <= info.pages})
        return chosen[: options.max_pages] if options.max_pages else chosen
    if options.pages.mode == "each":
        raise DatasetError("MMLongBench-Doc: pages=each does not apply (a question is about its document)")
    return options.pages.indices(info.pages, options.max_pages or OFFICIAL_MAX_PAGES)


def read_mmlongbench_doc(
    path: Path, split: str | None = None, *, options: PageOptions | None = None
) -> list[Sample]:
    """MMLongBench-Doc's questions (see the module docstring); pages render when their request is built."""
    options = options or PageOptions()
    split = split or "train"
    documents = _root(path) / DOCUMENTS
    opened: dict[str, PdfInfo | str] = {}
    ids = UniqueIds()
    samples = []
    for n, (file, row, obj) in enumerate(_rows(path, split)):
        where = f"{file}: row {row}"
        doc_id = as_text(obj["doc_id"])
        annotation = {c: obj[c] for c in COLUMNS if c != "question"} | {"order": n}
        evidence = _evidence(obj["evidence_pages"], where)
        fields = {
            "id": f"{split}-{n:05d}",
            "question": as_text(obj["question"]),
            "references": (as_text(obj["answer"]),) if obj["answer"] is not None else (),
            "doc_class": as_text(obj["doc_type"]),
            "question_type": as_text(obj["answer_format"]),
            "split": split,
            "annotation": annotation,
            "dpi": options.dpi,
            "where": where,
            "keys": COLUMNS,
        }
        ids.add(fields["id"], where)
        if doc_id not in opened:
            ref, why = confine(documents, doc_id)
            try:
                opened[doc_id] = why if ref is None else open_pdf(ref.path)
            except SampleError as e:
                opened[doc_id] = str(e)
        info = opened[doc_id]
        if isinstance(info, str):
            samples.append(Sample(images=(), error=info, **fields))
            continue
        try:
            pages = _pages(info, options, evidence)
            if len(pages) > MAX_DOCUMENT_PAGES:
                raise SampleError(
                    f"{info.path}: {len(pages)} pages in one sample, over the limit of {MAX_DOCUMENT_PAGES} "
                    "(set the dataset's max_pages)"
                )
            for i in pages:
                check_page_size(info, i, options.dpi)
        except SampleError as e:
            samples.append(Sample(images=(), error=str(e), **fields))
            continue
        images = tuple(PdfPage(info.path, i, options.dpi, info.digest) for i in pages)
        samples.append(Sample(images=images, **fields))
    return samples


read_mmlongbench_doc.page_modes = ("all", "range", "evidence")  # type: ignore[attr-defined]

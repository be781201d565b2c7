"""The `pdf` format: real PDFs written with fpdf2, pages rendered with pypdfium2, each page once; broken
PDFs fail their own samples; datasets.csv's page columns are checked with FILE:LINE."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.support.documents import text_pdf, zero_page_pdf
from vlmhb_core.errors import ConfigError, DatasetError
from vlmhyperbench.config import load_catalog
from vlmhyperbench.datasets import PageOptions, read_dataset
from vlmhyperbench.datasets import _pages as pages


@pytest.fixture(autouse=True)
def page_cache(tmp_path, monkeypatch):
    """Every test renders into its own page cache."""
    from vlmhb_core.settings import get_settings

    monkeypatch.setenv("VLMHB_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    pages.clear_memory()
    yield
    get_settings.cache_clear()


def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    text_pdf(root / "report.pdf", ["First page words", "Second page words", "Third page words"])
    text_pdf(root / "sub" / "memo.pdf", ["Memo body"])
    return root


def test_text_layer_turns_a_folder_of_pdfs_into_an_ocr_benchmark(tmp_path):
    root = folder(tmp_path)
    docs = read_dataset("pdf", root, options=PageOptions.of(reference="text_layer"))
    assert [(s.id, len(s.images), s.dpi) for s in docs] == [("report.pdf", 3, 144), ("sub/memo.pdf", 1, 144)]
    assert docs[0].references == ("First page words\nSecond page words\nThird page words",)

    each = read_dataset(
        "pdf", root, options=PageOptions.of(reference="text_layer", pages="each", max_pages=2)
    )
    assert [(s.id, s.references) for s in each] == [
        ("report.pdf#p1", ("First page words",)),
        ("report.pdf#p2", ("Second page words",)),
        ("sub/memo.pdf#p1", ("Memo body",)),
    ]
    ranged = read_dataset("pdf", root, options=PageOptions.of(reference="text_layer", pages="2-3", dpi=72))
    assert [p.index for p in ranged[0].images] == [1, 2] and ranged[0].dpi == 72
    assert "page 2 does not exist (the PDF has 1)" in ranged[1].error


def test_a_page_is_rendered_once_at_its_dpi_and_cached_by_content(tmp_path):
    root = folder(tmp_path)
    sample = read_dataset("pdf", root, options=PageOptions.of(reference="text_layer", dpi=100))[0]
    before = pages.RENDERS["count"]
    png = sample.images[0].read_bytes()
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG" and img.size == (
            827,
            1170,
        )  # A4 (595.28 x 841.89 pt) at 100 dpi, rounded up
    again = read_dataset("pdf", root, options=PageOptions.of(reference="text_layer", dpi=100))[0]
    assert again.images[0].read_bytes() == png  # memory
    pages.clear_memory()
    assert again.images[0].read_bytes() == png  # the disk cache, keyed by the file's hash
    assert pages.RENDERS["count"] == before + 1
    assert pages.cache_files(sample.images[0].digest) == ["1-100.png"]
    # a copy under another name is the same content: no new render
    (root / "copy.pdf").write_bytes((root / "report.pdf").read_bytes())
    copy = [s for s in read_dataset("pdf", root, options=PageOptions.of(reference="text_layer", dpi=100))]
    assert next(s for s in copy if s.id == "copy.pdf").images[0].read_bytes() == png
    assert pages.RENDERS["count"] == before + 1


def test_broken_pdfs_fail_their_own_samples_with_the_reason(tmp_path):
    root = tmp_path / "docs"
    text_pdf(root / "good.pdf", ["Readable text"])
    text_pdf(root / "locked.pdf", ["Secret text"], encrypt="pw")
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj garbage")
    zero_page_pdf(root / "empty.pdf")
    text_pdf(root / "scan.pdf", [""])
    from fpdf import FPDF

    huge = FPDF(unit="mm", format=(2000, 2000))
    huge.add_page()
    huge.set_font("helvetica", size=40)
    huge.cell(text="Poster")
    huge.output(str(root / "poster.pdf"))

    samples = {s.id: s for s in read_dataset("pdf", root, options=PageOptions.of(reference="text_layer"))}
    assert samples["good.pdf"].error is None
    assert "encrypted" in samples["locked.pdf"].error
    assert "corrupt or truncated" in samples["corrupt.pdf"].error
    assert "has no pages" in samples["empty.pdf"].error
    assert "no text layer" in samples["scan.pdf"].error
    assert (
        "megapixels, over the limit" in samples["poster.pdf"].error
        and "lower dpi" in samples["poster.pdf"].error
    )
    assert all(s.images == () for sid, s in samples.items() if sid != "good.pdf")


def test_an_annotation_file_picks_pages_and_carries_the_task_fields(tmp_path):
    root = folder(tmp_path)
    lines = [
        {"id": "q1", "pdf": "report.pdf", "page": 2, "question": "What page?", "answer": "Second"},
        {"id": "q2", "pdf": "report.pdf", "pages": [1, 2], "answers": ["a", "b"], "doc_class": "report"},
        {"id": "whole", "pdf": "sub/memo.pdf", "label": "memo", "classes": ["memo", "report"]},
        {"id": "out", "pdf": "../outside.pdf", "answer": "x"},
    ]
    (root / "annotation.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    samples = {s.id: s for s in read_dataset("pdf", root)}
    assert [p.index for p in samples["q1"].images] == [1] and samples["q1"].references == ("Second",)
    assert [p.index for p in samples["q2"].images] == [0, 1] and samples["q2"].doc_class == "report"
    assert samples["whole"].label == "memo" and len(samples["whole"].images) == 1
    assert "leaves the dataset folder" in samples["out"].error
    # the annotation file itself can be the path; text_layer replaces the answers
    text = read_dataset("pdf", root / "annotation.jsonl", options=PageOptions.of(reference="text_layer"))
    assert next(s for s in text if s.id == "q1").references == ("Second page words",)


def test_annotation_errors_name_the_line_and_field(tmp_path):
    root = folder(tmp_path)
    (root / "annotation.jsonl").write_text('{"pdf": "report.pdf"}\n{"pdf": "report.pdf", "page": 0}\n')
    with pytest.raises(DatasetError, match=r"annotation.jsonl:2: field 'page': expected a page number >= 1"):
        read_dataset("pdf", root)
    (root / "annotation.jsonl").write_text('{"page": 1}\n')
    with pytest.raises(DatasetError, match=r"annotation.jsonl:1: field 'pdf': missing"):
        read_dataset("pdf", root)
    (root / "annotation.jsonl").unlink()
    with pytest.raises(DatasetError, match="no annotation.jsonl: give one .* or set reference=text_layer"):
        read_dataset("pdf", root)
    with pytest.raises(DatasetError, match="format 'jsonl' reads images, not PDFs"):
        read_dataset("jsonl", root / "x.jsonl", options=PageOptions.of(dpi=200))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("d;ocr;pdf;docs;90000;;;", "datasets.csv:2: column 'dpi': dpi 90000 is outside 72..600"),
        ("d;ocr;pdf;docs;;every;;", "datasets.csv:2: column 'pages': 'every' is not a page selection"),
        ("d;ocr;pdf;docs;;;0;", "datasets.csv:2: column 'max_pages': max_pages 0 is below the minimum 1"),
        ("d;ocr;pdf;docs;;;;ocr", "datasets.csv:2: column 'reference': reference 'ocr' is not one of"),
        ("d;ocr;jsonl;docs;200;;;", "datasets.csv:2: column 'dpi': format 'jsonl' reads images, not PDFs"),
    ],
)
def test_page_columns_are_checked_with_file_and_line(write_config, tmp_path, row, expected):
    root = write_config(
        {
            "models.csv": "name;backend;env\nt;tesseract;venv\n",
            "datasets.csv": "name;task;format;path;dpi;pages;max_pages;reference\n" + row + "\n",
        }
    )
    (root / "docs").mkdir()
    with pytest.raises(ConfigError) as info:
        load_catalog(root)
    assert expected in str(info.value)


def test_page_columns_reach_the_reader(write_config, tmp_path):
    root = write_config(
        {
            "models.csv": "name;backend;env\nt;tesseract;venv\n",
            "datasets.csv": "name;task;format;path;dpi;pages;reference\nd;ocr;pdf;docs;200;each;text_layer\n",
        }
    )
    text_pdf(root / "docs" / "a.pdf", ["One", "Two"])
    catalog = load_catalog(root)
    options = catalog.datasets["d"].page_options()
    assert options == PageOptions.of(dpi=200, pages="each", reference="text_layer")
    samples = read_dataset("pdf", catalog.dataset_path(catalog.datasets["d"]), options=options)
    assert [(s.id, s.dpi) for s in samples] == [("a.pdf#p1", 200), ("a.pdf#p2", 200)]

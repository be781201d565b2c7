"""OmniDocBench and olmOCR-bench read in their published layouts (folders written here)."""

from __future__ import annotations

import json

import pytest

from tests.support.documents import olmocr_bench_folder, omnidocbench_folder, omnidocbench_page
from vlmhb_core.errors import DatasetError
from vlmhyperbench.datasets import read_dataset

TABLE = "<table><tr><td>a</td></tr></table>"


def test_omnidocbench_pages_carry_their_annotation_and_a_markdown_reference(tmp_path):
    pages = [
        omnidocbench_page(
            "p1.jpg",
            [("title", "Report"), ("text_block", "Body text."), ("header", "Running head"), ("table", TABLE)],
            layout="double_column",
        ),
        omnidocbench_page("p2.jpg", [("equation_isolated", "$$x^2$$"), ("figure_caption", "Fig. 1")]),
    ]
    pages[0]["layout_dets"][1]["order"] = 9  # reading order comes from `order`, not the list
    root = omnidocbench_folder(tmp_path / "odb", pages)
    samples = read_dataset("omnidocbench", root)
    assert [(s.id, s.doc_class, s.question_type) for s in samples] == [
        ("p1.jpg", "research_report", "double_column"),
        ("p2.jpg", "research_report", "single_column"),
    ]
    assert samples[0].references == (f"# Report\n\n{TABLE}\n\nBody text.",)
    assert samples[1].references == ("$$\nx^2\n$$",)
    assert samples[0].annotation == pages[0] and samples[0].images[0].mime == "image/jpeg"
    assert read_dataset("omnidocbench", root / "OmniDocBench.json")[1].id == "p2.jpg"
    from vlmhyperbench.datasets._benchmarks import read_omnidocbench  # fn(path, split), as the catalog calls

    assert [s.id for s in read_omnidocbench(root, "test")] == ["p1.jpg", "p2.jpg"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[{"layout_dets": []}]', "OmniDocBench.json: [0]: field 'page_info': missing"),
        ('[{"layout_dets": [], "page_info": {}}]', "[0]: field 'page_info.image_path': missing"),
        ('[\n{"a": 1,}\n]', "OmniDocBench.json:2: bad JSON"),
        ('{"pages": []}', "expected a list of pages, found dict"),
    ],
)
def test_omnidocbench_errors_name_the_file_and_entry(tmp_path, content, expected):
    (tmp_path / "OmniDocBench.json").write_text(content)
    with pytest.raises(DatasetError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        read_dataset("omnidocbench", tmp_path)


def test_olmocr_bench_pages_get_their_tests_and_olmocrs_baseline(tmp_path):
    root = olmocr_bench_folder(
        tmp_path / "bench",
        {
            "tables": [("t1", ["Cell text"], [{"type": "table", "cell": "Cell text"}])],
            "headers_footers": [
                ("h1", ["Body", "Second page body"], [{"type": "absent", "text": "Header"}]),
            ],
        },
    )
    with open(root / "headers_footers.jsonl", "a") as f:
        f.write(
            json.dumps(
                {"pdf": "headers_footers/h1.pdf", "page": 2, "id": "p2", "type": "present", "text": "x"}
            )
        )
        f.write(
            "\n" + json.dumps({"pdf": "headers_footers/missing.pdf", "page": 1, "id": "m", "type": "present"})
        )
    samples = {s.id: s for s in read_dataset("olmocr_bench", root)}
    assert set(samples) == {
        "tables/t1.pdf",
        "headers_footers/h1.pdf",
        "headers_footers/h1.pdf#p2",
        "headers_footers/missing.pdf",
    }
    first = samples["headers_footers/h1.pdf"]
    assert [(t["type"], t["category"]) for t in first.annotation["tests"]] == [
        ("absent", "headers_footers"),
        ("baseline", "baseline"),
    ]
    assert first.doc_class == "headers_footers" and first.dpi == 144 and first.images[0].index == 0
    assert samples["headers_footers/h1.pdf#p2"].images[0].index == 1
    assert "cannot read" in samples["headers_footers/missing.pdf"].error
    from vlmhyperbench.datasets._benchmarks import read_olmocr_bench

    assert {s.id for s in read_olmocr_bench(root, None)} == set(samples)
    (root / "tables.jsonl").write_text('{"pdf": "tables/t1.pdf", "page": 1}\nnot json\n')
    with pytest.raises(DatasetError, match=r"tables.jsonl:2: bad JSON"):
        read_dataset("olmocr_bench", root)

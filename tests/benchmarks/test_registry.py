"""Each standard benchmark read from its exact published layout (parquet shards written by the test
with synthetic images): questions, gold answers, sub-splits, ids, lazy images, and clear errors."""

from __future__ import annotations

import polars as pl
import pytest

from flows.cli.registries import REGISTRIES
from vlmhb_core.errors import DatasetError
from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.benchmarks._hub_layouts import write_benchmark
from vlmhyperbench.datasets import sniff_mime
from vlmhyperbench.datasets._sample import _parquet_block

ROWS = {
    "docvqa": [
        {
            "question": "What is the date?",
            "answers": ["1 May", "May 1"],
            "question_types": ["form", "layout"],
        },
        {"question": "Who signed?", "answers": ["J. Doe"], "question_types": ["handwritten"]},
    ],
    "infographicvqa": [
        {"question": "How many?", "answers": ["12"], "answer_type": ["single span"]},
        {"question": "Which year?", "answers": ["2019"], "answer_type": ["non span"]},
    ],
    "chartqa": [
        {"question": "Max value?", "answer": "12.5", "type": "human_test"},
        {"question": "Min value?", "answer": "3", "type": "augmented_test"},
    ],
    "textvqa": [{"question": "What brand?", "answers": ["coca cola"] * 7 + ["coke"] * 3}],
    "ocrbench": [
        {"question": "what is written?", "answers": ["hello"], "dataset": "IIIT5K"},
        {
            "question": "Write the expression in LaTeX.",
            "answers": ["x^{2}"],
            "dataset": "HME100k",
            "question_type": "Handwritten Mathematical Expression Recognition",
        },
    ],
}


def test_the_catalog_has_the_five_benchmarks_and_lists_them():
    assert set(BENCHMARKS.names()) >= set(ROWS)
    assert BENCHMARKS in REGISTRIES and BENCHMARKS.group == "vlmhyperbench.benchmarks"
    for name in ROWS:
        b = BENCHMARKS.get(name)
        assert b.metrics[0] == b.headline.metric and b.prompt and b.prompt_source and b.scorer_source
    assert BENCHMARKS.get("ocrbench").headline.scale == 1000
    assert BENCHMARKS.get("docvqa").headline.label == "ANLS ×100"


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_benchmark_reads_its_published_layout(tmp_path, name):
    root = write_benchmark(tmp_path / name, name, ROWS[name])
    benchmark = BENCHMARKS.get(name)
    _parquet_block.cache_clear()
    samples = benchmark.read(root)
    assert _parquet_block.cache_info().currsize == 0, "no image is read before it is asked for"
    assert [s.question for s in samples] == [r["question"] for r in ROWS[name]]
    assert [list(s.references) for s in samples] == [r.get("answers") or [r["answer"]] for r in ROWS[name]]
    assert all(s.split == benchmark.default_split for s in samples)
    assert len({s.id for s in samples}) == len(samples)
    assert sniff_mime(samples[0].images[0].read_bytes()) == "image/png"


def test_sub_splits_are_question_types_and_source_datasets(tmp_path):
    read = {n: BENCHMARKS.get(n).read(write_benchmark(tmp_path / n, n, ROWS[n])) for n in ROWS}
    assert [s.question_type for s in read["chartqa"]] == ["human", "augmented"]
    assert [s.question_type for s in read["docvqa"]] == ["form", "handwritten"]
    assert [s.doc_class for s in read["ocrbench"]] == ["IIIT5K", "HME100k"]
    assert read["ocrbench"][1].question_type == "Handwritten Mathematical Expression Recognition"
    assert [s.id for s in read["docvqa"]] == ["50000", "50001"]  # questionId
    assert [s.id for s in read["chartqa"]] == ["test-00000", "test-00001"]  # no id column: the row's place


def test_chartqa_reads_the_other_published_layouts(tmp_path):
    """HuggingFaceM4/ChartQA: query, label (list), human_or_machine (0 human, 1 machine)."""
    from vlmhyperbench.benchmarks._hub_layouts import IMAGE, png

    (tmp_path / "data").mkdir()
    pl.DataFrame(
        {
            "image": [{"bytes": png("a"), "path": None}, {"bytes": png("b"), "path": None}],
            "query": ["q1", "q2"],
            "label": [["7"], ["yes"]],
            "human_or_machine": [0, 1],
        },
        schema={
            "image": IMAGE,
            "query": pl.String,
            "label": pl.List(pl.String),
            "human_or_machine": pl.Int64,
        },
    ).write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet")
    samples = BENCHMARKS.get("chartqa").read(tmp_path)
    assert [(s.question, s.references, s.question_type) for s in samples] == [
        ("q1", ("7",), "human"),
        ("q2", ("yes",), "augmented"),
    ]


def test_shards_configs_and_splits(tmp_path):
    root = tmp_path / "DocVQA-repo"
    write_benchmark(root, "docvqa", ROWS["docvqa"] * 3, shards=3)
    write_benchmark(root, "docvqa", ROWS["docvqa"][:1], split="test")
    write_benchmark(root, "infographicvqa", ROWS["infographicvqa"])  # the same repository, another config
    docvqa = BENCHMARKS.get("docvqa")
    assert len(docvqa.read(root, "validation")) == 6
    assert len(docvqa.read(root / "DocVQA", "test")) == 1  # the config's folder works too
    assert len(BENCHMARKS.get("infographicvqa").read(root)) == 2
    with pytest.raises(DatasetError, match=r"no shard of split 'train' \(splits found: test, validation\)"):
        docvqa.read(root, "train")


def test_a_missing_column_names_the_file_and_the_field(tmp_path):
    (tmp_path / "data").mkdir()
    bad = tmp_path / "data" / "test-00000-of-00001.parquet"
    pl.DataFrame({"question": ["q"], "answer": [["a"]]}).write_parquet(bad)
    with pytest.raises(DatasetError, match=rf"{bad}: field 'image': missing \(columns: question, answer\)"):
        BENCHMARKS.get("chartqa").read(tmp_path)


def test_test_split_without_answers_reads_with_no_references(tmp_path):
    root = write_benchmark(tmp_path, "docvqa", [{"question": "q", "answers": None}], split="test")
    (sample,) = BENCHMARKS.get("docvqa").read(root, "test")
    assert sample.references == ()

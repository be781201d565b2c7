"""datasets.csv rows that name a benchmark (`name;benchmark;path;split`): what the benchmark brings, what a
row overrides, and every mistake stopped before anything runs with FILE:LINE: column 'NAME'."""

from __future__ import annotations

import pytest

from vlmhb_core.errors import ConfigError
from vlmhyperbench.benchmarks._hub_layouts import write_benchmark
from vlmhyperbench.config import expand_plan, load_catalog

MODELS = "name;backend;model;base_url;env\napi;openai;m;http://127.0.0.1:9/v1;none\n"


@pytest.fixture
def root(tmp_path):
    write_benchmark(tmp_path / "cfg" / "data" / "ChartQA", "chartqa", [{"question": "q", "answer": "1"}])
    write_benchmark(tmp_path / "cfg" / "data" / "OCRBench", "ocrbench", [{"question": "q", "answer": "a"}])
    (tmp_path / "cfg" / "models.csv").write_text(MODELS)
    return tmp_path / "cfg"


def load(root, datasets: str):
    (root / "datasets.csv").write_text(datasets)
    return load_catalog(root)


def error_of(root, datasets: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(root, datasets)
    return str(info.value)


def test_a_benchmark_row_gets_task_split_metrics_prompt_and_aggregators(root):
    catalog = load(
        root, "name;benchmark;path;split\nchart;chartqa;data/ChartQA;\nocr;ocrbench;data/OCRBench;test\n"
    )
    chart, ocr = catalog.datasets["chart"], catalog.datasets["ocr"]
    assert (chart.task, chart.split, chart.metrics) == ("vqa", "test", ("chartqa_relaxed_accuracy",))
    assert chart.prompt_template == "{{ question }}\nAnswer the question with a single word."
    assert ocr.prompt_template == "{{ question }}" and ocr.metrics == ("ocrbench_accuracy",)
    pairs = {p.dataset.name: p for p in expand_plan(catalog)}
    assert pairs["ocr"].aggregators == ("general", "by_question_type", "by_doc_class")
    assert pairs["chart"].aggregators == ("general", "by_question_type")
    assert pairs["chart"].metric_names() == ["chartqa_relaxed_accuracy"]
    assert catalog.data_source(chart).kind == "folder"


def test_a_row_overrides_what_it_sets(root):
    (root / "prompts.csv").write_text("collection;template\nmine;{{ question }}?\n")
    catalog = load(
        root,
        "name;benchmark;path;metrics;prompts\nchart;chartqa;data/ChartQA;relaxed_accuracy anls;mine\n",
    )
    chart = catalog.datasets["chart"]
    assert chart.metrics == ("relaxed_accuracy", "anls")
    assert chart.prompt_template is None  # the row's prompt collection wins


@pytest.mark.parametrize(
    ("datasets", "expected"),
    [
        (
            "name;benchmark;path\nd;chartqaa;data/ChartQA\n",
            "datasets.csv:2: column 'benchmark': unknown benchmark 'chartqaa'; did you mean 'chartqa'? "
            "(allowed: cc_ocr, chartqa, charxiv, docvqa",
        ),
        (
            "name;benchmark;path;split\nd;chartqa;data/ChartQA;validation\n",
            "datasets.csv:2: column 'split': benchmark 'chartqa' has no split 'validation' (allowed: test)",
        ),
        (
            "name;path\nd;data/ChartQA\n",
            "datasets.csv:2: column 'task': required value is empty: name a task, or a benchmark",
        ),
        (
            "name;benchmark;path\nd;chartqa;data/Nope\n",
            "datasets.csv:2: column 'path': 'data/Nope' does not exist",
        ),
        (
            "name;benchmark;path\nd;chartqa;hf://nope\n",
            "datasets.csv:2: column 'path': 'hf://nope' is not a hub path",
        ),
    ],
)
def test_mistakes_name_file_line_and_column(root, datasets, expected):
    assert expected in error_of(root, datasets)


def test_a_corrupt_bundle_stops_the_run_before_it_starts(root, tmp_path):
    from vlmhyperbench.benchmarks import BENCHMARKS, export_bundle, resolve_source

    bench = BENCHMARKS.get("chartqa")
    bundle = export_bundle(bench, resolve_source(str(root / "data" / "ChartQA")), root / "data" / "bundle")
    assert (
        load(root, "name;benchmark;path\nd;chartqa;data/bundle\n")
        .data_source(load(root, "name;benchmark;path\nd;chartqa;data/bundle\n").datasets["d"])
        .kind
        == "bundle"
    )
    (bundle / "README.md").write_text("tampered\n") if (bundle / "README.md").exists() else None
    shard = next(bundle.rglob("*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"x")
    message = error_of(root, "name;benchmark;path\nd;chartqa;data/bundle\n")
    assert "datasets.csv:2: column 'path': bundle" in message and f"{shard}: changed" in message

"""The five standard benchmarks end to end through the command line, in one run: each from a fixture in
its published layout (DocVQA and InfographicVQA from one repository folder, ChartQA through `hf://` and the
hub's cache, OCRBench from a bundle tarball), answered by a synthetic server with scripted answers chosen
to hit the official rules, scored and reported as the official scorers do."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.support.fault_servers import FaultServer, cli_env, run_cli
from vlmhyperbench.benchmarks import BENCHMARKS, export_bundle, resolve_source
from vlmhyperbench.benchmarks._hub_layouts import write_benchmark

pytestmark = pytest.mark.slow

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"

# tag in the question -> (benchmark, row, scripted answer, expected official per-question score)
CASES = {
    "[dv01]": ("docvqa", {"answers": ["1 May", "May 1"]}, "may 1", 1.0),
    "[dv02]": ("docvqa", {"answers": ["abcdef"]}, "abcxyz", 0.0),  # NL = 0.5 exactly
    "[dv03]": ("docvqa", {"answers": ["J. Doe"]}, "J Doe", 1 - 1 / 6),
    "[iv01]": ("infographicvqa", {"answers": ["12"]}, "12", 1.0),
    "[iv02]": ("infographicvqa", {"answers": ["2019"]}, "  2019 ", 1.0),
    "[cq01]": ("chartqa", {"answer": "12.5", "type": "human_test"}, "12", 1.0),
    "[cq02]": ("chartqa", {"answer": "Yes", "type": "human_test"}, "yes", 1.0),
    "[cq03]": ("chartqa", {"answer": "1000", "type": "augmented_test"}, "1,000", 0.0),
    "[cq04]": ("chartqa", {"answer": "0.45", "type": "augmented_test"}, "45%", 1.0),
    "[tv01]": ("textvqa", {"answers": ["coca cola"] * 7 + ["coke"] * 3}, "Coca-Cola", 1.0),
    "[tv02]": ("textvqa", {"answers": ["two"] * 2 + ["2 dogs"] * 8}, "2", 0.6),
    "[ob01]": ("ocrbench", {"answers": ["hello"], "dataset": "IIIT5K"}, "It says HELLO", 1.0),
    "[ob02]": (
        "ocrbench",
        {
            "answers": ["x^{2}+1"],
            "dataset": "HME100k",
            "question_type": "Handwritten Mathematical Expression Recognition",
        },
        "x^{2} + 1",
        1.0,
    ),
    "[ob03]": (
        "ocrbench",
        {
            "answers": ["x^{2}+1"],
            "dataset": "HME100k",
            "question_type": "Handwritten Mathematical Expression Recognition",
        },
        "X^{2}+1",
        0.0,
    ),
}
DATASETS = ["docvqa", "infographicvqa", "chartqa", "textvqa", "ocrbench"]


def rows_of(name: str) -> list[dict]:
    return [{"question": f"Question {tag}?", **row} for tag, (b, row, _, _) in CASES.items() if b == name]


def expected_mean(name: str) -> float:
    values = [v for b, _, _, v in CASES.values() if b == name]
    return sum(values) / len(values)


@pytest.fixture(scope="module")
def run(tmp_path_factory, prefect_harness):
    from prefect.settings import PREFECT_API_URL

    tmp = tmp_path_factory.mktemp("benchmarks")
    data = tmp / "data"
    write_benchmark(data / "DocVQA", "docvqa", rows_of("docvqa"))
    write_benchmark(data / "DocVQA", "infographicvqa", rows_of("infographicvqa"))
    write_benchmark(data / "textvqa", "textvqa", rows_of("textvqa"))
    # ChartQA in the hub's cache (a stand-in for a download, which cannot happen here).
    snapshot = tmp / "hub" / "datasets--lmms-lab--ChartQA" / "snapshots" / COMMIT
    write_benchmark(snapshot, "chartqa", rows_of("chartqa"))
    (tmp / "hub" / "datasets--lmms-lab--ChartQA" / "refs").mkdir()
    (tmp / "hub" / "datasets--lmms-lab--ChartQA" / "refs" / "main").write_text(COMMIT)
    # OCRBench as a bundle tarball.
    ocr = write_benchmark(data / "OCRBench", "ocrbench", rows_of("ocrbench"))
    bench = BENCHMARKS.get("ocrbench")
    export_bundle(bench, resolve_source(str(ocr), benchmark=bench), tmp / "ocrbench.tar.gz")

    answers = tmp / "answers.json"
    answers.write_text(json.dumps({tag: reply for tag, (_, _, reply, _) in CASES.items()}))
    server = FaultServer("--answers", str(answers), "--ttft-ms", "5", "--itl-ms", "0")
    config = tmp / "config"
    config.mkdir()
    (config / "models.csv").write_text(
        f"name;backend;model;base_url;env;concurrency;max_tokens\napi;openai;synthetic;{server.base_url};none;4;64\n"
    )
    (config / "datasets.csv").write_text(
        "name;benchmark;path;split\n"
        f"docvqa;docvqa;{data / 'DocVQA'};validation\n"
        f"infographicvqa;infographicvqa;{data / 'DocVQA'};\n"
        "chartqa;chartqa;hf://lmms-lab/ChartQA;test\n"
        f"textvqa;textvqa;{data / 'textvqa'};\n"
        f"ocrbench;ocrbench;{tmp / 'ocrbench.tar.gz'};\n"
    )
    env = cli_env(
        tmp,
        PREFECT_API_URL=PREFECT_API_URL.value(),
        HF_HUB_CACHE=str(tmp / "hub"),
        HF_HUB_OFFLINE="1",
        VLMHB_CACHE_DIR=str(tmp / "cache"),
    )
    try:
        code, output = run_cli(
            "--config", str(config), "--output", str(tmp / "results"), "--run-id", "std",
            env=env, log=tmp / "run.log", timeout=600,
        )  # fmt: skip
    finally:
        server.stop()
    assert code == 0, output[-4000:]
    return tmp / "results" / "std"


def test_each_benchmark_scores_as_its_official_scorer(run):
    summary = pl.read_parquet(run / "summary.parquet")
    general = summary.filter(pl.col("aggregator") == "general")
    for name in DATASETS:
        official = BENCHMARKS.get(name).headline.metric
        (value,) = general.filter((pl.col("dataset") == name) & (pl.col("metric") == official))["value"]
        assert value == pytest.approx(expected_mean(name), abs=1e-12), name
    by_type = summary.filter((pl.col("dataset") == "chartqa") & (pl.col("aggregator") == "by_question_type"))
    assert dict(zip(by_type["group"], by_type["value"])) == {"augmented": 0.5, "human": 1.0}
    ocr = summary.filter((pl.col("dataset") == "ocrbench") & (pl.col("aggregator") == "by_doc_class"))
    assert dict(zip(ocr["group"], ocr["value"])) == {"HME100k": 0.5, "IIIT5K": 1.0}
    assert set(summary["aggregator"].unique()) <= {"general", "by_doc_class", "by_question_type"}


def test_summary_rows_name_their_scorer_and_version(run):
    summary = pl.read_csv(run / "summary.csv", separator=";")
    assert summary["benchmark"].null_count() == 0 and summary["scorer_version"].null_count() == 0
    ocr = summary.filter(pl.col("dataset") == "ocrbench")
    assert set(ocr["scorer"]) == {
        "OCRBench (MultimodalOCR substring rules, HME100k case- and space-sensitive)"
    }


def test_the_standard_prompt_is_sent(run):
    preds = pl.read_parquet(run / "predictions" / "api" / "chartqa.parquet").sort("sample_id")
    assert preds["prompt"][0] == "Question [cq01]?\nAnswer the question with a single word."
    ocr = pl.read_parquet(run / "predictions" / "api" / "ocrbench.parquet")
    assert set(ocr["prompt"]) == {f"Question {t}?" for t in ("[ob01]", "[ob02]", "[ob03]")}
    assert set(ocr["prediction"]) == {"It says HELLO", "x^{2} + 1", "X^{2}+1"}  # exactly as answered


def test_the_leaderboard_shows_the_official_figures(run):
    board = (run / "leaderboard.md").read_text()
    assert "| official |" in board
    assert "61.1 [" in board and "ANLS ×100" in board  # DocVQA: (1 + 0 + 5/6) / 3
    assert "75.0 [" in board and "relaxed accuracy ×100" in board
    assert "80.0 [" in board and "VQA accuracy ×100" in board
    assert "666.7 [" in board and "score /1000" in board
    assert "- api: augmented 50.0 · human 100.0" in board
    assert "Handwritten Mathematical Expression Recognition 1/2 · Regular Text Recognition 1/1" in board
    html = (run / "report.html").read_text()
    assert "official (ANLS ×100)" in html and "score /1000" in html


def test_the_manifest_records_each_benchmarks_data(run):
    manifest = json.loads((run / "manifest.json").read_text())
    data = manifest["benchmarks"]
    assert set(data) == set(DATASETS)
    assert (data["chartqa"]["kind"], data["chartqa"]["revision"]) == ("hub", COMMIT)
    assert data["ocrbench"]["kind"] == "bundle" and data["docvqa"]["kind"] == "folder"
    assert all(len(d["sha256"]) == 64 and d["samples"] >= 2 for d in data.values())
    assert data["docvqa"]["sha256"] != data["infographicvqa"]["sha256"]
    assert manifest["schema_version"] >= 3  # 3 added `benchmarks`

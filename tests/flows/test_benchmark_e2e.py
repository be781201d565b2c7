"""End to end: the embedded default benchmark on real Prefect, real venvs and real rapidocr servers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.support.support import DEFAULT_CONFIG, REPO

pytestmark = pytest.mark.slow

PREDICTION_COLUMNS = [
    "sample_id",
    "doc_class",
    "question_type",
    "prompt",
    "prediction",
    "references",
    "error",
    "attempts",
    "ttft_s",
    "latency_s",
    "output_tokens",
]
PERFORMANCE_COLUMNS = [
    "model",
    "dataset",
    "requests",
    "errors",
    "concurrency",
    "ttft_p50_s",
    "ttft_p90_s",
    "ttft_p99_s",
    "tpot_p50_s",
    "itl_p50_s",
    "latency_p50_s",
    "latency_p90_s",
    "latency_p99_s",
    "requests_per_s",
    "output_tokens_per_s",
    "peak_rss_mb",
    "peak_gpu_mb",
    "env_build_s",
    "server_start_s",
]
SUMMARY_COLUMNS = [
    "model",
    "dataset",
    "metric",
    "aggregator",
    "group",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "higher_is_better",
]


def run_cli(*args: str, tmp_path: Path, api_url: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def journal_lines(run_dir: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in run_dir.glob("predictions/*/*.journal.jsonl"))


@pytest.fixture(scope="module")
def default_run(tmp_path_factory, prefect_harness) -> Path:
    """The default config, run once for the module inside the Prefect test harness."""
    from flows.benchmark import benchmark

    out = tmp_path_factory.mktemp("results")
    result = asyncio.run(benchmark(config=str(DEFAULT_CONFIG), output=str(out), run_id="default"))
    assert result["exit_code"] == 0, json.loads((Path(result["run_dir"]) / "manifest.json").read_text())
    return Path(result["run_dir"])


def test_default_run_writes_every_result_file(default_run: Path):
    manifest = json.loads((default_run / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert {p["model"] for p in manifest["pairs"]} == {"rapidocr-1.4", "rapidocr-3"}
    assert all(p["status"] == "completed" and p["error"] is None for p in manifest["pairs"])
    assert manifest["versions"]["prefect"] and manifest["started_at"] and manifest["finished_at"]
    # each model's own environment, with its own installed versions
    envs = manifest["environments"]
    assert envs["rapidocr-1.4"]["key"] != envs["rapidocr-3"]["key"]
    assert "rapidocr-onnxruntime==1.4.4" in envs["rapidocr-1.4"]["freeze"]
    assert "rapidocr==3.10.0" in envs["rapidocr-3"]["freeze"]
    assert not any(p.startswith("rapidocr-onnxruntime==") for p in envs["rapidocr-3"]["freeze"])
    # the two cannot share a venv: opencv-python (1.x) and opencv-python-headless (3.x) both are cv2
    assert any(p.startswith("opencv-python==") for p in envs["rapidocr-1.4"]["freeze"])
    assert any(p.startswith("opencv-python-headless==") for p in envs["rapidocr-3"]["freeze"])
    assert sorted(p.name for p in (default_run / "config").iterdir()) == [
        "datasets.csv",
        "models.csv",
        "plan.csv",
        "prompts.csv",
    ]
    for model in ("rapidocr-1.4", "rapidocr-3"):
        preds = pl.read_parquet(default_run / "predictions" / model / "docs-ocr.parquet")
        assert preds.columns[: len(PREDICTION_COLUMNS)] == PREDICTION_COLUMNS
        assert preds.height == 36 and preds["sample_id"].n_unique() == 36
        assert preds.schema["references"] == pl.List(pl.String)
        assert preds["error"].null_count() == 36
        assert (preds["ttft_s"] > 0).all() and (preds["latency_s"] >= preds["ttft_s"]).all()
    perf = pl.read_parquet(default_run / "performance.parquet")
    assert set(PERFORMANCE_COLUMNS) <= set(perf.columns) and perf.height == 2
    assert (perf["peak_rss_mb"] > 50).all(), "peak RSS of the server's process tree is measured"
    assert (perf["server_start_s"] > 0).all() and (perf["requests"] == 36).all()
    summary = pl.read_parquet(default_run / "summary.parquet")
    assert set(SUMMARY_COLUMNS) <= set(summary.columns)
    assert set(summary["aggregator"]) == {"general", "by_doc_class", "by_question_type"}
    assert set(summary.filter(pl.col("aggregator") == "by_doc_class")["group"]) == {
        "form",
        "invoice",
        "receipt",
    }
    scores = pl.read_parquet(default_run / "scores.parquet")
    assert {"model", "dataset", "sample_id", "metric", "value"} <= set(scores.columns)
    assert (default_run / "summary.csv").read_text().startswith("model;dataset;")
    assert (default_run / "performance.csv").is_file()
    leaderboard = (default_run / "leaderboard.md").read_text()
    assert "rapidocr-1.4" in leaderboard and "cer" in leaderboard
    assert (default_run / "report.html").read_text().lstrip().lower().startswith("<!doctype html>")


def test_rapidocr_reads_the_bundled_documents(default_run: Path):
    summary = pl.read_parquet(default_run / "summary.parquet")
    cer = summary.filter((pl.col("metric") == "cer") & (pl.col("aggregator") == "general"))
    assert cer.height == 2
    for row in cer.iter_rows(named=True):
        assert row["value"] < 0.1, row
        assert row["ci_low"] <= row["value"] <= row["ci_high"] and row["n"] == 36


def test_resume_of_a_completed_run_sends_no_request(default_run: Path, tmp_path: Path, api_url: str):
    before = journal_lines(default_run)
    proc = run_cli(
        "flows.benchmark",
        "--output",
        str(default_run.parent),
        "--resume",
        default_run.name,
        tmp_path=tmp_path,
        api_url=api_url,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert journal_lines(default_run) == before, "no sample was asked again"
    assert json.loads((default_run / "manifest.json").read_text())["resumed_at"]


def test_rescore_recomputes_the_same_summary_without_requests(
    default_run: Path, tmp_path: Path, api_url: str
):
    before = pl.read_parquet(default_run / "summary.parquet").sort(["model", "metric", "aggregator", "group"])
    lines = journal_lines(default_run)
    (default_run / "summary.parquet").unlink()
    proc = run_cli("flows.rescore", str(default_run), tmp_path=tmp_path, api_url=api_url, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = pl.read_parquet(default_run / "summary.parquet").sort(["model", "metric", "aggregator", "group"])
    assert after.equals(before)
    assert journal_lines(default_run) == lines


def test_prefect_task_runs_grow_with_pairs_not_samples(default_run: Path, prefect_harness):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from tests.support.prefect_api import benchmark_runs

    async def count() -> dict[str, int]:
        benchmark, children = await benchmark_runs(default_run.name)
        ids = [benchmark.id, *(r.id for r in children.values())]
        async with get_client() as client:  # this run's task runs: other tests share the API
            runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
        names: dict[str, int] = {}
        for task_run in runs:
            if "rapidocr" not in task_run.name:  # the run's own tasks (plan, report...) are not per pair
                continue
            base = task_run.name.split("-")[0]
            names[base] = names.get(base, 0) + 1
        return names

    names = asyncio.run(count())
    # 2 models x 1 dataset: one inference task per pair although there are 36 samples per pair
    assert names == {"build_env": 2, "serve": 2, "inference": 2, "profiling": 2, "scoring": 2, "stop": 2}


BROKEN_MODELS = """name;backend;packages;args;concurrency
good;rapidocr;rapidocr-onnxruntime==1.4.4;;2
unbuildable;rapidocr;vlmhb-no-such-package==9.9.9;;2
crashing;rapidocr;rapidocr-onnxruntime==1.4.4;--engine-arg package=rapidocr;2
"""


def test_broken_models_fail_alone(tmp_path: Path, api_url: str):
    config = tmp_path / "config"
    config.mkdir()
    (config / "models.csv").write_text(BROKEN_MODELS)
    (config / "datasets.csv").write_text(
        f"name;task;format;path\ndocs-ocr;ocr;vlmhyperbench;{DEFAULT_CONFIG / 'data' / 'ocr.csv'}\n"
    )
    (config / "plan.csv").write_text("model;dataset;max_samples\n*;docs-ocr;4\n")
    out = tmp_path / "results"
    proc = run_cli(
        "flows.benchmark",
        "--config",
        str(config),
        "--output",
        str(out),
        "--run-id",
        "broken",
        tmp_path=tmp_path,
        api_url=api_url,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    manifest = json.loads((out / "broken" / "manifest.json").read_text())
    pairs = {p["model"]: p for p in manifest["pairs"]}
    assert pairs["good"]["status"] == "completed"
    assert pairs["unbuildable"]["status"] == "failed"
    assert (
        "EnvBuildError" in pairs["unbuildable"]["error"]
        and "vlmhb-no-such-package" in pairs["unbuildable"]["error"]
    )
    assert pairs["crashing"]["status"] == "failed" and "ServerError" in pairs["crashing"]["error"]
    assert manifest["status"] == "partial"
    preds = pl.read_parquet(out / "broken" / "predictions" / "good" / "docs-ocr.parquet")
    assert preds.height == 4 and preds["error"].null_count() == 4
    leaderboard = (out / "broken" / "leaderboard.md").read_text()
    assert "failed: EnvBuildError" in leaderboard

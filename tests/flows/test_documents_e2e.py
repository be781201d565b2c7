"""PDFs in, pages parsed, official scorers in their own environments: one real benchmark run.

`python -m flows.benchmark` on real Prefect with tesseract (a real OCR server in its venv) over
- a `pdf` dataset of PDFs written here, their own text layer as the reference (`reference=text_layer`,
  `pages=each`): a two-column page, a two-page document and an encrypted PDF that fails alone;
- olmOCR-bench by name (`benchmark=olmocr_bench`: task, prompt and metric from the catalog), scored by
  the `olmocr_bench` scorer in its own venv;
- OmniDocBench by name (`benchmark=omnidocbench`), scored by the `omnidocbench` scorer in its own venv,
  with the parse task's own metrics beside it.
Then `python -m flows.rescore` scores the stored predictions again, scorer included, without a request.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.support.documents import (
    PROSE,
    olmocr_bench_folder,
    omnidocbench_folder,
    omnidocbench_page,
    text_pdf,
    two_column_pdf,
)
from tests.support.support import REPO, built_env_python, require

pytestmark = pytest.mark.slow


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    }
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=1500
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    require(
        shutil.which("tesseract") is not None, "tesseract is not installed (apt-get install tesseract-ocr)"
    )
    built_env_python("tesseract")
    tmp = tmp_path_factory.mktemp("documents")
    config = tmp / "config"
    docs = config / "docs"
    two_column_pdf(docs / "guideline.pdf", PROSE[:3], PROSE[3:])
    text_pdf(docs / "memo.pdf", ["Please file the signed forms by Friday.", "Thank you for your patience."])
    text_pdf(docs / "locked.pdf", ["Confidential"], encrypt="secret")
    olmocr_bench_folder(
        config / "bench",
        {
            "multi_column": [
                (
                    "cols",
                    ["Alpha beta gamma delta. Epsilon zeta eta theta."],
                    [
                        {"type": "present", "text": "Alpha beta gamma delta"},
                        {"type": "order", "before": "Alpha beta", "after": "Epsilon zeta"},
                        {"type": "absent", "text": "Lorem ipsum"},
                    ],
                )
            ],
            "long_tiny_text": [
                ("tiny", ["Small print matters here."], [{"type": "present", "text": "Small print matters"}])
            ],
        },
    )
    omnidocbench_folder(
        config / "odb",
        [
            omnidocbench_page(
                "p1.png", [("title", "Annual report"), ("text_block", "Revenue grew by ten percent.")]
            ),
            omnidocbench_page("p2.png", [("text_block", "Costs fell slightly this year.")]),
        ],
    )
    (config / "models.csv").write_text("name;backend;env;args\ntess;tesseract;venv;--engine-arg lang=eng\n")
    (config / "datasets.csv").write_text(  # the two benchmarks by name, the standard benchmarks (BENCHMARKS)
        "name;task;format;path;metrics;pages;reference;benchmark\n"
        "pdf-ocr;ocr;pdf;docs;cer token_f1 reading_order;each;text_layer;\n"
        "olmocr;;;bench;;;;olmocr_bench\n"
        "odb;;;odb;omnidocbench parse_edit token_f1;;;omnidocbench\n"
    )
    proc = cli(
        "flows.benchmark",
        "--config",
        str(config),
        "--output",
        str(tmp / "out"),
        "--run-id",
        "r1",
        home=tmp / "ph",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return tmp / "out" / "r1"


def test_pdf_pages_are_sent_and_recorded_with_their_dpi(run_dir: Path):
    predictions = pl.read_parquet(run_dir / "predictions" / "tess" / "pdf-ocr.parquet")
    rows = {r["sample_id"]: r for r in predictions.iter_rows(named=True)}
    assert set(rows) == {"guideline.pdf#p1", "memo.pdf#p1", "memo.pdf#p2", "locked.pdf"}
    assert {(r["dpi"], r["pages"]) for sid, r in rows.items() if sid != "locked.pdf"} == {(144, 1)}
    assert "encrypted" in rows["locked.pdf"]["error"] and rows["locked.pdf"]["attempts"] == 0
    assert "Please file the signed forms" in rows["memo.pdf#p1"]["prediction"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["schema_version"] >= 4  # pages and dpi since schema 4
    pair = next(p for p in manifest["pairs"] if p["dataset"] == "pdf-ocr")
    assert (pair["status"], pair["pages"], pair["dpi"], pair["left_out"]) == ("completed", 3, 144, 1)


def test_the_ocr_of_rendered_pages_is_scored_against_their_text_layer(run_dir: Path):
    summary = pl.read_parquet(run_dir / "summary.parquet").filter(
        (pl.col("dataset") == "pdf-ocr") & (pl.col("aggregator") == "general")
    )
    value = dict(summary.select("metric", "value").iter_rows())
    assert value["cer"] < 0.05 and value["reading_order"] > 0.9  # two columns read one after the other
    scores = pl.read_parquet(run_dir / "scores.parquet").filter(
        (pl.col("metric") == "token_f1") & (pl.col("dataset") == "pdf-ocr")
    )
    f1 = dict(scores.select("sample_id", "value").iter_rows())
    assert min(v for sid, v in f1.items() if sid != "locked.pdf") > 0.95
    assert "locked.pdf" not in f1  # a sample that could not be read is left out of the scores


def test_the_olmocr_bench_scorer_ran_in_its_own_environment(run_dir: Path):
    summary = pl.read_parquet(run_dir / "summary.parquet").filter(pl.col("dataset") == "olmocr")
    rows = {(r["aggregator"], r["group"]): r for r in summary.iter_rows(named=True)}
    assert set(rows) >= {("general", ""), ("by_category", "multi_column"), ("by_category", "baseline")}
    general = rows[("general", "")]
    assert 0.5 <= general["value"] <= 1.0 and general["ci_low"] <= general["value"] <= general["ci_high"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    pair = next(p for p in manifest["pairs"] if p["dataset"] == "olmocr")
    (record,) = pair["scorers"]
    assert record["scorer"] == "olmocr_bench" and record["provider"] == "venv"
    assert any(line.startswith("olmocr==") for line in record["freeze"])
    work = run_dir / "pairs" / "tess" / "olmocr.scorer-olmocr_bench"
    assert {"request.json", "input.jsonl", "output.jsonl", "details.jsonl"} <= {
        p.name for p in work.iterdir()
    }
    assert "olmocr" not in sys.modules  # the orchestrator never imported the scorer's packages
    scores = pl.read_parquet(run_dir / "scores.parquet").filter(pl.col("metric") == "olmocr_bench")
    assert set(scores["category"]) == {"multi_column", "long_tiny_text", "baseline"}


def test_omnidocbench_is_scored_by_its_package_and_says_what_it_could_not_score(run_dir: Path):
    summary = pl.read_parquet(run_dir / "summary.parquet").filter(
        (pl.col("dataset") == "odb") & (pl.col("aggregator") == "general")
    )
    rows = {r["metric"]: r for r in summary.iter_rows(named=True)}
    assert rows["omnidocbench_text_edit"]["value"] < 0.2 and rows["parse_edit"]["value"] < 0.3
    for metric in ("omnidocbench_formula_cdm", "omnidocbench_overall"):
        assert rows[metric]["value"] is None and rows[metric]["n"] == 0
        assert rows[metric]["note"].startswith("not scored:") and "xelatex" in rows[metric]["note"]
    assert "omnidocbench_table_teds" in rows  # asked for by the scorer's name; no table: not scored either
    board = (run_dir / "leaderboard.md").read_text()
    assert "not scored" in board


def test_rescore_runs_the_scorer_again_from_the_stored_predictions(run_dir: Path, tmp_path: Path):
    before = pl.read_parquet(run_dir / "summary.parquet").sort("dataset", "metric", "aggregator", "group")
    proc = cli("flows.rescore", str(run_dir), home=tmp_path / "ph")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    after = pl.read_parquet(run_dir / "summary.parquet").sort("dataset", "metric", "aggregator", "group")
    assert after.select("metric", "value").equals(before.select("metric", "value"))

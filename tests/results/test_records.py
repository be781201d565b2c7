"""The run's typed records: PairKey names files, manifest.json round-trips with its schema_version, and a
run folder written by the first build (tests/data/run-v1: no schema_version) is still read by rescore,
the history and the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl

from vlmhyperbench.results import SCHEMA_VERSION, Manifest, PairKey, PairOutcome, RunFolder

OLD_RUNS = Path(__file__).resolve().parents[1] / "data" / "run-v1"
OLD_RUN_ID = "20261130-120000-old1"


def test_pair_key_names_the_pairs_files():
    key = PairKey(model="qwen", dataset="docs-vqa", perturbation="blur:2+jpeg:40")
    assert key.stem == "docs-vqa~blur-2-jpeg-40"
    assert PairKey(model="qwen", dataset="docs-vqa", perturbation="").perturbation is None
    run = RunFolder(Path("/results/r1"))
    assert run.predictions(key) == Path("/results/r1/predictions/qwen/docs-vqa~blur-2-jpeg-40.parquet")
    assert run.pair_files(key).scores.name == "docs-vqa~blur-2-jpeg-40.scores.parquet"
    assert (
        key.as_tuple() == ("qwen", "docs-vqa", "blur:2+jpeg:40")
        and key.label == "qwen/docs-vqa ~blur:2+jpeg:40"
    )


def test_manifest_round_trips_with_its_schema_version(tmp_path):
    keys = [PairKey(model="a", dataset="d"), PairKey(model="b", dataset="d", perturbation="blur:2")]
    manifest = Manifest.start(
        "r1", config_dir=tmp_path, keys=keys, parameters={"max_samples": 3}, git_commit=None, versions={}
    )
    manifest.record(PairOutcome.failed(keys[1], "ServerError: did not start"))
    manifest.record(PairOutcome.completed(keys[0], requests=3, errors=0))
    assert manifest.finish() == "partial"
    run = RunFolder(tmp_path / "r1")
    run.save_manifest(manifest)
    raw = json.loads(run.manifest_path.read_text())
    assert raw["schema_version"] == SCHEMA_VERSION
    assert [set(p) >= {"model", "dataset", "perturbation", "status", "error"} for p in raw["pairs"]] == [
        True
    ] * 2
    back = run.read_manifest()
    assert back == manifest and back.completed_keys() == {keys[0]}


def test_the_manifest_records_benchmark_data_and_reads_older_ones_without_it(tmp_path):
    from vlmhyperbench.results import BenchmarkData

    manifest = Manifest.start("r2", config_dir=tmp_path, keys=[], parameters={}, git_commit=None, versions={})
    manifest.benchmarks["dv"] = BenchmarkData(
        benchmark="docvqa", source="hf://lmms-lab/DocVQA", kind="hub", revision="c" * 40, sha256="a" * 64
    )
    run = RunFolder(tmp_path / "r2")
    run.save_manifest(manifest)
    raw = json.loads(run.manifest_path.read_text())
    assert raw["benchmarks"]["dv"]["revision"] == "c" * 40 and raw["schema_version"] == SCHEMA_VERSION
    del raw["benchmarks"]
    raw["schema_version"] = 2  # a manifest of the previous schema
    run.manifest_path.write_text(json.dumps(raw))
    assert run.read_manifest().benchmarks == {}


def test_a_first_build_run_folder_is_read_by_rescore_history_and_the_report(prefect_harness, tmp_path):
    from flows.rescore import rescore
    from vlmhyperbench.history import list_runs, trend

    results = tmp_path / "results"
    shutil.copytree(OLD_RUNS, results)
    run = RunFolder(results / OLD_RUN_ID)
    assert "schema_version" not in json.loads(run.manifest_path.read_text())
    manifest = run.read_manifest()
    assert manifest.schema_version == 1
    assert {p.key.label: p.status for p in manifest.pairs} == {
        "alpha/docs-ocr": "completed",
        "alpha/docs-vqa": "completed",
        "alpha/docs-vqa ~blur:2": "completed",
        "beta/docs-ocr": "completed",
        "beta/docs-vqa": "completed",
        "dead/docs-ocr": "failed",
        "dead/docs-vqa": "failed",
    }
    before = pl.read_parquet(run.table("summary")).sort(
        "model", "dataset", "perturbation", "metric", "aggregator", "group"
    )

    result = rescore(str(run.root))

    assert result["rescored"] == 5
    after = pl.read_parquet(run.table("summary")).sort(
        "model", "dataset", "perturbation", "metric", "aggregator", "group"
    )
    assert after.select(before.columns).equals(before), "the same predictions score the same"
    html = (run.root / "report.html").read_text(encoding="utf-8")
    assert "alpha" in html and "ServerError" in html
    assert [r.run_id for r in list_runs(results)] == [OLD_RUN_ID]
    table, regressions = trend(results)
    assert set(table["model"]) == {"alpha", "beta"} and regressions.height == 0


def test_pages_dpi_and_scorers_are_recorded_and_older_manifests_still_read(tmp_path):
    key = PairKey(model="tess", dataset="pdfs")
    manifest = Manifest.start(
        "r3", config_dir=tmp_path, keys=[key], parameters={}, git_commit=None, versions={}
    )
    scorer = {"scorer": "olmocr_bench", "key": "abc", "provider": "venv", "cached": True, "not_scored": []}
    manifest.record(PairOutcome.completed(key, requests=4, errors=0, pages=7, dpi=144, scorers=[scorer]))
    run = RunFolder(tmp_path / "r3")
    run.save_manifest(manifest)
    pair = run.read_manifest().pairs[0]
    assert (pair.pages, pair.dpi, pair.scorers) == (7, 144, [scorer])
    raw = json.loads(run.manifest_path.read_text())
    raw["schema_version"] = 2
    for name in ("pages", "dpi", "scorers"):
        del raw["pairs"][0][name]
    run.manifest_path.write_text(json.dumps(raw))
    old = run.read_manifest()
    assert (
        old.schema_version == 2
        and (old.pairs[0].pages, old.pairs[0].dpi, old.pairs[0].scorers) == (None,) * 3
    )

"""Quality gates: gates.csv checked like the other CSV files, and evaluated against run folders."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.support.support import DEFAULT_CONFIG


def config_with_gates(write_config, gates: str) -> Path:
    files = {name: (DEFAULT_CONFIG / name).read_text() for name in ("models.csv", "prompts.csv", "plan.csv")}
    data = (DEFAULT_CONFIG / "data").resolve()
    files["datasets.csv"] = (
        "name;task;format;path;prompts;metrics\n"
        f"docs-ocr;ocr;vlmhyperbench;{data}/ocr.csv;;cer wer\n"
        f"docs-vqa;vqa;vlmhyperbench;{data}/vqa.csv;docs;anls\n"
    )
    files["gates.csv"] = gates
    return write_config(files)


def test_gates_csv_errors_name_file_line_and_column(write_config):
    from vlmhb_core.errors import ConfigErrors
    from vlmhyperbench.config import load_catalog

    root = config_with_gates(
        write_config,
        "model;dataset;metric;min;max;no_regression\n"
        "rapidocr-9;docs-ocr;cer;;0.5;\n"
        "*;docs-ocr;cerr;;0.5;\n"
        "*;*;cer;0.6;0.5;\n"
        "*;*;anls;high;;\n"
        "*;*;anls;;;maybe\n"
        "*;*;anls;;;\n",
    )
    with pytest.raises(ConfigErrors) as err:
        load_catalog(root)
    lines = str(err.value).splitlines()
    gates = root / "gates.csv"
    assert lines[0].startswith(
        f"{gates}:2: column 'model': unknown model 'rapidocr-9'; did you mean 'rapidocr-3' or "
        "'rapidocr-1.4'? (allowed: *, rapidocr-1.4, rapidocr-3"
    )
    assert lines[1].startswith(
        f"{gates}:3: column 'metric': unknown metric 'cerr'; did you mean 'cer'? (allowed: accuracy, anls"
    )
    assert lines[2] == f"{gates}:4: column 'max': max 0.5 is below min 0.6"
    assert lines[3] == f"{gates}:5: column 'min': 'high' is not a number"
    assert lines[4].startswith(f"{gates}:6: column 'no_regression': 'maybe' is neither yes/no nor a number")
    assert lines[5] == f"{gates}:7: column 'min': a gate needs at least one of min, max, no_regression"


def test_gates_csv_is_read_into_the_catalog_and_copied_with_the_config(write_config):
    from vlmhyperbench.config import load_catalog

    root = config_with_gates(
        write_config,
        "model;dataset;metric;min;no_regression\n*;docs-vqa;anls;0.5;yes\nrapidocr-1.4;*;cer;;0.02\n",
    )
    catalog = load_catalog(root)
    assert [(g.model, g.dataset, g.metric, g.min, g.no_regression) for g in catalog.gates] == [
        ("*", "docs-vqa", "anls", 0.5, "ci"),
        ("rapidocr-1.4", "*", "cer", None, 0.02),
    ]
    assert root / "gates.csv" in catalog.files


# ---------------------------------------------------------------- evaluation on run folders


def write_run(results: Path, run_id: str, started_at: str, rows: list[tuple]) -> Path:
    """A run folder with manifest.json and summary.parquet: rows (model, dataset, metric, value, ci_low,
    ci_high, higher_is_better)."""
    root = results / run_id
    root.mkdir(parents=True)
    (root / "manifest.json").write_text(
        json.dumps({"run_id": run_id, "started_at": started_at, "status": "completed", "pairs": []})
    )
    pl.DataFrame(
        [
            {
                "model": m,
                "dataset": d,
                "perturbation": "",
                "metric": metric,
                "aggregator": "general",
                "group": "",
                "value": v,
                "ci_low": lo,
                "ci_high": hi,
                "n": 36,
                "higher_is_better": hib,
            }
            for m, d, metric, v, lo, hi, hib in rows
        ]
    ).write_parquet(root / "summary.parquet")
    return root


def gate(line: int, model="*", dataset="*", metric="cer", **rules):
    from vlmhyperbench.history.gate_checks import GateRow

    return GateRow("gates.csv", line, model, dataset, metric, rules.pop("perturbation", ""), **rules)


def planned(model, dataset, metrics, status="completed"):
    from vlmhyperbench.history.gate_checks import PlannedPair

    return PlannedPair(model, dataset, "", tuple(metrics), status)


def test_min_max_and_regressions_against_the_previous_run(tmp_path):
    from vlmhyperbench.history.gate_checks import FAILED, PASSED, UNCHECKED, evaluate_gates

    results = tmp_path / "results"
    write_run(
        results,
        "r1",
        "2026-01-01T00:00:00",
        [("a", "ocr", "cer", 0.10, 0.09, 0.11, False), ("a", "vqa", "anls", 0.80, 0.78, 0.82, True)],
    )
    run = write_run(
        results,
        "r2",
        "2026-01-02T00:00:00",
        [("a", "ocr", "cer", 0.20, 0.19, 0.21, False), ("a", "vqa", "anls", 0.79, 0.77, 0.81, True)],
    )
    gates = [
        gate(2, metric="cer", max=0.15),
        gate(3, metric="anls", min=0.5, no_regression="ci"),
        gate(4, metric="cer", no_regression=0.05),
        gate(5, metric="anls", no_regression=0.05),
        gate(6, dataset="ocr", metric="anls", min=0.9),
    ]  # anls is not a metric of the ocr pair: no check
    pairs = [
        planned("a", "ocr", ["cer", "wer"]),
        planned("a", "vqa", ["anls"]),
        planned("b", "ocr", ["cer"], "failed"),
    ]
    report = evaluate_gates(gates, run, pairs, started_at="2026-01-02T00:00:00")
    got = [(c.gate, c.model, c.dataset, c.rule, c.status) for c in report.checks]
    assert got == [
        ("gates.csv:2", "a", "ocr", "max", FAILED),
        ("gates.csv:2", "b", "ocr", "max", UNCHECKED),
        ("gates.csv:3", "a", "vqa", "min", PASSED),
        ("gates.csv:3", "a", "vqa", "no_regression", PASSED),
        ("gates.csv:4", "a", "ocr", "no_regression", FAILED),
        ("gates.csv:4", "b", "ocr", "no_regression", UNCHECKED),
        ("gates.csv:5", "a", "vqa", "no_regression", PASSED),
    ]
    cer_max, cer_drop = report.checks[0], report.checks[4]
    assert cer_max.reason == "0.2000 is above the maximum 0.15" and cer_max.value == 0.2
    assert cer_drop.previous_run == "r1" and cer_drop.reason.startswith(
        "worse by 0.1000 than run r1 (0.1000)"
    )
    assert report.checks[1].reason == "the pair failed"
    assert report.status == FAILED and len(report.failed) == 2


def test_a_drop_beyond_both_intervals_fails_no_regression_yes(tmp_path):
    from vlmhyperbench.history.gate_checks import evaluate_gates, write_result

    results = tmp_path / "results"
    write_run(results, "r1", "2026-01-01", [("a", "vqa", "anls", 0.90, 0.88, 0.92, True)])
    run = write_run(results, "r2", "2026-01-02", [("a", "vqa", "anls", 0.70, 0.68, 0.72, True)])
    report = evaluate_gates(
        [gate(2, metric="anls", no_regression="ci")],
        run,
        [planned("a", "vqa", ["anls"])],
        started_at="2026-01-02",
    )
    (check,) = report.checks
    assert check.status == "failed" and "beyond both runs' 95 % intervals" in check.reason
    saved = json.loads(write_result(report, run).read_text())
    assert saved["status"] == "failed" and saved["counts"] == {"passed": 0, "failed": 1, "unchecked": 0}
    assert saved["checks"][0]["previous_value"] == 0.9


def test_a_first_run_leaves_no_regression_unchecked_and_the_table_names_the_failing_gate(tmp_path):
    from rich.console import Console

    from vlmhyperbench.history.gate_checks import evaluate_gates, print_gates

    run = write_run(tmp_path / "results", "r1", "2026-01-01", [("a", "ocr", "cer", 0.3, 0.2, 0.4, False)])
    report = evaluate_gates(
        [gate(2, metric="cer", max=0.25, no_regression="yes")], run, [planned("a", "ocr", ["cer"])]
    )
    assert [(c.rule, c.status, c.reason) for c in report.checks] == [
        ("max", "failed", "0.3000 is above the maximum 0.25"),
        ("no_regression", "unchecked", "no earlier run of a on ocr"),
    ]
    console = Console(record=True, width=200)
    print_gates(report, console)
    text = console.export_text()
    assert "Quality gates: 1 failed, 1 unchecked, 0 passed" in text
    assert "FAILED" in text and "gates.csv:2" in text and "<= 0.25" in text


def test_quality_gates_task_writes_gates_json_and_publishes_the_artifact(
    prefect_harness, write_config, tmp_path
):
    import asyncio

    from prefect import flow

    from tasks.gates import quality_gates
    from tests.support.prefect_api import read_artifacts
    from vlmhyperbench.config import expand_plan, load_catalog
    from vlmhyperbench.results import Manifest, PairOutcome, RunFolder

    catalog = load_catalog(config_with_gates(write_config, "model;dataset;metric;max\n*;docs-ocr;cer;0.05\n"))
    pairs = [p for p in expand_plan(catalog) if p.dataset.name == "docs-ocr"]
    root = write_run(
        tmp_path / "results",
        "r1",
        "2026-01-01",
        [("rapidocr-1.4", "docs-ocr", "cer", 0.1, 0.08, 0.12, False)],
    )
    manifest = Manifest(
        run_id="r1",
        started_at="2026-01-01",
        pairs=[
            PairOutcome(model="rapidocr-1.4", dataset="docs-ocr", status="completed"),
            PairOutcome(model="rapidocr-3", dataset="docs-ocr", status="failed"),
        ],
    )

    @flow(name="gates-test")
    def gates_flow():
        from prefect.runtime import flow_run

        return quality_gates(RunFolder(root), catalog.gates, pairs, manifest), flow_run.id

    report, flow_run_id = gates_flow()
    assert [(c.model, c.status) for c in report.checks] == [
        ("rapidocr-1.4", "failed"),
        ("rapidocr-3", "unchecked"),
    ]
    assert json.loads((root / "gates.json").read_text())["status"] == "failed"
    artifact = asyncio.run(read_artifacts(str(flow_run_id)))["quality-gates"]
    rows = artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)
    assert artifact.type == "table" and rows[0]["status"] == "FAILED" and rows[0]["gate"] == "gates.csv:2"
    assert rows[0]["reason"] == "0.1000 is above the maximum 0.05" and rows[1]["reason"] == "the pair failed"

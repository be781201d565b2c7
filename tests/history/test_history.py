"""History and regressions on synthetic run folders: a real drop is flagged, noise is not."""

from __future__ import annotations

import polars as pl
import pytest
from rich.console import Console

from flows.history import main as history_main
from tests.support.synthetic_runs import make_config, write_run
from vlmhb_core.errors import ConfigError
from vlmhyperbench.config.thresholds import read_thresholds
from vlmhyperbench.history import (
    find_regressions,
    list_runs,
    load_history,
    print_trend,
    read_regressions,
    threshold_for,
    trend,
)

N = 60
BASE = set(range(0, N, 5))  # 12 of 60 wrong: ANLS 0.8


def day(k: int) -> str:
    return f"2026-02-{k:02d}T03:00:00+00:00"


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path, n=N, datasets=("docs-vqa", "docs-ocr"))


def regressions_of(run) -> pl.DataFrame:
    return pl.read_csv(run.root / "regressions.csv", separator=";")


def test_real_drop_is_flagged_and_noise_is_not(tmp_path, config):
    results = tmp_path / "results"
    write_run(results, "n1", config, {"steady": BASE, "worse": BASE}, n=N, started_at=day(1))
    # steady: 2 samples flip to wrong, 1 to right (nightly noise); worse: 18 more samples wrong
    noisy = (BASE - {0}) | {1, 2}
    run = write_run(
        results, "n2", config, {"steady": noisy, "worse": BASE | set(range(1, N, 3))}, n=N, started_at=day(2)
    )
    found = regressions_of(run)
    assert sorted(set(found["model"])) == ["worse"]
    assert set(found["metric"]) == {"anls", "exact_match"}
    rec = found.filter(pl.col("metric") == "anls").row(0, named=True)
    assert rec["previous_run"] == "n1" and rec["rule"] == "ci" and rec["n"] == N
    assert rec["previous_value"] == pytest.approx(0.8) and rec["drop"] > 0.2 and rec["drop_ci_low"] > 0
    rows = [
        g
        for g in find_regressions(
            run.root,
            pl.read_parquet(run.root / "summary.parquet"),
            pl.read_parquet(run.root / "scores.parquet"),
        )
    ]
    assert {(g.model, g.metric) for g in rows} == {("worse", "anls"), ("worse", "exact_match")}


def test_an_improvement_or_unchanged_run_is_not_flagged(tmp_path, config):
    results = tmp_path / "results"
    write_run(results, "a", config, {"m": BASE}, n=N, started_at=day(1))
    run = write_run(results, "b", config, {"m": set(range(0, N, 10))}, n=N, started_at=day(2))
    assert regressions_of(run).height == 0
    run = write_run(results, "c", config, {"m": set(range(0, N, 10))}, n=N, started_at=day(3))
    assert regressions_of(run).height == 0


def test_lower_is_better_metric_regresses_upwards(tmp_path, config):
    results = tmp_path / "results"
    write_run(results, "o1", config, {"ocr": set()}, datasets=("docs-ocr",), n=N, started_at=day(1))
    run = write_run(
        results, "o2", config, {"ocr": set(range(0, N, 2))}, datasets=("docs-ocr",), n=N, started_at=day(2)
    )
    found = regressions_of(run)
    cer = found.filter(pl.col("metric") == "cer").row(0, named=True)
    assert cer["higher_is_better"] is False and cer["value"] > cer["previous_value"] and cer["drop"] > 0
    assert cer["drop"] == pytest.approx(cer["value"] - cer["previous_value"])


def test_compares_with_the_latest_earlier_run_that_has_the_key(tmp_path, config):
    results = tmp_path / "results"
    write_run(results, "k1", config, {"m": BASE, "x": BASE}, n=N, started_at=day(1))
    bad = BASE | set(range(1, N, 3))
    write_run(results, "k2", config, {"m": bad}, n=N, started_at=day(2))  # m dropped: flagged
    run3 = write_run(results, "k3", config, {"m": bad, "x": bad}, n=N, started_at=day(3))
    found = regressions_of(run3)
    # m is compared with k2 (same level: nothing), x with k1, the last run that had it (a drop)
    assert found["model"].to_list() == ["x", "x"] and set(found["previous_run"]) == {"k1"}
    assert regressions_of(results_run(results, "k2"))["model"].unique().to_list() == ["m"]
    # run ids that do not sort by time: the order is the manifests' start time
    assert [r.run_id for r in list_runs(results)] == ["k1", "k2", "k3"]


def results_run(results, run_id):
    from vlmhyperbench.results import RunFolder

    return RunFolder(results / run_id)


def test_without_previous_scores_the_summary_intervals_decide(tmp_path, config):
    results = tmp_path / "results"
    write_run(
        results, "s1", config, {"steady": BASE, "worse": BASE}, n=N, started_at=day(1), remove_scores=True
    )
    run = write_run(
        results,
        "s2",
        config,
        {"steady": (BASE - {0}) | {1, 2}, "worse": BASE | set(range(1, N, 3))},
        n=N,
        started_at=day(2),
    )
    found = regressions_of(run)
    assert set(found["model"]) == {"worse"} and set(found["rule"]) == {"ci-summary"}


def test_threshold_from_the_config_replaces_the_interval(tmp_path, config, monkeypatch):
    results = tmp_path / "results"
    (config / "thresholds.csv").write_text(
        "metric;threshold;dataset\nanls;0.01;docs-vqa\n*;0.5;\n", encoding="utf-8"
    )
    write_run(results, "t1", config, {"steady": BASE, "worse": BASE}, n=N, started_at=day(1))
    run = write_run(
        results,
        "t2",
        config,
        {"steady": (BASE - {0}) | {1, 2}, "worse": BASE | set(range(1, N, 3))},
        n=N,
        started_at=day(2),
    )
    found = regressions_of(run)
    # anls on docs-vqa: any drop over 0.01 (steady lost 1/60); exact_match: the catch-all 0.5, not reached
    assert sorted(found["model"]) == ["steady", "worse"]
    assert set(found["metric"]) == {"anls"} and set(found["rule"]) == {"threshold"}
    assert set(found["threshold"]) == {0.01}


def test_threshold_from_the_environment(tmp_path, config, monkeypatch):
    monkeypatch.setenv("VLMHB_REGRESSION_THRESHOLD", "0.5")
    results = tmp_path / "results"
    write_run(results, "e1", config, {"worse": BASE}, n=N, started_at=day(1))
    run = write_run(results, "e2", config, {"worse": BASE | set(range(1, N, 3))}, n=N, started_at=day(2))
    assert regressions_of(run).height == 0  # 0.28 < 0.5


def test_thresholds_file_errors_name_file_line_and_column(tmp_path):
    path = tmp_path / "thresholds.csv"
    path.write_text("metric;threshold\nanls;0.02\ncer;-1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"thresholds.csv:3: column 'threshold': must be a number >= 0"):
        read_thresholds(path)
    path.write_text("metric;threshold;model\nanls;0.02;x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"thresholds.csv:1: column 'model': unknown column"):
        read_thresholds(path)
    path.write_text("metric;threshold;dataset\nanls;0.02;\n*;0.1;docs\nanls;0.03;docs\n", encoding="utf-8")
    rows = read_thresholds(path)
    assert threshold_for(rows, "anls", "docs") == 0.03
    assert threshold_for(rows, "anls", "other") == 0.02
    assert threshold_for(rows, "cer", "docs") == 0.1
    assert threshold_for(rows, "cer", "other", default=0.2) == 0.2
    assert read_thresholds(tmp_path / "absent.csv") == []


def test_history_is_scanned_and_the_trend_printed(tmp_path, config, capsys):
    results = tmp_path / "results"
    for k, wrong in enumerate([BASE, BASE, BASE | set(range(1, N, 3))], start=1):
        write_run(results, f"h{k}", config, {"m": wrong, "other": BASE}, n=N, started_at=day(k))
    (results / "not-a-run").mkdir()
    history = load_history(results)
    assert history.filter((pl.col("model") == "m") & (pl.col("metric") == "anls") & (pl.col("group") == ""))[
        "value"
    ].to_list() == pytest.approx([0.8, 0.8, 32 / 60])
    table, regressions = trend(results, metrics=["anls"], last=2)
    assert table.columns[-2:] == ["h2", "h3"] and "h1" not in table.columns
    assert regressions.filter(pl.col("run_id") == "h3")["model"].unique().to_list() == ["m"]
    console = Console(record=True, width=160)
    print_trend(table, regressions, console=console)
    text = console.export_text()
    assert "docs-vqa · anls ↑" in text and "0.5333 ▼" in text and "-0.2667" in text
    capsys.readouterr()
    assert history_main(["--output", str(results), "--models", "m"]) == 0
    out = capsys.readouterr().out
    assert "h1" in out and "h3" in out and "other" not in out
    assert read_regressions(results).height == 2  # h3: m on anls and exact_match

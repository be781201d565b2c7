"""Synthetic run folders (tests.support.synthetic_runs) have the contract's files and shape."""

from __future__ import annotations

import json

import polars as pl

from tests.support.synthetic_runs import make_config, write_run


def test_synthetic_run_has_the_contract_files(tmp_path):
    config = make_config(tmp_path)
    run = write_run(
        tmp_path / "results",
        "r1",
        config,
        {"good": set(), "bad": {1, 2, 3}},
        failed={"broken": "ServerError: did not start"},
    )
    for name in (
        "manifest.json",
        "scores.parquet",
        "summary.parquet",
        "summary.csv",
        "performance.parquet",
        "performance.csv",
        "leaderboard.md",
        "report.html",
        "regressions.csv",
    ):
        assert (run.root / name).is_file(), name
    summary = pl.read_parquet(run.root / "summary.parquet")
    general = summary.filter((pl.col("aggregator") == "general") & (pl.col("metric") == "anls"))
    values = dict(zip(general["model"], general["value"]))
    assert values == {"good": 1.0, "bad": 1.0 - 3 / 40}
    manifest = json.loads((run.root / "manifest.json").read_text())
    assert [p["status"] for p in manifest["pairs"]].count("failed") == 1

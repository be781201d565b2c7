"""report: the run's result files (docs/reference/results.md), the comparison with earlier runs, the
leaderboard, and Prefect artifacts."""

from __future__ import annotations

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from vlmhyperbench.report import publish_artifacts, write_report
from vlmhyperbench.results import Manifest, RunFolder


@task(name="report", cache_policy=NO_CACHE)
def report(
    run: RunFolder,
    manifest: Manifest,
    scores: list[pl.DataFrame],
    summaries: list[pl.DataFrame],
    performance: list[dict],
) -> list[dict]:
    """Writes the run's result files and leaderboard, prints it, and publishes Prefect artifacts."""
    rows = write_report(run, manifest, scores, summaries, performance)
    publish_artifacts(rows, run, manifest)
    return rows

"""The history: the run folders under a results folder, and their summaries, scanned lazily.

runs = list_runs(Path("results"))                  # every run folder, oldest first
values = load_history(Path("results"))             # general values of every run (polars)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from vlmhyperbench.results.run_folder import MANIFEST, SUMMARY, RunFolder


@dataclass(frozen=True)
class RunInfo:
    """One run folder of the history."""

    run_id: str
    root: Path
    started_at: str
    status: str

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.root)


def list_runs(results_dir: Path) -> list[RunInfo]:
    """Every run folder (one with a readable manifest.json) under RESULTS_DIR, oldest first."""
    runs = []
    root = Path(results_dir)
    if not root.is_dir():
        return []
    for manifest in root.glob(f"*/{MANIFEST}"):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        runs.append(
            RunInfo(
                manifest.parent.name,
                manifest.parent,
                str(data.get("started_at") or ""),
                str(data.get("status") or ""),
            )
        )
    return sorted(runs, key=lambda r: (r.started_at, r.run_id))


def scan_table(path: Path, run_id: str) -> pl.LazyFrame:
    """One run's table, lazily, with its run_id (and the perturbation column of runs before it existed)."""
    lf = pl.scan_parquet(path)
    names = lf.collect_schema().names()
    if "perturbation" not in names:  # runs from before perturbations existed
        lf = lf.with_columns(pl.lit("", pl.String).alias("perturbation"))
    return lf.with_columns(pl.lit(run_id, pl.String).alias("run_id"))


def load_history(
    results_dir: Path,
    *,
    aggregator: str = "general",
    runs: list[RunInfo] | None = None,
    until: str | None = None,
) -> pl.DataFrame:
    """The summary rows of AGGREGATOR of every run (up to and including run UNTIL), with run_id,
    started_at and the run's position `run_index` (0 = oldest); files are scanned lazily and filtered
    before they are read."""
    runs = list_runs(results_dir) if runs is None else runs
    if until is not None:
        ids = [r.run_id for r in runs]
        if until in ids:
            runs = runs[: ids.index(until) + 1]
    frames = [
        scan_table(r.folder.table(SUMMARY), r.run_id) for r in runs if r.folder.table(SUMMARY).is_file()
    ]
    schema = {
        "run_id": pl.String,
        "run_index": pl.Int64,
        "started_at": pl.String,
        "model": pl.String,
        "dataset": pl.String,
        "perturbation": pl.String,
        "metric": pl.String,
        "group": pl.String,
        "value": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "n": pl.Int64,
        "higher_is_better": pl.Boolean,
    }
    if not frames:
        return pl.DataFrame(schema=schema)
    order = pl.DataFrame(
        {
            "run_id": [r.run_id for r in runs],
            "run_index": list(range(len(runs))),
            "started_at": [r.started_at for r in runs],
        }
    ).lazy()
    lf = (
        pl.concat(frames, how="diagonal_relaxed")
        .filter(pl.col("aggregator") == aggregator)
        .with_columns(pl.col("perturbation").fill_null(""))
        .join(order, on="run_id", how="inner")
    )
    return (
        lf.select(list(schema))
        .sort("run_index", "model", "dataset", "perturbation", "metric", "group")
        .collect()
    )

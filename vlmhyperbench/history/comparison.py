"""What a run was compared with, in the words every reader of it uses (terminal, report, leaderboard.md,
the summary artifact, the gates).

    comparison = compare_run(run_root, summary, scores, thresholds=..., started_at=...)
    comparison.headline()   -> "no regression against run 20261126-150434-746e (4 metrics of 1 pair)"
    comparison.not_compared_lines() -> ["no earlier run of rapidocr-1.4 on docs-ocr"]

A regression verdict exists only for a (model, dataset, perturbation, metric) that an earlier run of the
results folder has a value for; every other one is said to have none, never "no regression". The first
run of a results folder, or a model run for the first time beside older ones, thus reads "no earlier run
of MODEL on DATASET", not "no regression".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from vlmhyperbench.history.regressions import KEY, Regression, find_regressions, previous_values

Key = tuple[str, str, str, str]
"""(model, dataset, perturbation, metric); perturbation "" for the images as they are."""
LISTED = 10
"""Pairs named one by one in a message; the rest are counted."""


@dataclass
class Comparison:
    """This run's values against the latest earlier run that has each of them."""

    keys: list[Key] = field(default_factory=list)
    """Every (model, dataset, perturbation, metric) of this run with a general value."""
    previous: dict[Key, str] = field(default_factory=dict)
    """The keys an earlier run has a value for -> that run's id (what was compared)."""
    regressions: list[Regression] = field(default_factory=list)

    def compared(self, key: Key) -> bool:
        return key in self.previous

    @property
    def previous_runs(self) -> list[str]:
        """The runs compared with, oldest id first."""
        return sorted(set(self.previous.values()))

    @property
    def anything_compared(self) -> bool:
        return bool(self.previous)

    def pair_compared(self, model: str, dataset: str, perturbation: str = "") -> bool:
        return bool(self.compared_with(model, dataset, perturbation))

    def compared_with(self, model: str, dataset: str, perturbation: str = "") -> list[str]:
        """The earlier runs the pair's metrics were compared with (none: the pair has no earlier run)."""
        return sorted({run for k, run in self.previous.items() if k[:3] == (model, dataset, perturbation)})

    def not_compared_pairs(self) -> list[tuple[str, str, str]]:
        """(model, dataset, perturbation) of this run that no earlier run has any value of."""
        pairs = dict.fromkeys(k[:3] for k in self.keys)
        return [p for p in pairs if not self.pair_compared(*p)]

    def not_compared_metrics(self) -> list[Key]:
        """The metrics without an earlier value, of pairs that have some (a metric added since)."""
        return [k for k in self.keys if k not in self.previous and self.pair_compared(*k[:3])]

    def runs_text(self) -> str:
        runs = self.previous_runs
        return f"run {runs[0]}" if len(runs) == 1 else f"runs {', '.join(runs)}"

    def headline(self) -> str:
        """One line: the verdict on what was compared, and with which run, or that nothing was."""
        if not self.anything_compared:
            return "no earlier run of these models and datasets: nothing compared"
        n_metrics = len(self.previous)
        n_pairs = len({k[:3] for k in self.previous})
        scope = f"{_count(n_metrics, 'metric')} of {_count(n_pairs, 'pair')}"
        found = len(self.regressions)
        if found:
            return (
                f"{found} regression{'s' if found != 1 else ''} against {self.runs_text()} ({scope} compared)"
            )
        return f"no regression against {self.runs_text()} ({scope} compared)"

    def not_compared_lines(self, limit: int | None = LISTED) -> list[str]:
        """`no earlier run of MODEL on DATASET` for each pair nothing was compared for, and `no earlier
        value of METRIC ...` for a metric a compared pair has for the first time; LIMIT lines at most,
        then a count."""
        lines = [f"no earlier run of {_pair(*p)}" for p in self.not_compared_pairs()]
        lines += [f"no earlier value of {k[3]} for {_pair(*k[:3])}" for k in self.not_compared_metrics()]
        if limit is not None and len(lines) > limit:
            return [*lines[:limit], f"… and {len(lines) - limit} more without an earlier run"]
        return lines

    def pair_note(self, model: str, dataset: str, perturbation: str = "") -> str | None:
        """What a pair's row says when nothing of it was compared (None when something was)."""
        if self.pair_compared(model, dataset, perturbation):
            return None
        return f"no earlier run of {_pair(model, dataset, perturbation)}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _pair(model: str, dataset: str, perturbation: str = "") -> str:
    return f"{model} on {dataset}" + (f" ~{perturbation}" if perturbation else "")


def compare_run(
    run_root: Path,
    summary: pl.DataFrame,
    scores: pl.DataFrame | None = None,
    *,
    results_dir: Path | None = None,
    thresholds: list[dict] | None = None,
    default: float | None = None,
    started_at: str | None = None,
) -> Comparison:
    """The run in RUN_ROOT (its general SUMMARY and per-sample SCORES) against the earlier runs of
    RESULTS_DIR (default: the folder it is in); regressions as find_regressions decides them."""
    run_root = Path(run_root)
    results_dir = Path(results_dir) if results_dir is not None else run_root.parent
    keys = current_keys(summary)
    previous = previous_values(results_dir, run_root.name, started_at)
    compared: dict[Key, str] = {}
    if previous.height and keys:
        wanted = set(keys)
        for rec in previous.select(*KEY, "run_id").iter_rows():
            key = tuple(rec[:4])
            if key in wanted:
                compared[key] = rec[4]  # type: ignore[index]
    found = (
        find_regressions(
            run_root,
            summary,
            scores,
            results_dir=results_dir,
            thresholds=thresholds,
            default=default,
            started_at=started_at,
            previous=previous,
        )
        if compared
        else []
    )
    return Comparison(keys=keys, previous=compared, regressions=found)


def current_keys(summary: pl.DataFrame) -> list[Key]:
    """The (model, dataset, perturbation, metric) of SUMMARY's general rows that have a value."""
    if not summary.height:
        return []
    rows = summary.filter((pl.col("aggregator") == "general") & (pl.col("group").fill_null("") == ""))
    if "perturbation" not in rows.columns:
        rows = rows.with_columns(pl.lit("", pl.String).alias("perturbation"))
    rows = rows.filter(pl.col("value").is_not_null() & ~pl.col("value").is_nan())
    return [
        (m, d, p or "", metric)
        for m, d, p, metric in rows.select("model", "dataset", "perturbation", "metric").iter_rows()
    ]

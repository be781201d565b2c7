"""Regressions: each run against the previous run of the same results folder.

    found = find_regressions(run_root, summary, scores, thresholds=run_thresholds(run_root))

A run is compared, per (model, dataset, perturbation, metric) of its general summary, with the most recent
earlier run that has that key (earlier by `started_at`, then run id). The drop is the change towards worse
(previous - current for a higher-is-better metric, current - previous otherwise). It is a regression when:
- a threshold applies to the metric (thresholds.csv, else VLMHB_REGRESSION_THRESHOLD): drop > threshold;
- else: the drop's 95 % paired bootstrap interval over the samples both runs scored lies above zero
  (metrics.paired_difference); without the previous run's per-sample scores, the drop must exceed the
  two runs' interval half-widths combined, sqrt(a² + b²).

thresholds.csv is read by config.thresholds; the most specific row that matches wins.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from vlmhb_core.errors import ConfigError
from vlmhyperbench.config.thresholds import THRESHOLDS_FILE, read_thresholds
from vlmhyperbench.history.runs import RunInfo, list_runs, load_history, scan_table
from vlmhyperbench.results.run_folder import REGRESSIONS, SCORES, RunFolder

KEY = ["model", "dataset", "perturbation", "metric"]


@dataclass(frozen=True)
class Regression:
    """One (model, dataset, perturbation, metric) that got worse than in the previous run."""

    model: str
    dataset: str
    perturbation: str
    metric: str
    previous_run: str
    previous_value: float
    value: float
    drop: float
    """Towards worse, in the metric's units (> 0)."""
    drop_ci_low: float | None
    drop_ci_high: float | None
    n: int
    """Samples compared (both runs scored them); the current run's count when the comparison is by summary."""
    rule: str
    """`threshold` or `ci` (paired bootstrap) or `ci-summary` (the runs' own intervals)."""
    threshold: float | None
    higher_is_better: bool

    def describe(self) -> str:
        pert = f" ~{self.perturbation}" if self.perturbation else ""
        why = (
            f"> threshold {self.threshold:g}"
            if self.rule == "threshold"
            else f"95 % CI of the drop [{_f(self.drop_ci_low)}, {_f(self.drop_ci_high)}]"
            if self.rule == "ci"
            else "beyond both runs' intervals"
        )
        return (
            f"{self.model} / {self.dataset}{pert} / {self.metric}: "
            f"{self.previous_value:.4f} → {self.value:.4f} "
            f"(worse by {self.drop:.4f}, {why}; previous run {self.previous_run})"
        )


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"


def default_threshold() -> float | None:
    """VLMHB_REGRESSION_THRESHOLD, or None; ConfigError when it is not a number."""
    from pydantic import ValidationError

    from vlmhb_core.settings import Settings

    try:  # read now, not from the process's cached settings: a long-lived worker's env may change
        return Settings().regression_threshold
    except ValidationError as exc:
        raise ConfigError(f"VLMHB_REGRESSION_THRESHOLD is not a number: {exc.errors()[0]['msg']}") from None


def threshold_for(
    thresholds: list[dict],
    metric: str,
    dataset: str,
    default: float | None = None,
    *,
    model: str = "",
    perturbation: str = "",
) -> float | None:
    """The most specific matching row's threshold (a named metric first, then dataset, model, perturbation;
    a key a row lacks, or `*`, matches anything); DEFAULT when no row matches. Rows: {metric, threshold,
    [dataset], [model], [perturbation]}, as read_thresholds returns them."""
    best, rank = default, -1
    for t in thresholds:
        keys = [
            (t.get("metric", "*"), metric, 8),
            (t.get("dataset", "*"), dataset, 4),
            (t.get("model", "*"), model, 2),
            (t.get("perturbation", "*"), perturbation, 1),
        ]
        if all(want in ("*", None, have) for want, have, _ in keys):
            r = sum(weight for want, have, weight in keys if want not in ("*", None))
            if r > rank:
                best, rank = t["threshold"], r
    return best


def run_thresholds(run_root: Path, config: str | None = None) -> list[dict]:
    """thresholds.csv of the run's config copy, else of CONFIG, the folder the run was started with."""
    candidates = [RunFolder(run_root).config_dir / THRESHOLDS_FILE]
    if config:
        candidates.append(Path(config) / THRESHOLDS_FILE)
    for path in candidates:
        if path.is_file():
            return read_thresholds(path)
    return []


def previous_values(results_dir: Path, run_id: str, started_at: str | None = None) -> pl.DataFrame:
    """For each key, the general summary row of the latest run before RUN_ID that has it (column prev_run)."""
    runs = list_runs(results_dir)
    ids = [r.run_id for r in runs]
    if run_id in ids:
        earlier = runs[: ids.index(run_id)]
    else:  # the run's manifest may not be written yet: compare by start time
        earlier = [r for r in runs if started_at is None or (r.started_at, r.run_id) < (started_at, run_id)]
    hist = load_history(results_dir, runs=earlier)
    if not hist.height:
        return hist
    # a run whose value is missing (not scored there) is no comparison: the latest run with a value is
    hist = hist.filter((pl.col("group") == "") & pl.col("value").is_not_null() & ~pl.col("value").is_nan())
    return hist.sort("run_index").group_by(KEY, maintain_order=True).last()


def find_regressions(
    run_root: Path,
    summary: pl.DataFrame,
    scores: pl.DataFrame | None = None,
    *,
    results_dir: Path | None = None,
    thresholds: list[dict] | None = None,
    default: float | None = None,
    started_at: str | None = None,
    previous: pl.DataFrame | None = None,
) -> list[Regression]:
    """This run's regressions against the previous run of each key (see the module docstring); PREVIOUS:
    previous_values of the run, when the caller has them."""
    run_root = Path(run_root)
    results_dir = Path(results_dir) if results_dir is not None else run_root.parent
    thresholds = thresholds or []
    if not summary.height:
        return []
    current = summary.filter((pl.col("aggregator") == "general") & (pl.col("group").fill_null("") == ""))
    if "perturbation" not in current.columns:
        current = current.with_columns(pl.lit("", pl.String).alias("perturbation"))
    current = current.with_columns(pl.col("perturbation").fill_null(""))
    if previous is None:
        previous = previous_values(results_dir, run_root.name, started_at)
    if not previous.height or not current.height:
        return []
    joined = current.join(
        previous.select(
            *KEY,
            pl.col("run_id").alias("prev_run"),
            pl.col("value").alias("prev_value"),
            pl.col("ci_low").alias("prev_low"),
            pl.col("ci_high").alias("prev_high"),
        ),
        on=KEY,
        how="inner",
    )
    found = []
    prev_scores: dict[str, pl.LazyFrame | None] = {}
    for rec in joined.iter_rows(named=True):
        if rec["value"] is None or rec["prev_value"] is None:
            continue
        hib = bool(rec["higher_is_better"])
        drop = (rec["prev_value"] - rec["value"]) if hib else (rec["value"] - rec["prev_value"])
        if not drop > 0:
            continue
        threshold = threshold_for(
            thresholds,
            rec["metric"],
            rec["dataset"],
            default,
            model=rec["model"],
            perturbation=rec["perturbation"],
        )
        low = high = None
        n = int(rec["n"] or 0)
        paired = None
        if scores is not None and scores.height:
            if rec["prev_run"] not in prev_scores:
                path = RunFolder(results_dir / rec["prev_run"]).table(SCORES)
                prev_scores[rec["prev_run"]] = scan_table(path, rec["prev_run"]) if path.is_file() else None
            paired = _paired_drop(scores, prev_scores[rec["prev_run"]], rec)
        if paired is not None:
            low, high, n = paired
        if threshold is not None:
            flagged, rule = drop > threshold, "threshold"
        elif paired is not None:
            flagged, rule = low is not None and low > 0, "ci"
        else:
            margin = math.hypot(
                _half(rec["ci_low"], rec["ci_high"]), _half(rec["prev_low"], rec["prev_high"])
            )
            flagged, rule = drop > margin, "ci-summary"
            low, high = drop - margin, drop + margin
        if flagged:
            found.append(
                Regression(
                    rec["model"],
                    rec["dataset"],
                    rec["perturbation"],
                    rec["metric"],
                    rec["prev_run"],
                    rec["prev_value"],
                    rec["value"],
                    drop,
                    low,
                    high,
                    n,
                    rule,
                    threshold,
                    hib,
                )
            )
    return sorted(found, key=lambda r: (r.dataset, r.perturbation, r.model, r.metric))


def _half(low, high) -> float:
    return 0.0 if low is None or high is None else max(0.0, (high - low) / 2)


def _paired_drop(scores: pl.DataFrame, previous: pl.LazyFrame | None, rec: dict):
    """(low, high, n) of the drop's paired bootstrap interval, or None when it cannot be computed."""
    if previous is None:
        return None
    from metrics import MetricError, paired_difference

    def select(df):
        keep = (
            (pl.col("model") == rec["model"])
            & (pl.col("dataset") == rec["dataset"])
            & (pl.col("perturbation").fill_null("") == rec["perturbation"])
            & (pl.col("metric") == rec["metric"])
        )
        return df.filter(keep)

    cur = select(
        scores
        if "perturbation" in scores.columns
        else scores.with_columns(pl.lit("", pl.String).alias("perturbation"))
    )
    try:
        prev = select(previous).drop("run_id").collect()
    except (pl.exceptions.PolarsError, OSError):
        return None
    if not cur.height or not prev.height:
        return None
    cols = [c for c in cur.columns if c in prev.columns]
    try:
        d = paired_difference(prev.select(cols), cur.select(cols), rec["metric"])  # previous - current
    except (MetricError, ValueError, KeyError, pl.exceptions.PolarsError):
        return None
    if d.ci_low is None or d.ci_high is None:
        return None
    if rec["higher_is_better"]:
        return d.ci_low, d.ci_high, d.n
    return -d.ci_high, -d.ci_low, d.n


REGRESSION_SCHEMA = {
    "model": pl.String,
    "dataset": pl.String,
    "perturbation": pl.String,
    "metric": pl.String,
    "previous_run": pl.String,
    "previous_value": pl.Float64,
    "value": pl.Float64,
    "drop": pl.Float64,
    "drop_ci_low": pl.Float64,
    "drop_ci_high": pl.Float64,
    "n": pl.Int64,
    "rule": pl.String,
    "threshold": pl.Float64,
    "higher_is_better": pl.Boolean,
}


def regressions_frame(found: list[Regression]) -> pl.DataFrame:
    return (
        pl.DataFrame([asdict(r) for r in found], schema=REGRESSION_SCHEMA, orient="row")
        if found
        else pl.DataFrame(schema=REGRESSION_SCHEMA)
    )


def read_regressions(results_dir: Path, runs: list[RunInfo] | None = None) -> pl.DataFrame:
    """Every run's regressions.csv (lazily scanned), with run_id."""
    runs = list_runs(results_dir) if runs is None else runs
    frames = [
        pl.scan_csv(r.folder.file(REGRESSIONS), separator=";", schema=REGRESSION_SCHEMA).with_columns(
            pl.lit(r.run_id).alias("run_id")
        )
        for r in runs
        if r.folder.file(REGRESSIONS).is_file()
    ]
    if not frames:
        return pl.DataFrame(schema={**REGRESSION_SCHEMA, "run_id": pl.String})
    return (
        pl.concat(frames, how="diagonal_relaxed").with_columns(pl.col("perturbation").fill_null("")).collect()
    )

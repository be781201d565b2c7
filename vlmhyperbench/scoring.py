"""Scoring one pair: per-sample metric values from its stored predictions, and their aggregates.

Metrics computed here run in this process; a scorer's metrics (vlmhyperbench.scorers) run in the
scorer's own environment, fed the predictions as files in the pair's scorer folder, and come back as
the same long rows. Both are aggregated by metrics.summarize. What a scorer could not score where it
ran, and a metric that no sample could be scored with, get a summary row with no value and a `note`
saying why, so nothing asked for disappears silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import polars as pl

import metrics
from metrics import METRICS
from vlmhyperbench.config import Pair
from vlmhyperbench.inference import TASK_COLUMNS, answer_table, left_out_mask
from vlmhyperbench.results import PairKey, RunFolder
from vlmhyperbench.results.tables import SCORES_SCHEMA, SUMMARY_SCHEMA
from vlmhyperbench.scorers import run_scorer

SAMPLE_COLUMNS = ("doc_class", "question_type")
"""Passed to the metrics that ask for them (OCRBench's rules depend on the source dataset)."""
ASKED_COLUMNS = (*SAMPLE_COLUMNS, "annotation", "error")
"""The prediction columns a metric may ask for (a benchmark's annotation; whether the request failed)."""
SCORER_COLUMNS = ("error", "annotation", *SAMPLE_COLUMNS)


@dataclass(frozen=True)
class ScorerSetup:
    """Where a pair's scorers work and log, and the environment kind they are built with (--env)."""

    run: RunFolder
    key: PairKey
    env: str | None = None

    def workdir(self, scorer: str) -> Path:
        return self.run.scorer_dir(self.key, scorer)

    def log(self, scorer: str) -> Path:
        return self.run.log(f"{self.key.model}.{self.key.stem}.scorer-{scorer}.log")


@dataclass
class PairScores:
    scores: pl.DataFrame
    summary: pl.DataFrame
    scorers: list[dict] = field(default_factory=list)
    """What each scorer run was (environment key, cache hit, times, what it could not score)."""
    answers_differ: int | None = None
    """A load-curve level: how many of its answers differ from the first level's (None: not a level)."""


def score_predictions(
    predictions: pl.DataFrame,
    names: list[str],
    reasoning: tuple[str, ...] = metrics.REASONING_TAGS,
    verdicts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Long per-sample scores of PREDICTIONS with the in-process metrics NAMES. A request that failed scores
    as an empty answer (the model's failure); a sample never sent for a data reason (a missing or broken
    image or PDF) is left out. REASONING: the reasoning tags removed from answers first. VERDICTS
    (sample_id, judge_grade, judge_extraction): the judges' verdicts that judged metrics read
    (vlmhyperbench.judges)."""
    if not names:
        return pl.DataFrame(schema={"sample_id": pl.String, "metric": pl.String, "value": pl.Float64})
    wanted = {c for name in names for c in metrics.get_metric(name).columns}
    table = answer_table(predictions, columns=[c for c in ASKED_COLUMNS if c in wanted], reasoning=reasoning)
    if verdicts is not None:
        table = table.join(verdicts, on="sample_id", how="left", maintain_order="left")
    return pl.concat([metrics.score(name, table) for name in names], how="diagonal_relaxed")


def _package_version() -> str:
    try:
        return version("vlmhyperbench")
    except PackageNotFoundError:
        return "unknown"


def label_scorers(summary: pl.DataFrame, benchmark: str) -> pl.DataFrame:
    """SUMMARY with the columns benchmark, scorer and scorer_version: what each row's value is (an official
    scorer's name and the version of its implementation; another metric's own name and the package's)."""
    names = summary.get_column("metric").unique().to_list() if summary.height else []
    specs = {name: metrics.get_metric(name) for name in names}
    scorer = {n: s.scorer or n for n, s in specs.items()}
    release = _package_version()
    scorer_version = {n: s.version or release for n, s in specs.items()}
    return summary.with_columns(
        pl.lit(benchmark, pl.String).alias("benchmark"),
        pl.col("metric").replace_strict(scorer, default=None, return_dtype=pl.String).alias("scorer"),
        pl.col("metric")
        .replace_strict(scorer_version, default=None, return_dtype=pl.String)
        .alias("scorer_version"),
    )


def score_pair(
    path: Path | pl.DataFrame,
    pair_keys: dict,
    names: list[str],
    aggregators: list[str],
    setup: ScorerSetup | None = None,
    benchmark: str | None = None,
    reasoning: tuple[str, ...] = metrics.REASONING_TAGS,
    verdicts: pl.DataFrame | None = None,
) -> PairScores:
    """Scores and summary of one stored predictions file (or its frame); PAIR_KEYS (model, dataset,
    perturbation) are added as columns; a BENCHMARK's summary rows say which scorer made them. SETUP is
    needed when a metric is a scorer environment's. REASONING and VERDICTS: as score_predictions."""
    predictions = path if isinstance(path, pl.DataFrame) else pl.read_parquet(path)
    by_scorer: dict[str, list[str]] = {}
    for name in names:
        scorer = METRICS.get(name).scorer_env
        if scorer is not None:
            by_scorer.setdefault(scorer, []).append(name)
    local = [n for n in names if METRICS.get(n).scorer_env is None]
    parts = [score_predictions(predictions, local, reasoning, verdicts)]
    notes: dict[str, list[str]] = {}
    records = []
    for scorer, wanted in by_scorer.items():
        if setup is None:
            raise ValueError(f"scorer '{scorer}' runs out of process: score_pair needs a ScorerSetup")
        columns = [c for c in ("references", *SCORER_COLUMNS, *TASK_COLUMNS) if c in predictions.columns]
        sent = predictions.filter(~left_out_mask(predictions)).with_columns(  # never sent: no one's score
            metrics.strip_reasoning_expr(pl.col("prediction"), reasoning)  # scorers see answers as metrics do
        )
        run = run_scorer(
            scorer,
            sent.select("sample_id", "prediction", *columns),
            wanted,
            workdir=setup.workdir(scorer),
            log=setup.log(scorer),
            env_override=setup.env,
        )
        parts.append(run.scores)
        records.append(run.record())
        for ns in run.not_scored:
            notes.setdefault(ns.metric, []).append(f"{ns.part}: {ns.reason}" if ns.part else ns.reason)
    keys = [pl.lit(v, dtype=pl.String).alias(k) for k, v in pair_keys.items()]
    scores = (
        pl.concat([p for p in parts if p.height], how="diagonal_relaxed")
        if any(p.height for p in parts)
        else parts[0]
    )
    scores = scores.with_columns(keys)
    samples = predictions.select("sample_id", "doc_class", "question_type").with_columns(keys)
    if any(METRICS.get(n).aggregation == "category_mean" for n in names) and "by_category" not in aggregators:
        aggregators = [*aggregators, "by_category"]  # olmOCR-bench reports each category's pass rate
    summary = metrics.summarize(scores, samples, aggregators)
    # by_category means something only for rows that have a category
    summary = summary.filter(~((pl.col("aggregator") == "by_category") & (pl.col("group") == "")))
    summary = _with_notes(summary, scores, names, notes, pair_keys)
    if benchmark:
        summary = label_scorers(summary, benchmark)
    front = list(pair_keys)
    return PairScores(scores.select(*front, pl.exclude(front)), summary, records)


def _with_notes(
    summary: pl.DataFrame,
    scores: pl.DataFrame,
    names: list[str],
    notes: dict[str, list[str]],
    pair_keys: dict,
) -> pl.DataFrame:
    """A `note` on the summary rows of a partly scored metric, and a value-less row for an unscored one."""
    scored = set(scores.get_column("metric").unique().to_list()) if scores.height else set()
    note = {m: "not scored: " + "; ".join(dict.fromkeys(v)) for m, v in notes.items()}
    summary = summary.with_columns(
        pl.col("metric")
        .replace_strict(
            {m: "partly " + n for m, n in note.items() if m in scored}, default=None, return_dtype=pl.String
        )
        .alias("note")
    )
    missing = []
    for name in names:
        if name in scored:
            continue
        reason = note.get(name) or "not scored: no sample has what this metric measures"
        missing.append(
            {
                **pair_keys,
                "metric": name,
                "aggregator": "general",
                "group": "",
                "value": None,
                "ci_low": None,
                "ci_high": None,
                "n": 0,
                "higher_is_better": METRICS.get(name).higher_is_better,
                "note": reason,
            }
        )
    if not missing:
        return summary
    return pl.concat([summary, pl.DataFrame(missing, schema=summary.schema)], how="vertical")


def score_pair_file(
    path: Path | pl.DataFrame,
    pair_keys: dict,
    names: list[str],
    aggregators: list[str],
    benchmark: str | None = None,
    reasoning: tuple[str, ...] = metrics.REASONING_TAGS,
    verdicts: pl.DataFrame | None = None,
):
    """(scores, summary) of one stored predictions file scored with in-process metrics only."""
    scored = score_pair(
        path, pair_keys, names, aggregators, benchmark=benchmark, reasoning=reasoning, verdicts=verdicts
    )
    return scored.scores, scored.summary


def score_one_pair(pair: Pair, predictions: Path, run: RunFolder, env: str | None = None) -> PairScores:
    """Scores of PAIR from its PREDICTIONS in RUN (the scoring task's work; flows.rescore scores every pair
    of a run with it); scorers run in their environments, built with ENV when given. A load curve's level
    after the first is scored only when its answers differ from the first level's: the same answers have
    the same quality, and scoring them again would cost a scorer environment's run each."""
    differ = None
    if pair.is_level:
        first = run.predictions(pair.base_key)
        differ = differing_answers(predictions, first) if first.is_file() else None
        if differ == 0:
            return PairScores(pl.DataFrame(schema=SCORES_SCHEMA), pl.DataFrame(schema=SUMMARY_SCHEMA), [], 0)
    keys = dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple()))
    setup = ScorerSetup(run=run, key=pair.key, env=env)
    scored = score_pair(
        predictions,
        keys,
        pair.metric_names(),
        list(pair.aggregators),
        setup,
        pair.dataset.benchmark,
        pair.reasoning_tags,
    )
    scored.answers_differ = differ
    return scored


def differing_answers(predictions: Path, first: Path) -> int:
    """How many samples of PREDICTIONS got another answer than in FIRST (a failed request's is null)."""
    columns = ["sample_id", "prediction"]
    a = pl.read_parquet(predictions, columns=columns)
    b = pl.read_parquet(first, columns=columns).rename({"prediction": "first"})
    joined = a.join(b, on="sample_id", how="full", coalesce=True)
    return int(joined.select(pl.col("prediction").ne_missing(pl.col("first")).sum()).item())

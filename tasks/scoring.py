"""scoring: per-sample metric values of one pair from its stored predictions, and their aggregates."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

import metrics
from vlmhyperbench.config import Pair
from vlmhyperbench.inference import answer_table

SAMPLE_COLUMNS = ("doc_class", "question_type")
"""Passed to the metrics that ask for them (OCRBench's rules depend on the source dataset)."""


def score_predictions(
    predictions: pl.DataFrame,
    names: list[str],
    reasoning: tuple[str, ...] = metrics.REASONING_TAGS,
    verdicts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Long per-sample scores of PREDICTIONS. A request that failed scores as an empty answer (the model's
    failure); a sample never sent for a data reason (a missing or broken image) is left out. REASONING: the
    reasoning tags removed from answers first. VERDICTS (sample_id, judge_grade, judge_extraction): the
    judges' verdicts that judged metrics read (vlmhyperbench.judges)."""
    wanted = {c for name in names for c in metrics.get_metric(name).columns}
    table = answer_table(predictions, columns=[c for c in SAMPLE_COLUMNS if c in wanted], reasoning=reasoning)
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


def score_pair_file(
    path: Path | pl.DataFrame,
    pair_keys: dict,
    names: list[str],
    aggregators: list[str],
    benchmark: str | None = None,
    reasoning: tuple[str, ...] = metrics.REASONING_TAGS,
    verdicts: pl.DataFrame | None = None,
):
    """(scores, summary) of one stored predictions file (or its frame); PAIR_KEYS (model, dataset,
    perturbation) are added as columns; a BENCHMARK's summary rows say which scorer made them."""
    predictions = path if isinstance(path, pl.DataFrame) else pl.read_parquet(path)
    keys = [pl.lit(v, dtype=pl.String).alias(k) for k, v in pair_keys.items()]
    scores = score_predictions(predictions, names, reasoning, verdicts).with_columns(keys)
    samples = predictions.select("sample_id", "doc_class", "question_type").with_columns(keys)
    summary = metrics.summarize(scores, samples, aggregators)
    if benchmark:
        summary = label_scorers(summary, benchmark)
    front = list(pair_keys)
    return scores.select(*front, pl.exclude(front)), summary


@task(name="scoring", task_run_name="scoring-{pair.model.name}-{pair.key.stem}", cache_policy=NO_CACHE)
def scoring(pair: Pair, predictions: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scores one pair; returns (scores, summary) with model, dataset and perturbation columns."""
    keys = dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple()))
    return score_pair_file(
        predictions,
        keys,
        pair.metric_names(),
        list(pair.aggregators),
        pair.dataset.benchmark,
        pair.reasoning_tags,
    )

"""scoring: per-sample metric values of one pair from its stored predictions, and their aggregates."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

import metrics
from vlmhyperbench.config import Pair
from vlmhyperbench.inference import left_out_mask

TASK_COLUMNS = ("label", "classes", "fields", "order")


def score_predictions(predictions: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Long per-sample scores of PREDICTIONS. A request that failed scores as an empty answer (the model's
    failure); a sample never sent for a data reason (a missing or broken image) is left out."""
    predictions = predictions.filter(~left_out_mask(predictions))
    cols = ["sample_id", "references", *[c for c in TASK_COLUMNS if c in predictions.columns]]
    table = predictions.select(*cols, pl.col("prediction").fill_null(""))
    return pl.concat([metrics.score(name, table) for name in names], how="diagonal_relaxed")


def score_pair_file(path: Path, pair_keys: dict, names: list[str], aggregators: list[str]):
    """(scores, summary) of one stored predictions file; PAIR_KEYS (model, dataset, perturbation) are
    added as columns."""
    predictions = pl.read_parquet(path)
    keys = [pl.lit(v, dtype=pl.String).alias(k) for k, v in pair_keys.items()]
    scores = score_predictions(predictions, names).with_columns(keys)
    samples = predictions.select("sample_id", "doc_class", "question_type").with_columns(keys)
    summary = metrics.summarize(scores, samples, aggregators)
    front = list(pair_keys)
    return scores.select(*front, pl.exclude(front)), summary


@task(name="scoring", task_run_name="scoring-{pair.model.name}-{pair.key.stem}", cache_policy=NO_CACHE)
def scoring(pair: Pair, predictions: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scores one pair; returns (scores, summary) with model, dataset and perturbation columns."""
    keys = dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple()))
    return score_pair_file(predictions, keys, pair.metric_names(), list(pair.aggregators))

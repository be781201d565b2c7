"""summarize(): the summary rows (docs/reference/results.md); paired_difference(): model A against model B."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from metrics import _bootstrap as bs
from metrics._errors import MetricError
from metrics._registry import get_metric
from vlmhb_core.registry import Registry

# Columns score() may write: never grouping keys.
SCORE_COLUMNS = (
    "sample_id",
    "metric",
    "value",
    "num",
    "den",
    "field",
    "pred_class",
    "label",
    "n_classes",
    "stats",
    "parts",
    "detail",
    "subset",
)
SAMPLE_COLUMNS = ("sample_id", "doc_class", "question_type")

# aggregator -> (the rows it pools: each sample's own, the per-field or the per-subset ones; the group label)
SAMPLE_ROWS, FIELD_ROWS, SUBSET_ROWS = "sample", "field", "subset"
_AGGREGATORS: Registry[tuple[str, pl.Expr]] = Registry("aggregators", kind="aggregator", load_plugins=False)
_AGGREGATORS.add("general", (SAMPLE_ROWS, pl.lit("")))
_AGGREGATORS.add("by_doc_class", (SAMPLE_ROWS, pl.col("doc_class")))
_AGGREGATORS.add("by_question_type", (SAMPLE_ROWS, pl.col("question_type")))
_AGGREGATORS.add(
    "by_doc_question",
    (
        SAMPLE_ROWS,
        pl.when((pl.col("doc_class") == "") & (pl.col("question_type") == ""))
        .then(pl.lit(""))
        .otherwise(pl.concat_str("doc_class", pl.lit("/"), "question_type")),
    ),
)
_AGGREGATORS.add("by_field", (FIELD_ROWS, pl.col("field")))
_AGGREGATORS.add("by_category", (SAMPLE_ROWS, pl.col("category")))
# A benchmark's official breakdowns whose groups overlap (MMLongBench-Doc's evidence sources: a question may
# have several): a metric writes, beside each sample's own row, one row per subset the sample is in.
_AGGREGATORS.add("by_subset", (SUBSET_ROWS, pl.col("subset")))

SUMMARY_SCHEMA = {  # summary.parquet's columns but the pair's perturbation (results.tables adds it)
    "model": pl.String,
    "dataset": pl.String,
    "metric": pl.String,
    "aggregator": pl.String,
    "group": pl.String,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n": pl.Int64,
    "higher_is_better": pl.Boolean,
}


def aggregator_names() -> list[str]:
    """Every aggregator summarize() knows."""
    return _AGGREGATORS.names()


def _keys(scores: pl.DataFrame, samples: pl.DataFrame) -> list[str]:
    """model, dataset, then every other column both tables have (e.g. perturbation)."""
    extra = [
        c
        for c in scores.columns
        if c in samples.columns and c not in ("model", "dataset", *SCORE_COLUMNS, *SAMPLE_COLUMNS)
    ]
    return ["model", "dataset", *extra]


def summarize(
    scores: pl.DataFrame, samples: pl.DataFrame, aggregators: list[str], *, seed: int = 0, n_boot: int = 1000
) -> pl.DataFrame:
    """Summary rows (model, dataset, [extra keys], metric, aggregator, group, value, ci_low, ci_high,
    n, higher_is_better) of score() rows joined to their samples' doc_class and question_type.

    Groups: general "", by_doc_class "<doc_class>", by_question_type "<question_type>",
    by_doc_question "<doc_class>/<question_type>", by_field "<field>" (metrics with field rows), by_subset
    "<subset>" (metrics with subset rows: a sample may be in several subsets).
    Only `general` has the group "": a sample with no label for an aggregator (no doc_class, or missing
    from `samples`) is in no group of it, so a dataset without document classes shows no by_doc_class
    rows rather than one unnamed group.
    """
    specs = [(a, *_AGGREGATORS.get(a)) for a in dict.fromkeys(aggregators)]
    for c in ("model", "dataset"):  # one model's one dataset may come without them
        if c not in scores.columns:
            scores = scores.with_columns(pl.lit("", pl.String).alias(c))
        if c not in samples.columns:
            samples = samples.with_columns(pl.lit("", pl.String).alias(c))
    keys = _keys(scores, samples)
    for c in ("field", "category", "subset"):
        if c not in scores.columns:
            scores = scores.with_columns(pl.lit(None, pl.String).alias(c))
    info = samples.select(*[c for c in (*keys, *SAMPLE_COLUMNS) if c in samples.columns])
    for c in SAMPLE_COLUMNS:
        if c not in info.columns:
            info = info.with_columns(pl.lit("", pl.String).alias(c))
    info = info.with_columns(pl.col(*keys, *SAMPLE_COLUMNS).cast(pl.String)).unique([*keys, "sample_id"])
    rows = (
        scores.with_columns(pl.col(*keys, "sample_id").cast(pl.String))
        .join(info, on=[*keys, "sample_id"], how="left", nulls_equal=True)
        .with_columns(pl.col("doc_class", "question_type").fill_null(""))
    )
    out = []
    for aggregator, kind, group in specs:
        part = rows.filter(
            pl.col("field").is_not_null()
            if kind == FIELD_ROWS
            else pl.col("subset").is_not_null()
            if kind == SUBSET_ROWS
            else pl.col("field").is_null() & pl.col("subset").is_null()
        )
        part = part.with_columns(group.fill_null("").alias("group"))
        if aggregator != "general":
            part = part.filter(pl.col("group") != "")
        for key, g in part.group_by([*keys, "metric", "group"], maintain_order=True):
            key = dict(zip([*keys, "metric", "group"], key))
            out.append(_summary_row(key, aggregator, g, seed, n_boot))
    schema = {**{k: pl.String for k in keys}, **SUMMARY_SCHEMA}
    result = pl.DataFrame(out, schema=schema, orient="row") if out else pl.DataFrame(schema=schema)
    order = {a: i for i, a in enumerate(dict.fromkeys(aggregators))}
    rank = pl.col("aggregator").replace_strict(order, return_dtype=pl.Int64).alias("_o")
    return (
        result.with_columns(rank)
        .sort([*keys, "metric", "_o", "group"], maintain_order=True)
        .drop("_o")
        .select(*keys, *[c for c in SUMMARY_SCHEMA if c not in keys])
    )


def _summary_row(key: dict, aggregator: str, rows: pl.DataFrame, seed: int, n_boot: int) -> dict:
    spec = get_metric(key["metric"])
    x, finish = bs.design(spec.aggregation, rows, finish=spec.finish)
    value = bs.point(spec.aggregation, x, finish)
    low, high = bs.interval(x, finish, value, bs.rng_for(seed, *key.values(), aggregator), n_boot)
    return {
        **key,
        "aggregator": aggregator,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "n": rows.height,
        "higher_is_better": spec.higher_is_better,
    }


@dataclass(frozen=True)
class PairedDifference:
    """Model A minus model B on the samples both have: value = aggregate(A) - aggregate(B)."""

    metric: str
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int
    value_a: float
    value_b: float
    higher_is_better: bool


def paired_difference(
    scores_a: pl.DataFrame, scores_b: pl.DataFrame, metric: str, *, seed: int = 0, n_boot: int = 1000
) -> PairedDifference:
    """The difference A - B of the metric's aggregate (the mean for per-sample metrics, corpus
    CER/WER, macro F1, corpus BLEU) over the samples both score, with a paired bootstrap CI:
    each resample draws the same samples for both models."""
    spec = get_metric(metric)
    on = [
        "sample_id",
        *[c for c in scores_a.columns if c in scores_b.columns and c not in ("model", *SCORE_COLUMNS)],
    ]

    def rows(scores: pl.DataFrame) -> pl.DataFrame:
        keep = pl.col("metric") == metric
        for column in ("field", "subset"):
            if column in scores.columns:
                keep &= pl.col(column).is_null()
        return scores.filter(keep).unique(on, keep="first", maintain_order=True)

    a = rows(scores_a)
    both = a.select(on).join(rows(scores_b).select(on), on=on, how="inner", nulls_equal=True)
    a = both.join(a, on=on, how="left", nulls_equal=True, maintain_order="left")
    b = both.join(rows(scores_b), on=on, how="left", nulls_equal=True, maintain_order="left")
    n = both.height
    if n == 0:
        raise MetricError(
            f"paired_difference: no sample has '{metric}' scores from both models "
            f"({scores_a.height} and {scores_b.height} score rows given)"
        )
    codes = None
    if spec.aggregation == "f1_macro":
        codes = bs.class_codes(*(t.get_column(c).to_list() for t in (a, b) for c in ("label", "pred_class")))
    if spec.aggregation == "category_mean":
        codes = bs.class_codes(*(t.get_column("category").fill_null("").to_list() for t in (a, b)))
    x_a, finish_a = bs.design(spec.aggregation, a, codes, spec.finish)
    x_b, finish_b = bs.design(spec.aggregation, b, codes, spec.finish)
    value_a = bs.point(spec.aggregation, x_a, finish_a)
    value_b = bs.point(spec.aggregation, x_b, finish_b)
    value = value_a - value_b
    d = x_a.shape[1]

    def finish(sums: np.ndarray) -> np.ndarray:  # one resample draws the same samples for A and B
        return finish_a(sums[:, :d]) - finish_b(sums[:, d:])

    rng = bs.rng_for(seed, metric, "paired")
    low, high = bs.interval(np.hstack([x_a, x_b]), finish, value, rng, n_boot)
    return PairedDifference(metric, value, low, high, n, value_a, value_b, spec.higher_is_better)

"""The metric registry: one `MetricSpec` per CSV name, registered with `@metric(...)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from vlmhb_core.registry import Registry

AGGREGATIONS = ("mean", "ratio", "f1_macro", "corpus_bleu", "category_mean", "parts")


@dataclass(frozen=True)
class MetricSpec:
    """A metric as the config names it.

    fn(table) returns one row per sample (columns sample_id, value and the extras the aggregation
    needs), and for some metrics extra rows with a `field`. `aggregation` is how `summarize`
    pools them: `mean` of value, `ratio` (sum num / sum den), `f1_macro`, `corpus_bleu`,
    `category_mean` (the mean over the `category` column's values of each one's sum num / sum den:
    olmOCR-bench's figure), `parts` (`finish` of the column sums of the rows' `parts` lists: a formula
    over pooled parts, such as OmniDocBench's overall). `columns` are the input columns fn needs
    besides sample_id.

    `scorer_env` names the scorer (vlmhyperbench.scorers) that computes the metric out of process, in
    its own environment; such a metric has no `fn` of its own here.
    """

    name: str
    higher_is_better: bool
    aggregation: str
    tasks: tuple[str, ...]
    fn: Callable[[pl.DataFrame], pl.DataFrame]
    columns: tuple[str, ...] = ("prediction", "references")
    description: str = ""
    scorer: str = ""
    """For a benchmark's official metric: the official scorer it follows (what summary rows name)."""
    version: str = ""
    """The version of this implementation of the scorer; it changes whenever a value could change."""
    scorer_env: str | None = None
    """The scorer (vlmhyperbench.scorers) whose own environment computes this metric out of process; None:
    computed here, by fn."""
    finish: Callable | None = None
    """aggregation `parts`: column sums (resamples x parts) -> the figure of each resample."""
    judge: str | None = None
    """`grade` or `extract`: a metric computed from the judges' verdicts (the column judge_grade, or
    judge_extraction), as a benchmark's official scorer computes its figure from its judge's answers
    (metrics._judged); None: a rule metric."""


def _judged(name: str) -> MetricSpec | None:
    """`judge_correct`, `judge_extract:METRIC`, `METRIC|judge[:T]`, built on first use (metrics._judged)."""
    from metrics._judged import judged_spec

    return judged_spec(name)


METRICS: Registry[MetricSpec] = Registry(
    "metrics",
    kind="metric",
    expects="decorate the function with @metrics.metric(name, ...)",
    accept=lambda obj: obj if isinstance(obj, MetricSpec) else None,
    describe=lambda spec: f"{'↑' if spec.higher_is_better else '↓'} {spec.description}".strip(),
    resolve=_judged,
)


def metric(
    name: str,
    *,
    higher_is_better: bool,
    aggregation: str = "mean",
    tasks: tuple[str, ...],
    columns: tuple[str, ...] = ("prediction", "references"),
    scorer: str = "",
    version: str = "",
    finish: Callable | None = None,
    judge: str | None = None,
):
    """Registers the decorated `fn(table) -> rows` as metric `name` (SCORER and VERSION: the official
    scorer a benchmark metric follows, and the version of this implementation of it; FINISH: the figure of
    the `parts` aggregation; JUDGE: the verdict a judged metric reads, `grade` or `extract`)."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation '{aggregation}' of metric '{name}' is not one of {AGGREGATIONS}")
    if judge not in (None, "grade", "extract"):
        raise ValueError(f"judge {judge!r} of metric '{name}' is not one of grade, extract")

    def register(fn: Callable[[pl.DataFrame], pl.DataFrame]):
        doc = (fn.__doc__ or "").strip().splitlines()
        METRICS.add(
            name,
            MetricSpec(
                name,
                higher_is_better,
                aggregation,
                tasks,
                fn,
                columns,
                doc[0] if doc else "",
                scorer,
                version,
                finish=finish,
                judge=judge,
            ),
        )
        return fn

    return register


def get_metric(name: str) -> MetricSpec:
    """The spec registered as `name`; `UnknownNameError` lists the known ones."""
    return METRICS.get(name)


def metric_names() -> list[str]:
    """Every registered metric name, sorted."""
    return METRICS.names()

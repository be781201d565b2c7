"""Metrics of VLMHyperBench: per-sample scores, summaries with bootstrap intervals, comparisons.

The flow calls `score(metric, table)` per metric, then `summarize(scores, samples, aggregators)`.
Metrics are registered in METRICS (vlmhyperbench.registry) by `@metric(...)`; a task's default
metrics belong to its task kind (vlmhyperbench.config.task_kinds). Definitions follow CONTRACT.md,
"Metric definitions"; anls, cer and wer are vectorised and equal, value for value, to the anls
package and jiwer 4. The official scorers of the standard benchmarks (docvqa_anls,
chartqa_relaxed_accuracy, vqa_accuracy, ocrbench_accuracy) follow each benchmark's official code; their
MetricSpec names that scorer and the version of its implementation.
"""

from metrics import (  # noqa: F401  (they register the metrics)
    _chartqa,
    _classification,
    _docvqa,
    _kie,
    _ocrbench,
    _ordering,
    _parse,
    _text,
    _textvqa,
)
from metrics._aggregate import PairedDifference, aggregator_names, paired_difference, summarize
from metrics._errors import MetricError, UnknownNameError
from metrics._registry import METRICS, MetricSpec, get_metric, metric, metric_names
from metrics._score import score

__all__ = [
    "METRICS",
    "MetricError",
    "MetricSpec",
    "PairedDifference",
    "UnknownNameError",
    "aggregator_names",
    "get_metric",
    "metric",
    "metric_names",
    "paired_difference",
    "score",
    "summarize",
]

"""Metrics of VLMHyperBench: per-sample scores, summaries with bootstrap intervals, comparisons.

The flow calls `score(metric, table)` per metric, then `summarize(scores, samples, aggregators)`.
Metrics are registered in METRICS (vlmhyperbench.registry) by `@metric(...)`; a task's default
metrics belong to its task kind (vlmhyperbench.config.task_kinds). Definitions follow CONTRACT.md,
"Metric definitions"; anls, cer and wer are vectorised and equal, value for value, to the anls
package and jiwer 4.
"""

from metrics import _classification, _kie, _ordering, _parse, _text  # noqa: F401  (they register the metrics)
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

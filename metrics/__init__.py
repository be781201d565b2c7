"""Metrics of VLMHyperBench: per-sample scores, summaries with bootstrap intervals, comparisons.

The flow calls `score(metric, table)` per metric, then `summarize(scores, samples, aggregators)`.
Metrics are registered in METRICS (vlmhb_core.registry) by `@metric(...)`; a task's default
metrics belong to its task kind (vlmhyperbench.config.task_kinds). Definitions follow
docs/reference/metrics.md; anls, cer and wer are vectorised and equal, value for value, to the anls
package and jiwer 4. The official scorers of the standard benchmarks (docvqa_anls,
chartqa_relaxed_accuracy, vqa_accuracy, ocrbench_accuracy) follow each benchmark's official code; their
MetricSpec names that scorer and the version of its implementation. Judged metrics (`judge_correct`,
`judge_extract:METRIC`, `METRIC|judge[:T]`, and the verdict metrics of judge-graded benchmarks:
mmlongbench_doc_acc/_f1, charxiv_reasoning/_descriptive) are functions over the judges' verdict columns; the
agreement of a judge with a rule or another judge is `agreement` (share agreeing, Cohen's kappa); reasoning
blocks (`<think>...</think>`) are removed from answers by `strip_reasoning` before any metric.
"""

from metrics import (  # noqa: F401  (they register the metrics)
    _ccocr,
    _chartqa,
    _charxiv,
    _classification,
    _docvqa,
    _kie,
    _mmlongbench,
    _ocrbench,
    _ordering,
    _parse,
    _text,
    _textvqa,
)
from metrics._aggregate import (
    SUMMARY_SCHEMA,
    PairedDifference,
    aggregator_names,
    paired_difference,
    summarize,
)
from metrics._agreement import Agreement, agreement
from metrics._bootstrap import percentile_interval
from metrics._errors import MetricError, UnknownNameError
from metrics._judged import (
    JUDGE_CORRECT,
    JUDGE_EXTRACTION,
    JUDGE_GRADE,
    JudgedMetric,
    is_judged,
    judged_metric,
    judged_spec,
    rule_passed,
    sample_rows,
    threshold_of,
)
from metrics._reasoning import REASONING_TAGS, parse_reasoning, strip_reasoning, strip_reasoning_expr
from metrics._registry import METRICS, MetricSpec, get_metric, metric, metric_names
from metrics._score import score
from metrics._unicode import normalize

METRICS.add(JUDGE_CORRECT, judged_spec(JUDGE_CORRECT))  # listed by --list; the other judged names are built

__all__ = [
    "JUDGE_CORRECT",
    "JUDGE_EXTRACTION",
    "JUDGE_GRADE",
    "METRICS",
    "REASONING_TAGS",
    "SUMMARY_SCHEMA",
    "Agreement",
    "JudgedMetric",
    "agreement",
    "is_judged",
    "judged_metric",
    "judged_spec",
    "parse_reasoning",
    "rule_passed",
    "sample_rows",
    "strip_reasoning",
    "strip_reasoning_expr",
    "threshold_of",
    "MetricError",
    "MetricSpec",
    "PairedDifference",
    "UnknownNameError",
    "aggregator_names",
    "get_metric",
    "metric",
    "metric_names",
    "normalize",
    "paired_difference",
    "percentile_interval",
    "score",
    "summarize",
]

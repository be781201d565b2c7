"""Judged metrics: scores that a judge model's verdicts decide, as functions over the score table.

    judge_correct          the judges' verdict: 1 when their majority says correct, 0 when incorrect
    judge_extract:METRIC   METRIC of the answer the judges extracted from the model's reply
    METRIC|judge[:T]       rules first: 1 where METRIC passes (value >= T; <= T when lower is better),
                           else the judges' verdict (EvalScope's "recall" strategy)
    a verdict metric       a registered metric whose spec names the verdict it reads (`judge`: grade or
                           extract): a benchmark's official figure computed from its judge's answers
                           (MMLongBench-Doc's rules over the extracted answer, CharXiv's grades)

T defaults to full marks: 1 for a metric where higher is better, 0 where lower is. The judging stage
(vlmhyperbench.judges) asks the judges and puts their verdicts into two columns of the table:
JUDGE_GRADE (Float64: 1 correct, 0 incorrect, null no verdict) and JUDGE_EXTRACTION (String; null no
verdict). A sample without a verdict (the judge's answer could not be parsed twice, its request failed,
the judges tied) has no row in a judged metric: it is left out, never counted as wrong. These names are
built on first use by METRICS (the registry's `resolve`), so summaries, comparisons and history read
them like any other metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import polars as pl

from metrics._errors import MetricError
from metrics._registry import MetricSpec, get_metric

JUDGE_GRADE = "judge_grade"
JUDGE_EXTRACTION = "judge_extraction"
JUDGE_CORRECT = "judge_correct"
EXTRACT_PREFIX = "judge_extract:"
RECALL_MARK = "|judge"
ALL_TASKS = ("ocr", "vqa", "classification", "kie", "ordering")

Mode = Literal["correct", "extract", "recall", "verdict"]


@dataclass(frozen=True)
class JudgedMetric:
    """A judged metric's name, read: its mode, the rule metric it builds on, and its threshold."""

    name: str
    mode: Mode
    base: str | None = None
    """The rule metric (extract, recall); None for judge_correct."""
    threshold: float | None = None
    """recall: the rule value from which the rule alone decides (None: full marks)."""
    verdict: str = "grade"
    """verdict: the verdict the metric reads (its spec's `judge`)."""

    @property
    def asks(self) -> str:
        """What the judges are asked: `grade` (correct or incorrect) or `extract` (the final answer)."""
        if self.mode == "verdict":
            return self.verdict
        return "extract" if self.mode == "extract" else "grade"


def _verdict_spec(name: str) -> MetricSpec | None:
    """The spec of a registered verdict metric NAME (one that reads the judges' verdicts), else None."""
    from metrics._registry import METRICS

    if not METRICS.is_registered(name):
        return None
    spec = METRICS.get(name)
    return spec if spec.judge else None


def is_judged(name: str) -> bool:
    """Whether NAME has the form of a judged metric (it may still be a wrong one), or is a verdict metric."""
    if name == JUDGE_CORRECT or name.startswith(EXTRACT_PREFIX) or "|" in name:
        return True
    return _verdict_spec(name) is not None


def judged_metric(name: str) -> JudgedMetric | None:
    """NAME read as a judged metric; None when it is not of that form. A wrong one (an unknown rule
    metric, a bad threshold) raises MetricError or UnknownNameError saying what is allowed."""
    if name == JUDGE_CORRECT:
        return JudgedMetric(name, "correct")
    spec = _verdict_spec(name)
    if spec is not None:
        return JudgedMetric(name, "verdict", verdict=spec.judge or "grade")
    if name.startswith(EXTRACT_PREFIX):
        base = name[len(EXTRACT_PREFIX) :]
        _check_base(name, base)
        return JudgedMetric(name, "extract", base)
    if "|" not in name:
        return None
    base, _, rest = name.partition("|")
    threshold = None
    if rest != "judge" and not rest.startswith("judge:"):
        raise MetricError(f"'{name}': write METRIC|judge or METRIC|judge:THRESHOLD (e.g. anls|judge:0.8)")
    rest = rest[len("judge") :]
    if rest:
        try:
            threshold = float(rest[1:])
        except ValueError:
            raise MetricError(f"'{name}': the threshold {rest[1:]!r} is not a number") from None
        if not math.isfinite(threshold):
            raise MetricError(f"'{name}': the threshold must be a finite number")
    _check_base(name, base)
    return JudgedMetric(name, "recall", base, threshold)


def _check_base(name: str, base: str) -> None:
    if not base:
        raise MetricError(f"'{name}' names no rule metric (e.g. judge_extract:anls, anls|judge)")
    if is_judged(base):
        raise MetricError(f"'{name}': the rule metric {base!r} cannot itself be a judged metric")
    get_metric(base)  # UnknownNameError with the close matches
    if is_judged(base):  # a plugin's verdict metric, known only once loaded
        raise MetricError(f"'{name}': the rule metric {base!r} cannot itself be a judged metric")


def threshold_of(judged: JudgedMetric | None, spec: MetricSpec) -> float:
    """The rule value from which the rule alone decides: the name's T, else full marks."""
    if judged is not None and judged.threshold is not None:
        return judged.threshold
    return 1.0 if spec.higher_is_better else 0.0


def rule_passed(value: pl.Expr, spec: MetricSpec, threshold: float) -> pl.Expr:
    """True where the rule metric's per-sample VALUE passes THRESHOLD (>= it, or <= it when lower is
    better); a null value does not pass. The judging stage asks the judges exactly where this is False."""
    passed = value >= threshold if spec.higher_is_better else value <= threshold
    return passed.fill_null(False)


def sample_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """A metric's per-sample rows (without the per-field rows of field_f1 and field_cer, nor the per-subset
    rows of a benchmark's breakdowns)."""
    for column in ("field", "subset"):
        if column in rows.columns:
            rows = rows.filter(pl.col(column).is_null())
    return rows


def _correct(table: pl.DataFrame) -> pl.DataFrame:
    judged = table.filter(pl.col(JUDGE_GRADE).is_not_null())
    return judged.select(
        pl.col("sample_id").cast(pl.String), pl.col(JUDGE_GRADE).cast(pl.Float64).alias("value")
    )


def _extract(base: MetricSpec):
    def fn(table: pl.DataFrame) -> pl.DataFrame:
        judged = table.filter(pl.col(JUDGE_EXTRACTION).is_not_null())
        if not judged.height:
            return pl.DataFrame(schema={"sample_id": pl.String, "value": pl.Float64})
        return base.fn(judged.with_columns(pl.col(JUDGE_EXTRACTION).alias("prediction")))

    return fn


def _recall(base: MetricSpec, judged: JudgedMetric):
    threshold = threshold_of(judged, base)

    def fn(table: pl.DataFrame) -> pl.DataFrame:
        rule = sample_rows(base.fn(table)).select(pl.col("sample_id").cast(pl.String), "value")
        grades = table.select(pl.col("sample_id").cast(pl.String), pl.col(JUDGE_GRADE).cast(pl.Float64))
        return (
            grades.join(rule, on="sample_id", how="left", maintain_order="left")
            .select(
                "sample_id",
                pl.when(rule_passed(pl.col("value"), base, threshold))
                .then(1.0)
                .otherwise(pl.col(JUDGE_GRADE))
                .alias("value"),
            )
            .filter(pl.col("value").is_not_null())
        )

    return fn


def judged_spec(name: str) -> MetricSpec | None:
    """The MetricSpec of a judged metric NAME (None when NAME is not of that form): METRICS' resolver."""
    judged = judged_metric(name)
    if judged is None:
        return None
    if judged.mode == "correct":
        return MetricSpec(
            name,
            True,
            "mean",
            ALL_TASKS,
            _correct,
            (JUDGE_GRADE,),
            "1 when the judges' majority says the answer is correct, else 0 (no verdict: left out)",
        )
    base = get_metric(judged.base)
    if judged.mode == "extract":
        return MetricSpec(
            name,
            base.higher_is_better,
            base.aggregation,
            base.tasks,
            _extract(base),
            (*base.columns, JUDGE_EXTRACTION),
            f"{base.name} of the answer the judges extracted from the reply",
        )
    return MetricSpec(
        name,
        True,
        "mean",
        base.tasks,
        _recall(base, judged),
        (*base.columns, JUDGE_GRADE),
        f"1 where {base.name} passes {threshold_of(judged, base):g}, else the judges' verdict",
    )

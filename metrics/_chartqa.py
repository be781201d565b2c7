"""`chartqa_relaxed_accuracy`: ChartQA's relaxed accuracy, as its reference implementation computes it
(pix2struct `metrics.relaxed_correctness`, which the ChartQA authors' follow-up work and lmms-eval use).

Per gold answer: when the prediction parses as a float and the gold answer parses as a non-zero float
(Python `float()`: surrounding whitespace, exponents, `inf`/`nan` and `_` between digits accepted; a text
ending in `%` is the number before the `%`s divided by 100), correct when |p - g| / |g| <= 0.05; otherwise
correct when `prediction.lower() == gold.lower()`, nothing stripped. The best over the gold answers.
"""

from __future__ import annotations

import polars as pl

from metrics._registry import metric
from metrics._table import predictions, references, rows

MAX_RELATIVE_CHANGE = 0.05
SCORER = "ChartQA relaxed accuracy (pix2struct relaxed_correctness, 5 % relative)"
VERSION = "1"


def to_float(text: str) -> float | None:
    """The reference `_to_float`: `float(text)`, a percentage as a fraction, None when it does not parse."""
    try:
        if text.endswith("%"):
            return float(text.rstrip("%")) / 100.0
        return float(text)
    except ValueError:
        return None


def relaxed_correctness(
    target: str, prediction: str, max_relative_change: float = MAX_RELATIVE_CHANGE
) -> bool:
    prediction_float = to_float(prediction)
    target_float = to_float(target)
    # `target_float` is truthy for nan as in the reference: nan never compares as close.
    if prediction_float is not None and target_float:
        return abs(prediction_float - target_float) / abs(target_float) <= max_relative_change
    return prediction.lower() == target.lower()


@metric("chartqa_relaxed_accuracy", higher_is_better=True, tasks=("vqa",), scorer=SCORER, version=VERSION)
def chartqa_relaxed_accuracy(table: pl.DataFrame) -> pl.DataFrame:
    """ChartQA relaxed accuracy as the reference code: 5 % on numbers, else case-insensitive equality."""
    value = [
        float(any(relaxed_correctness(t, p) for t in refs))
        for p, refs in zip(predictions(table).to_list(), references(table).to_list())
    ]
    return rows(table, value)

"""The answers as metrics and judges see them, from a pair's stored predictions.

One row per sample that was sent (a sample left out for a data reason, such as a missing image, is not
there); `prediction` is the model's answer with its reasoning blocks removed (metrics.strip_reasoning,
the dataset's `reasoning` rule), and "" for a request that failed (the model's failure scores as an
empty answer). The raw answer stays in the predictions file.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from metrics import REASONING_TAGS, strip_reasoning_expr
from vlmhyperbench.inference.performance import left_out_mask

__all__ = ["TASK_COLUMNS", "answer_table"]

TASK_COLUMNS = ("label", "classes", "fields", "order")
"""The task fields the metrics of classification, KIE and ordering read."""


def answer_table(
    predictions: pl.DataFrame, *, columns: Iterable[str] = (), reasoning: tuple[str, ...] = REASONING_TAGS
) -> pl.DataFrame:
    """sample_id, references, the task columns, then COLUMNS (those the predictions have), and the answer as
    `prediction`; REASONING: the tags removed (empty: the raw answer)."""
    predictions = predictions.filter(~left_out_mask(predictions))
    wanted = ["sample_id", "references", *TASK_COLUMNS, *columns]
    cols = [c for c in dict.fromkeys(wanted) if c in predictions.columns and c != "prediction"]
    answer = strip_reasoning_expr(pl.col("prediction").cast(pl.String).fill_null(""), reasoning)
    return predictions.select(*cols, answer.alias("prediction"))

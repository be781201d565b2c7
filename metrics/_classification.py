"""Classification metrics: the answer mapped to a class, then accuracy and macro F1."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from metrics._errors import MetricError
from metrics._registry import metric
from metrics._table import predictions, references, rows
from metrics._unicode import normalize


def map_to_class(answer: str, classes: list[str]) -> str | None:
    """The class the answer names: equal after normalisation (as for ANLS), else the only class
    whose normalised name occurs in the normalised answer as whole words; None otherwise."""
    by_name: dict[str, str] = {}
    for c in classes:
        by_name.setdefault(normalize(c), c)
    text = normalize(answer)
    if text in by_name:
        return by_name[text]
    found = [c for name, c in by_name.items() if name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text)]
    return found[0] if len(found) == 1 else None


def _labels(table: pl.DataFrame) -> list[str]:
    if "label" in table.columns:
        return table.get_column("label").cast(pl.String).fill_null("").to_list()
    if "references" not in table.columns:
        raise MetricError(
            "classification needs a 'label' column (or the label as first reference); "
            f"the table has {', '.join(table.columns)}"
        )
    return [refs[0] if refs else "" for refs in references(table).to_list()]


def _classes(table: pl.DataFrame, labels: list[str]) -> tuple[list[list[str]], list[str]]:
    """(each sample's classes, the dataset's classes in first-seen order).

    A sample without its own list uses the dataset's: every listed class and every label.
    """
    own = (
        table.get_column("classes").cast(pl.List(pl.String)).fill_null([]).to_list()
        if "classes" in table.columns
        else [[] for _ in labels]
    )
    dataset: dict[str, str] = {}
    for names, label in zip(own, labels):
        for c in [*names, label]:
            if c:
                dataset.setdefault(normalize(c), c)
    everything = list(dataset.values())
    return [names or everything for names in own], everything


def _mapped(table: pl.DataFrame) -> pl.DataFrame:
    labels = _labels(table)
    if not any(labels):
        raise MetricError(
            "classification needs a 'label' column (or the label as first reference); "
            f"the table has {', '.join(table.columns)}"
        )
    per_sample, dataset = _classes(table, labels)
    canonical = {normalize(c): c for c in reversed(dataset)}
    mapped = [map_to_class(p, cs) for p, cs in zip(predictions(table).to_list(), per_sample)]
    pred_class = [canonical.get(normalize(m), m) if m is not None else None for m in mapped]
    label = [canonical.get(normalize(x), x) for x in labels]
    value = [float(p is not None and p == y) for p, y in zip(pred_class, label)]
    return rows(
        table,
        value,
        pred_class=pl.Series(pred_class, dtype=pl.String),
        label=pl.Series(label, dtype=pl.String),
        n_classes=pl.Series([len(dataset)] * len(table), dtype=pl.Int64),
    )


@metric("accuracy", higher_is_better=True, tasks=("classification",), columns=("prediction",))
def accuracy(table: pl.DataFrame) -> pl.DataFrame:
    """1 if the answer maps to the sample's label (exact name, else the one whole-word match)."""
    return _mapped(table)


@metric(
    "f1_macro",
    higher_is_better=True,
    aggregation="f1_macro",
    tasks=("classification",),
    columns=("prediction",),
)
def f1_macro(table: pl.DataFrame) -> pl.DataFrame:
    """Macro F1 over the dataset's classes; per-sample value = correct (the F1 is computed in summarize)."""
    return _mapped(table)


def confusion_columns(pred: np.ndarray, label: np.ndarray, k: int) -> np.ndarray:
    """Per sample, indicator columns [predicted as c | labelled c | correct as c] for c in 0..k-1
    (codes 0..k-1, -1 = unmapped): summed over samples they give every class's F1 counts."""
    n = len(pred)
    x = np.zeros((n, 3 * k))
    rows = np.arange(n)
    mapped = pred >= 0
    x[rows[mapped], pred[mapped]] = 1
    x[rows, k + label] = 1
    hit = mapped & (pred == label)
    x[rows[hit], 2 * k + label[hit]] = 1
    return x


def macro_f1(sums: np.ndarray, k: int) -> np.ndarray:
    """Macro F1 from summed confusion_columns (one row per resample).

    Per class 2TP / (2TP + FP + FN) = 2 correct / (predicted + labelled), 0 for a class neither
    labelled nor predicted (sklearn's zero_division=0), averaged over all k classes of the dataset.
    """
    predicted, labelled, correct = sums[:, :k], sums[:, k : 2 * k], sums[:, 2 * k :]
    denominator = predicted + labelled
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(denominator > 0, 2 * correct / denominator, 0.0)
    return f1.sum(axis=1) / k

"""Page ordering: Kendall's tau of the answer's list of pages against the reference order."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl

from metrics._errors import MetricError
from metrics._registry import metric
from metrics._table import predictions, references, rows

_BRACKETED = re.compile(r"[\[(]\s*(\d+(?:\s*[,;]?\s*\d+)*)\s*[\])]")
_RUN = re.compile(r"\d+(?:\s*(?:[,;>]|->|→|\s)\s*\d+)*")


def first_int_list(text: str) -> list[int] | None:
    """The first list of integers in the answer: a bracketed one ('[2, 0, 1]') if any, else the
    first run of integers separated by commas, semicolons, arrows or spaces ('2, 0, 1'); ASCII digits."""
    found = _BRACKETED.search(text) or _RUN.search(text)
    if found is None:
        return None
    return [int(x) for x in re.findall(r"\d+", found.group(found.lastindex or 0))]


def kendall_tau(answer: list[int] | None, reference: list[int]) -> float:
    """Kendall's tau of the two lists taken as paired sequences (scipy.stats.kendalltau(answer,
    reference)); -1 when the answer is not a permutation of the reference's pages, 1 for one page."""
    if answer is None or sorted(answer) != sorted(reference) or len(set(reference)) != len(reference):
        return -1.0
    n = len(reference)
    if n < 2:
        return 1.0
    a, r = np.asarray(answer), np.asarray(reference)
    i, j = np.triu_indices(n, 1)
    s = np.sign(a[i] - a[j]) * np.sign(r[i] - r[j])
    return float((s > 0).sum() - (s < 0).sum()) / (n * (n - 1) / 2)


def _orders(table: pl.DataFrame) -> list[list[int]]:
    if "order" in table.columns:
        return [list(o or []) for o in table.get_column("order").cast(pl.List(pl.Int64)).to_list()]
    out = []
    for sid, refs in zip(table.get_column("sample_id").to_list(), references(table).to_list()):
        try:  # the order as first reference, e.g. "[2, 0, 1]"
            order = json.loads(refs[0]) if refs else None
        except json.JSONDecodeError:
            order = first_int_list(refs[0])
        if not isinstance(order, list) or not all(isinstance(x, int) for x in order):
            raise MetricError(
                f"sample '{sid}': ordering needs an 'order' column (list of int) or the "
                f"order as first reference; got {refs[:1]!r}"
            )
        out.append(order)
    return out


@metric("kendall_tau", higher_is_better=True, tasks=("ordering",), columns=("prediction",))
def kendall_tau_metric(table: pl.DataFrame) -> pl.DataFrame:
    """Kendall's tau of the answer's first list of integers against the order (-1: no permutation)."""
    value = [kendall_tau(first_int_list(p), o) for p, o in zip(predictions(table).to_list(), _orders(table))]
    return rows(table, value)

"""thresholds.csv (optional, in the config folder; `;` separated): regression thresholds per metric.

Columns: `metric` (a metric name or `*`), `threshold` (the largest tolerated drop, >= 0, in the metric's
own units, e.g. 0.02 of ANLS or of CER), `dataset` (optional: a dataset name, or empty / `*` for all).
Read and checked with the config; applied by history.regressions, where the most specific row wins.
"""

from __future__ import annotations

import math
from pathlib import Path

from vlmhyperbench.config.csv_rows import read_csv_rows

THRESHOLDS_FILE = "thresholds.csv"


def read_thresholds(path: Path) -> list[dict]:
    """The rows of a thresholds.csv ([] when there is none); ConfigError with FILE:LINE otherwise."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for row in read_csv_rows(
        path, required=["metric", "threshold"], known=["metric", "threshold", "dataset"]
    ):
        try:
            value = float(row.cells.get("threshold", ""))
        except ValueError:
            raise row.error("threshold", f"not a number: {row.cells.get('threshold', '')!r}") from None
        if not math.isfinite(value) or value < 0:
            raise row.error("threshold", f"must be a number >= 0, got {row.cells['threshold']!r}")
        metric = row.cells.get("metric", "*")
        dataset = row.cells.get("dataset", "*")
        out.append({"metric": metric, "dataset": dataset, "threshold": value})
    return out

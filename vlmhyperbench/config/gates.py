"""gates.csv: quality gates on a run's scores, read and checked with the config (history.gate_checks checks
them against a run).

gates.csv (optional, in the config folder; `;` separated, one gate a row):
    model          a model name, or `*` / empty for every model
    dataset        a dataset name, or `*` / empty for every dataset
    metric         a metric name (required)
    perturbation   empty: the unperturbed pairs only; `*`: every pair; or a spec exactly as in plan.csv
    min, max       the pair's general value must be >= min / <= max (in the metric's units)
    no_regression  `yes`: fail when the value got worse than in the previous run of the same results folder
                   beyond the confidence interval (vlmhyperbench.history: paired bootstrap over the samples
                   both runs scored, else the two runs' intervals); a number >= 0: fail when it got worse
                   by more than that; empty / `no`: no comparison
A row needs at least one of min, max, no_regression. Each row is checked against every planned pair it
matches whose metrics include its metric, one check per rule: `passed`, `failed`, or `unchecked` (the
pair failed or has no value for the metric, a run with failed pairs exits 1 already; or, for
no_regression, no earlier run of the pair has a value to compare with: "no earlier run of MODEL on
DATASET", no verdict either way). The run's exit code is 3 when a check failed
(docs/reference/exit-codes.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from vlmhb_core.errors import ConfigError
from vlmhyperbench.config.csv_rows import CsvRow

GATES_FILE = "gates.csv"
GATE_COLUMNS = ["model", "dataset", "metric", "perturbation", "min", "max", "no_regression"]
_YES, _NO = {"yes", "true", "y", "ci"}, {"no", "false", "n"}


@dataclass(frozen=True)
class GateRow:
    """One row of gates.csv."""

    file: str
    line: int
    model: str
    """A models.csv name, or `*`."""
    dataset: str
    """A datasets.csv name, or `*`."""
    metric: str
    """The metric checked (its general value)."""
    perturbation: str = ""
    """Only the pair run with this perturbation (empty: the clean pair)."""
    min: float | None = None
    """The value must be at least this."""
    max: float | None = None
    """The value must be at most this."""
    no_regression: str | float | None = None
    """`yes`: no drop beyond the 95 % interval against the previous run; a number: the largest tolerated
    drop. Empty: no comparison."""

    @property
    def where(self) -> str:
        return f"{Path(self.file).name}:{self.line}"

    def matches(self, model: str, dataset: str, perturbation: str) -> bool:
        return (
            self.model in ("*", model)
            and self.dataset in ("*", dataset)
            and (self.perturbation == "*" or self.perturbation == (perturbation or ""))
        )


def _number(row: CsvRow, column: str, errors: list[ConfigError]) -> float | None:
    text = row.cells.get(column)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors.append(row.error(column, f"{text!r} is not a number"))
        return None
    return value


def check_gates(
    rows: list[CsvRow], models: dict, datasets: dict, metric_names: list[str], errors: list[ConfigError]
) -> list[GateRow]:
    """gates.csv's rows, checked against the catalog's models, datasets and metrics; problems go to ERRORS
    as `FILE:LINE: column 'NAME': ...`."""
    out = []
    for row in rows:
        before = len(errors)
        cells = row.cells
        model, dataset = cells.get("model", "*"), cells.get("dataset", "*")
        metric, perturbation = cells.get("metric", ""), cells.get("perturbation", "")
        if model != "*" and model not in models:
            errors.append(row.unknown("model", "model", model, ["*", *sorted(models)]))
        if dataset != "*" and dataset not in datasets:
            errors.append(row.unknown("dataset", "dataset", dataset, ["*", *sorted(datasets)]))
        if metric not in metric_names:
            errors.append(row.unknown("metric", "metric", metric, metric_names))
        low, high = _number(row, "min", errors), _number(row, "max", errors)
        if low is not None and high is not None and low > high:
            errors.append(row.error("max", f"max {high:g} is below min {low:g}"))
        regression: str | float | None = None
        raw = cells.get("no_regression", "").lower()
        if raw in _YES:
            regression = "ci"
        elif raw and raw not in _NO:
            try:
                regression = float(raw)
            except ValueError:
                regression = math.nan
            if not math.isfinite(regression) or regression < 0:
                errors.append(
                    row.error(
                        "no_regression",
                        f"{cells['no_regression']!r} is neither yes/no nor a "
                        "number >= 0 (the largest tolerated drop)",
                        ["yes", "no", "a number >= 0"],
                    )
                )
        if low is None and high is None and regression is None and len(errors) == before:
            errors.append(row.error("min", "a gate needs at least one of min, max, no_regression"))
        if len(errors) == before:
            out.append(
                GateRow(str(row.file), row.line, model, dataset, metric, perturbation, low, high, regression)
            )
    return out

"""Quality gates: thresholds on a run's scores, read from the config's gates.csv and checked after the report.

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
pair failed or has no value for the metric; a run with failed pairs exits 1 already). The run's exit code
is 3 when a check failed (CONTRACT.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from .csvfile import CsvRow
from .errors import ConfigError

GATES_FILE = "gates.csv"
RESULT_FILE = "gates.json"
GATE_COLUMNS = ["model", "dataset", "metric", "perturbation", "min", "max", "no_regression"]
PASSED, FAILED, UNCHECKED = "passed", "failed", "unchecked"
_YES, _NO = {"yes", "true", "y", "ci"}, {"no", "false", "n"}


@dataclass(frozen=True)
class GateRow:
    """One row of gates.csv."""

    file: str
    line: int
    model: str
    dataset: str
    metric: str
    perturbation: str = ""
    min: float | None = None
    max: float | None = None
    no_regression: str | float | None = None
    """None: no comparison; "ci": beyond the confidence interval; a number: the largest tolerated drop."""

    @property
    def where(self) -> str:
        return f"{Path(self.file).name}:{self.line}"

    def matches(self, model: str, dataset: str, perturbation: str) -> bool:
        return (
            self.model in ("*", model)
            and self.dataset in ("*", dataset)
            and (self.perturbation == "*" or self.perturbation == (perturbation or ""))
        )


@dataclass(frozen=True)
class GateCheck:
    """One rule of one gate row on one pair."""

    gate: str
    """FILE:LINE of the row."""
    model: str
    dataset: str
    perturbation: str
    metric: str
    rule: str
    """`min`, `max` or `no_regression`."""
    limit: str
    """The bound as written: `>= 0.9`, `<= 0.1`, `no drop beyond the 95 % CI`, `drop <= 0.02`."""
    status: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    previous_value: float | None = None
    previous_run: str | None = None
    reason: str = ""


@dataclass
class GateReport:
    """Every check of a run, in gates.csv order."""

    checks: list[GateCheck] = field(default_factory=list)
    configured: bool = False
    """False when the config has no gates.csv (nothing was checked, nothing is written)."""

    @property
    def failed(self) -> list[GateCheck]:
        return [c for c in self.checks if c.status == FAILED]

    @property
    def unchecked(self) -> list[GateCheck]:
        return [c for c in self.checks if c.status == UNCHECKED]

    @property
    def status(self) -> str:
        """`failed` if any check failed, else `unchecked` if any could not be made, else `passed`."""
        return FAILED if self.failed else UNCHECKED if self.unchecked else PASSED

    def to_dict(self) -> dict:
        counts = {s: sum(c.status == s for c in self.checks) for s in (PASSED, FAILED, UNCHECKED)}
        return {"status": self.status, "counts": counts, "checks": [asdict(c) for c in self.checks]}


# ---------------------------------------------------------------- reading gates.csv


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
            errors.append(row.error("model", f"unknown model {model!r}", ["*", *sorted(models)]))
        if dataset != "*" and dataset not in datasets:
            errors.append(row.error("dataset", f"unknown dataset {dataset!r}", ["*", *sorted(datasets)]))
        if metric not in metric_names:
            errors.append(row.error("metric", f"unknown metric {metric!r}", metric_names))
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


# ---------------------------------------------------------------- checking a run


@dataclass(frozen=True)
class PlannedPair:
    """What the gates need to know of one planned pair."""

    model: str
    dataset: str
    perturbation: str
    metrics: tuple[str, ...] | None
    """The pair's metrics (None: unknown, every gate metric applies)."""
    status: str


def evaluate_gates(
    gates: list[GateRow],
    run_root: Path,
    pairs: list[PlannedPair],
    *,
    results_dir: Path | None = None,
    started_at: str | None = None,
) -> GateReport:
    """Checks GATES against the run in RUN_ROOT (its summary.parquet and scores.parquet, as the report wrote
    them); `no_regression` compares with the previous run under RESULTS_DIR (default: RUN_ROOT's folder)."""
    run_root = Path(run_root)
    summary = _general(run_root / "summary.parquet")
    values = {
        (r["model"], r["dataset"], r["perturbation"], r["metric"]): r for r in summary.iter_rows(named=True)
    }
    history = (
        _History(run_root, summary, results_dir, started_at)
        if any(g.no_regression is not None for g in gates)
        else None
    )
    checks = []
    for gate in gates:
        for pair in pairs:
            if not gate.matches(pair.model, pair.dataset, pair.perturbation):
                continue
            if pair.metrics is not None and gate.metric not in pair.metrics:
                continue
            rec = values.get((pair.model, pair.dataset, pair.perturbation, gate.metric))
            checks += _check(gate, pair, rec, history)
    return GateReport(checks=checks, configured=True)


def _general(path: Path) -> pl.DataFrame:
    if not path.is_file():
        return pl.DataFrame(
            schema={
                "model": pl.String,
                "dataset": pl.String,
                "perturbation": pl.String,
                "metric": pl.String,
                "aggregator": pl.String,
                "group": pl.String,
                "value": pl.Float64,
                "ci_low": pl.Float64,
                "ci_high": pl.Float64,
                "n": pl.Int64,
                "higher_is_better": pl.Boolean,
            }
        )
    df = pl.read_parquet(path)
    if "perturbation" not in df.columns:
        df = df.with_columns(pl.lit("", pl.String).alias("perturbation"))
    return df.filter(
        (pl.col("aggregator") == "general") & (pl.col("group").fill_null("") == "")
    ).with_columns(pl.col("perturbation").fill_null(""))


def _check(gate: GateRow, pair: PlannedPair, rec: dict | None, history: _History | None) -> list[GateCheck]:
    rules = [
        (rule, limit)
        for rule, limit in (
            ("min", None if gate.min is None else f">= {gate.min:g}"),
            ("max", None if gate.max is None else f"<= {gate.max:g}"),
            (
                "no_regression",
                None
                if gate.no_regression is None
                else (
                    "no drop beyond the 95 % CI"
                    if isinstance(gate.no_regression, str)
                    else f"drop <= {gate.no_regression:g}"
                ),
            ),
        )
        if limit is not None
    ]
    base = dict(
        gate=gate.where,
        model=pair.model,
        dataset=pair.dataset,
        perturbation=pair.perturbation,
        metric=gate.metric,
    )
    value = None if rec is None else rec["value"]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        why = (
            f"the pair {pair.status}"
            if pair.status != "completed"
            else "the pair has no value for the metric"
        )
        return [
            GateCheck(**base, rule=rule, limit=limit, status=UNCHECKED, reason=why) for rule, limit in rules
        ]
    ci = dict(value=value, ci_low=rec.get("ci_low"), ci_high=rec.get("ci_high"))
    out = []
    for rule, limit in rules:
        if rule == "min":
            ok = value >= gate.min
            out.append(
                GateCheck(
                    **base,
                    rule=rule,
                    limit=limit,
                    status=PASSED if ok else FAILED,
                    **ci,
                    reason="" if ok else f"{value:.4f} is below the minimum {gate.min:g}",
                )
            )
        elif rule == "max":
            ok = value <= gate.max
            out.append(
                GateCheck(
                    **base,
                    rule=rule,
                    limit=limit,
                    status=PASSED if ok else FAILED,
                    **ci,
                    reason="" if ok else f"{value:.4f} is above the maximum {gate.max:g}",
                )
            )
        else:
            out.append(history.check(gate, pair, rec, base, limit, ci))
    return out


class _History:
    """The previous run's values, and the regressions beyond the confidence interval (computed once)."""

    def __init__(
        self, run_root: Path, summary: pl.DataFrame, results_dir: Path | None, started_at: str | None
    ):
        from .history import find_regressions, previous_values

        self.results_dir = Path(results_dir) if results_dir is not None else run_root.parent
        previous = previous_values(self.results_dir, run_root.name, started_at)
        self.previous = (
            {
                (r["model"], r["dataset"], r["perturbation"], r["metric"]): r
                for r in previous.iter_rows(named=True)
            }
            if previous.height
            else {}
        )
        scores_path = run_root / "scores.parquet"
        scores = pl.read_parquet(scores_path) if scores_path.is_file() else None
        full = (
            pl.read_parquet(run_root / "summary.parquet")
            if (run_root / "summary.parquet").is_file()
            else summary
        )
        found = (
            find_regressions(
                run_root,
                full,
                scores,
                results_dir=self.results_dir,
                thresholds=[],
                default=None,
                started_at=started_at,
            )
            if self.previous
            else []
        )
        self.regressions = {(g.model, g.dataset, g.perturbation, g.metric): g for g in found}

    def check(
        self, gate: GateRow, pair: PlannedPair, rec: dict, base: dict, limit: str, ci: dict
    ) -> GateCheck:
        key = (pair.model, pair.dataset, pair.perturbation, gate.metric)
        prev = self.previous.get(key)
        if prev is None or prev["value"] is None:
            return GateCheck(
                **base,
                rule="no_regression",
                limit=limit,
                status=PASSED,
                **ci,
                reason="no earlier run to compare with",
            )
        hib = bool(rec["higher_is_better"])
        drop = (prev["value"] - rec["value"]) if hib else (rec["value"] - prev["value"])
        extra = dict(previous_value=prev["value"], previous_run=prev["run_id"])
        if isinstance(gate.no_regression, str):
            g = self.regressions.get(key)
            if g is None:
                return GateCheck(**base, rule="no_regression", limit=limit, status=PASSED, **ci, **extra)
            why = f"worse by {g.drop:.4f} than run {g.previous_run} ({g.previous_value:.4f}); " + (
                f"the 95 % CI of the drop over {g.n} paired samples "
                f"[{g.drop_ci_low:.4f}, {g.drop_ci_high:.4f}] is above 0"
                if g.rule == "ci"
                else "beyond both runs' 95 % intervals"
            )
            return GateCheck(
                **base, rule="no_regression", limit=limit, status=FAILED, **ci, **extra, reason=why
            )
        ok = drop <= gate.no_regression
        return GateCheck(
            **base,
            rule="no_regression",
            limit=limit,
            status=PASSED if ok else FAILED,
            **ci,
            **extra,
            reason=""
            if ok
            else f"worse by {drop:.4f} than run {prev['run_id']} ({prev['value']:.4f}), "
            f"more than {gate.no_regression:g}",
        )


# ---------------------------------------------------------------- showing the result


def write_result(report: GateReport, run_root: Path) -> Path:
    """gates.json in the run folder."""
    from .results import atomic_write_text

    path = Path(run_root) / RESULT_FILE
    atomic_write_text(path, json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    return path


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"


def table_rows(report: GateReport) -> list[dict]:
    """One flat row per check (failed first): the Prefect table artifact and the terminal table."""
    order = {FAILED: 0, UNCHECKED: 1, PASSED: 2}
    rows = []
    for c in sorted(report.checks, key=lambda c: order[c.status]):
        rows.append(
            {
                "status": c.status.upper(),
                "gate": c.gate,
                "model": c.model,
                "dataset": c.dataset + (f" ~{c.perturbation}" if c.perturbation else ""),
                "metric": c.metric,
                "rule": c.limit,
                "value": _fmt(c.value),
                "previous": ""
                if c.previous_value is None
                else f"{_fmt(c.previous_value)} ({c.previous_run})",
                "reason": c.reason,
            }
        )
    return rows


def print_gates(report: GateReport, console=None) -> None:
    """The checks as a rich table in the terminal, failed ones first and in red."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    if not report.checks:
        console.print("quality gates: no gate applies to the pairs of this run")
        return
    counts = report.to_dict()["counts"]
    colour = {"FAILED": "bold red", "UNCHECKED": "yellow", "PASSED": "green"}
    table = Table(
        title=f"Quality gates: {counts[FAILED]} failed, {counts[UNCHECKED]} unchecked, "
        f"{counts[PASSED]} passed",
        title_justify="left",
    )
    rows = table_rows(report)
    for column in rows[0]:
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(*(escape(str(v)) for v in r.values()), style=colour[r["status"]])
    console.print(table)

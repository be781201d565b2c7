"""Quality gates checked against a run after its report: each gates.csv row (its columns and rules:
vlmhyperbench.config.gates, which reads it) against the run's general values and the previous run."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from vlmhb_core.console import print_table
from vlmhyperbench.config.gates import GateRow
from vlmhyperbench.results.run_folder import GATES, SCORES, SUMMARY, RunFolder
from vlmhyperbench.results.tables import SUMMARY_SCHEMA

PASSED, FAILED, UNCHECKED = "passed", "failed", "unchecked"


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
    summary = _general(RunFolder(run_root).table(SUMMARY))
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
        return pl.DataFrame(schema=SUMMARY_SCHEMA)
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
            else (rec or {}).get("note") or "the pair has no value for the metric"
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
        from vlmhyperbench.history.regressions import find_regressions, previous_values

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
        run = RunFolder(run_root)
        scores = pl.read_parquet(run.table(SCORES)) if run.table(SCORES).is_file() else None
        full = pl.read_parquet(run.table(SUMMARY)) if run.table(SUMMARY).is_file() else summary
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
        if prev is None or prev["value"] is None:  # nothing to compare with: no verdict, not a pass
            where = f"{pair.model} on {pair.dataset}" + (
                f" ~{pair.perturbation}" if pair.perturbation else ""
            )
            earlier = any(k[:3] == key[:3] for k in self.previous)
            return GateCheck(
                **base,
                rule="no_regression",
                limit=limit,
                status=UNCHECKED,
                **ci,
                reason=f"no earlier value of {gate.metric} for {where}"
                if earlier
                else f"no earlier run of {where}",
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
    run = RunFolder(Path(run_root))
    run.write_json(GATES, report.to_dict())
    return run.file(GATES)


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
    """The checks as a table in the terminal (plain text in a log), failed ones first and in red."""
    from rich.console import Console

    console = console or Console()
    if not report.checks:
        console.print("quality gates: no gate applies to the pairs of this run")
        return
    counts = report.to_dict()["counts"]
    colour = {"FAILED": "bold red", "UNCHECKED": "yellow", "PASSED": "green"}
    rows = table_rows(report)
    print_table(
        list(rows[0]),
        [list(r.values()) for r in rows],
        title=f"Quality gates: {counts[FAILED]} failed, {counts[UNCHECKED]} unchecked, "
        f"{counts[PASSED]} passed",
        fold=("reason", "model", "dataset"),
        styles=[colour[r["status"]] for r in rows],
        console=console,
    )

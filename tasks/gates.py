"""quality_gates: the config's gates.csv checked against the run's summary, after the report."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from vlmhyperbench.config import GateRow, Pair
from vlmhyperbench.history.gate_checks import (
    GateReport,
    PlannedPair,
    evaluate_gates,
    print_gates,
    table_rows,
    write_result,
)
from vlmhyperbench.results import Manifest, RunFolder


def planned_pairs(pairs: list[Pair], manifest: Manifest) -> list[PlannedPair]:
    """The run's pairs with their metrics and status (from the manifest)."""
    # a load curve's levels after the first share the pair's quality: the gates judge the pair once
    status = {p.key.as_tuple(): p.status for p in manifest.pairs if not p.key.is_level}
    out = []
    for p in (p for p in pairs if not p.is_level):
        try:
            names: tuple[str, ...] | None = tuple(p.metric_names())
        except Exception:  # a plugin task that cannot be used: its pair failed; every gate metric applies
            names = None
        key = p.key.as_tuple()
        out.append(PlannedPair(*key, metrics=names, status=status.get(key, "unknown")))
    return out


def publish_gates(report: GateReport, run: RunFolder) -> None:
    """The checks as the Prefect table artifact `quality-gates`."""
    from prefect.artifacts import create_table_artifact

    counts = report.to_dict()["counts"]
    create_table_artifact(
        table=table_rows(report) or [{"status": "no gate applies to this run's pairs"}],
        key="quality-gates",
        description=f"Quality gates of run {run.run_id}: {report.status} ({counts['failed']} "
        f"failed, {counts['unchecked']} unchecked, {counts['passed']} passed)",
    )


@task(name="quality-gates", cache_policy=NO_CACHE)
def quality_gates(run: RunFolder, gates: list[GateRow], pairs: list[Pair], manifest: Manifest) -> GateReport:
    """Checks GATES against the run: writes gates.json, prints the table, publishes `quality-gates`."""
    if not gates:
        return GateReport()
    report = evaluate_gates(gates, run.root, planned_pairs(pairs, manifest), started_at=manifest.started_at)
    write_result(report, run.root)
    print_gates(report)
    publish_gates(report, run)
    return report

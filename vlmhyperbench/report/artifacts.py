"""The run as Prefect artifacts: the leaderboard table, a markdown summary (best model per dataset,
regressions, failures), and a link to report.html."""

from __future__ import annotations

from vlmhyperbench.report.claims import Entry, standout
from vlmhyperbench.report.leaderboard import metric_cell, ranked
from vlmhyperbench.report.write import _md
from vlmhyperbench.results.records import Manifest
from vlmhyperbench.results.run_folder import REPORT, RunFolder

LATENCY_INTERVAL = ("latency_p50_ci_low_s", "latency_p50_ci_high_s")
LISTED = 20
"""Regressions and failures listed by name in the summary artifact; the rest are counted."""


def summary_markdown(rows: list[dict], run: RunFolder, manifest: Manifest | None = None) -> str:
    """The run in a few lines: best model per dataset, regressions, failures, where the report is."""
    status = manifest.status if manifest is not None else ""
    lines = [f"# VLMHyperBench run {run.run_id}" + (f" ({status})" if status else ""), ""]
    completed = [r for r in rows if r["status"] == "completed"]
    lines += ["## Best model per dataset (named only where the 95 % intervals separate)", ""]
    best_lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in completed if not r["perturbation"]):
        group = [r for r in completed if r["dataset"] == dataset and not r["perturbation"] and r["metrics"]]
        names = list(dict.fromkeys(m for r in group for m in r["metrics"]))
        main = group[0].get("main_metric") if group else None
        if main in names:  # the dataset's main metric first
            names.remove(main)
            names.insert(0, main)
        for metric in names[:3]:
            have = [r for r in group if metric in r["metrics"] and r["metrics"][metric]["value"] is not None]
            if not have:
                continue
            hib = bool(have[0]["metrics"][metric]["higher_is_better"])
            quality = standout(
                [
                    Entry(r["model"], *(r["metrics"][metric].get(k) for k in ("value", "ci_low", "ci_high")))
                    for r in have
                ],
                higher_is_better=hib,
            )
            if quality.leader is not None:
                best = next(r for r in have if r["model"] == quality.leader.name)
                said = f"**{_md(best['model'])}** {metric_cell(best['metrics'][metric])}"
            elif len(have) == 1:
                said = f"{_md(have[0]['model'])} {metric_cell(have[0]['metrics'][metric])} (the only model)"
            else:
                said = _md(quality.text("best"))
            fast = [r for r in group if r["perf"].get("latency_p50_s") is not None]
            speed = standout(
                [
                    Entry(r["model"], *(r["perf"].get(k) for k in ("latency_p50_s", *LATENCY_INTERVAL)))
                    for r in fast
                ],
                higher_is_better=False,
            )
            speed_text = speed.text("fastest", " s p50") if metric == names[0] else ""
            best_lines.append(
                f"- **{_md(dataset)}** · {_md(metric)} {'↑' if hib else '↓'}: {said}"
                + (f"; speed: {_md(speed_text)}" if speed_text else "")
            )
    lines += best_lines or ["- no completed pair"]
    found = [g for r in rows for g in r.get("regressions", [])]
    lines += ["", f"## Regressions ({len(found)})", ""]
    lines += [f"- ▼ {_md(g.describe())}" for g in found[:LISTED]]
    if len(found) > LISTED:
        lines.append(f"- … and {len(found) - LISTED} more: see the report")
    lines += _not_regressed(rows, bool(found))
    failed = [r for r in rows if r["status"] != "completed"]
    lines += ["", f"## Failures ({len(failed)})", ""]
    for r in failed[:LISTED]:
        reason = (r["error"] or "").strip().splitlines()
        pert = f" ~{r['perturbation']}" if r["perturbation"] else ""
        why = _md(reason[0][:300]) if reason else r["status"]
        lines.append(f"- {_md(r['model'])} / {_md(r['dataset'])}{_md(pert)}: {why}")
    if len(failed) > LISTED:
        lines.append(f"- … and {len(failed) - LISTED} more: see the report")
    if not failed:
        lines.append("- none: every pair completed")
    lines += ["", f"Report: `{(run.root / 'report.html').resolve()}`"]
    return "\n".join(lines) + "\n"


def _not_regressed(rows: list[dict], found: bool) -> list[str]:
    """What the summary says besides the regressions: no regression against which run, and each completed
    pair that had no earlier run (never "no regression" for it)."""
    done = [r for r in rows if r["status"] == "completed"]
    runs = sorted({run for r in done for run in r.get("compared_with", [])})
    lines = []
    if runs and not found:
        lines.append(f"- none against {'run' if len(runs) == 1 else 'runs'} {', '.join(runs)}")
    fresh = [r for r in done if not r.get("compared_with")]
    for r in fresh[:LISTED]:
        pert = f" ~{r['perturbation']}" if r["perturbation"] else ""
        lines.append(f"- no earlier run of {_md(r['model'])} on {_md(r['dataset'])}{_md(pert)}")
    if len(fresh) > LISTED:
        lines.append(f"- … and {len(fresh) - LISTED} more pairs without an earlier run")
    return lines or ["- nothing compared"]


def publish_artifacts(rows: list[dict], run: RunFolder, manifest: Manifest | None = None) -> None:
    """The leaderboard as a Prefect table artifact, a markdown summary (best model per dataset, regressions,
    failures), and a link to the report."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    table = []
    by_dataset: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by_dataset.setdefault((r["dataset"], r["perturbation"]), []).append(r)
    for r in (r for group in by_dataset.values() for r in ranked(group)):
        entry = {
            "dataset": r["dataset"] + (f" ~{r['perturbation']}" if r["perturbation"] else ""),
            "model": r["model"],
            "status": r["status"],
        }
        entry.update({m: metric_cell(rec) for m, rec in r["metrics"].items()})
        for col in ("ttft_p50_s", "latency_p50_s", "requests_per_s", "peak_rss_mb"):
            value = r["perf"].get(col)
            entry[col] = round(value, 4) if isinstance(value, float) else value
        if r.get("regressions"):
            entry["regressions"] = ", ".join(f"{g.metric} -{g.drop:.4f}" for g in r["regressions"])
        if r["status"] != "completed":
            entry["error"] = (r["error"] or "")[:300]
        table.append(entry)
    create_table_artifact(
        table=table, key="leaderboard", description=f"VLMHyperBench leaderboard, run {run.run_id}"
    )
    create_markdown_artifact(
        markdown=summary_markdown(rows, run, manifest),
        key="summary",
        description=f"VLMHyperBench run {run.run_id}: best models, regressions, failures",
    )
    create_link_artifact(
        link=run.file(REPORT).resolve().as_uri(),
        link_text=f"report of {run.run_id}",
        key="report",
        description="The run's self-contained HTML report",
    )

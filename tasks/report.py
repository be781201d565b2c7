"""report: the run's result files (CONTRACT.md "Results"), the comparison with earlier runs, the leaderboard,
and Prefect artifacts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from vlmhyperbench.errors import ConfigError
from vlmhyperbench.history import (
    REGRESSIONS_FILE,
    Regression,
    default_threshold,
    find_regressions,
    regressions_frame,
    run_thresholds,
)
from vlmhyperbench.leaderboard import leaderboard_rows, metric_cell, print_leaderboard, to_markdown
from vlmhyperbench.results import RunFolder, atomic_write_text

PERFORMANCE_COLUMNS = [
    "model",
    "dataset",
    "perturbation",
    "requests",
    "errors",
    "concurrency",
    "ttft_p50_s",
    "ttft_p90_s",
    "ttft_p99_s",
    "tpot_p50_s",
    "itl_p50_s",
    "latency_p50_s",
    "latency_p90_s",
    "latency_p99_s",
    "requests_per_s",
    "output_tokens_per_s",
    "peak_rss_mb",
    "peak_gpu_mb",
    "env_build_s",
    "server_start_s",
]
SUMMARY_COLUMNS = [
    "model",
    "dataset",
    "perturbation",
    "metric",
    "aggregator",
    "group",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "higher_is_better",
]
SCORE_COLUMNS = ["model", "dataset", "perturbation", "sample_id", "metric", "value"]


def _write_table(df: pl.DataFrame, run: RunFolder, stem: str, csv: bool) -> None:
    path = run.root / f"{stem}.parquet"
    tmp = path.with_name(f".{path.name}.tmp")
    df.write_parquet(tmp)
    tmp.replace(path)
    if csv:
        flat = df.select(
            [pl.col(c).cast(pl.String) if df.schema[c] == pl.List else pl.col(c) for c in df.columns]
        )
        atomic_write_text(run.root / f"{stem}.csv", flat.write_csv(separator=";"))


def _frame(parts: list[pl.DataFrame], columns: list[str], schema: dict | None = None) -> pl.DataFrame:
    parts = [p for p in parts if p is not None and p.height]
    if not parts:
        return pl.DataFrame(schema=schema or {c: pl.String for c in columns})
    df = pl.concat(parts, how="diagonal_relaxed")
    front = [c for c in columns if c in df.columns]
    return df.select(*front, pl.exclude(front))


PERF_SCHEMA = {
    c: (pl.String if c in ("model", "dataset", "perturbation") else pl.Float64) for c in PERFORMANCE_COLUMNS
}
SUMMARY_SCHEMA = {
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
SCORES_SCHEMA = {
    "model": pl.String,
    "dataset": pl.String,
    "perturbation": pl.String,
    "sample_id": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
}


def compare_with_history(
    run: RunFolder,
    manifest: dict,
    summary_df: pl.DataFrame,
    scores_df: pl.DataFrame,
    results_dir: Path | None = None,
) -> list[Regression]:
    """This run's regressions against the previous run of each (model, dataset, perturbation, metric), under
    RESULTS_DIR (default: the folder the run is in); also written to regressions.csv."""
    try:
        thresholds, default = run_thresholds(run.root, manifest), default_threshold()
    except ConfigError as exc:  # the run is over: compare by the intervals rather than lose the report
        get_logger().warning("regression thresholds ignored: %s", exc)
        thresholds, default = [], None
    found = find_regressions(
        run.root,
        summary_df,
        scores_df,
        results_dir=results_dir,
        thresholds=thresholds,
        default=default,
        started_at=manifest.get("started_at"),
    )
    atomic_write_text(run.root / REGRESSIONS_FILE, regressions_frame(found).write_csv(separator=";"))
    return found


def write_report(
    run: RunFolder,
    manifest: dict,
    scores: list[pl.DataFrame],
    summaries: list[pl.DataFrame],
    performance: list[dict],
    *,
    print_table: bool = True,
    compare: bool = True,
    results_dir: Path | None = None,
) -> list[dict]:
    """Writes scores, summary, performance, regressions.csv, leaderboard.md and report.html; returns the
    leaderboard rows (each with the pair's `regressions`, history.Regression against the previous run, and its
    dataset's `main_metric`)."""
    perf_df = _frame([pl.DataFrame([p]) for p in performance], PERFORMANCE_COLUMNS, PERF_SCHEMA)
    summary_df = _frame(summaries, SUMMARY_COLUMNS, SUMMARY_SCHEMA)
    scores_df = _frame(scores, SCORE_COLUMNS, SCORES_SCHEMA)
    _write_table(scores_df, run, "scores", csv=False)
    _write_table(summary_df, run, "summary", csv=True)
    _write_table(perf_df, run, "performance", csv=True)
    rows = leaderboard_rows(summary_df, perf_df, manifest["pairs"])
    found: list[Regression] = []
    if compare:
        try:
            found = compare_with_history(run, manifest, summary_df, scores_df, results_dir)
        except Exception as exc:  # a broken older run must not cost this run its report
            get_logger().warning("comparison with earlier runs failed: %s: %s", type(exc).__name__, exc)
    from vlmhyperbench.report_data import dataset_rows, primary_metrics

    main = primary_metrics(summary_df, dataset_rows(run, manifest))
    for row in rows:
        row["regressions"] = [
            g
            for g in found
            if (g.model, g.dataset, g.perturbation) == (row["model"], row["dataset"], row["perturbation"])
        ]
        row["main_metric"] = main.get(row["dataset"], (None, True))[0]
    atomic_write_text(
        run.root / "leaderboard.md", to_markdown(rows, run.run_id) + _regressions_markdown(found)
    )
    from vlmhyperbench.html_report import render_fallback, render_report

    try:
        html = render_report(run, manifest, rows, summary_df, perf_df, scores=scores_df, regressions=found)
    except Exception as exc:  # the run's results stand: a page with the leaderboard and the error instead
        get_logger().error(
            "report.html: full report failed (%s: %s); writing the plain one", type(exc).__name__, exc
        )
        html = render_fallback(run, manifest, to_markdown(rows, run.run_id), exc)
    atomic_write_text(run.root / "report.html", html)
    if print_table:
        print_leaderboard(rows, run.run_id)
        print_regressions(found)
    return rows


def get_logger():
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # outside a flow (tests, scripts)
        import logging

        return logging.getLogger("vlmhyperbench.report")


def print_regressions(found: list[Regression], console=None) -> None:
    """The regressions against the previous run, in the terminal."""
    from rich.console import Console
    from rich.markup import escape

    console = console or Console()
    if not found:
        console.print("[green]no regression against the previous run[/]")
        return
    console.print(
        f"[bold red]{len(found)} regression{'s' if len(found) != 1 else ''} against the previous run:[/]"
    )
    for g in found:
        console.print(f"[red]▼[/] {escape(g.describe())}", highlight=False)


def _regressions_markdown(found: list[Regression]) -> str:
    if not found:
        return ""
    lines = ["", "## Regressions against the previous run", ""]
    lines += [f"- {_md(g.describe())}" for g in found]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def summary_markdown(rows: list[dict], run: RunFolder, manifest: dict | None = None) -> str:
    """The run in a few lines: best model per dataset, regressions, failures, where the report is."""
    status = (manifest or {}).get("status", "")
    lines = [f"# VLMHyperBench run {run.run_id}" + (f" ({status})" if status else ""), ""]
    completed = [r for r in rows if r["status"] == "completed"]
    lines += ["## Best model per dataset", ""]
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
            best = (max if hib else min)(have, key=lambda r: r["metrics"][metric]["value"])
            fast = [r for r in group if r["perf"].get("latency_p50_s") is not None]
            fastest = min(fast, key=lambda r: r["perf"]["latency_p50_s"]) if fast else None
            best_lines.append(
                f"- **{_md(dataset)}** · {_md(metric)} {'↑' if hib else '↓'}: **{_md(best['model'])}** "
                f"{metric_cell(best['metrics'][metric])}"
                + (
                    f"; fastest {_md(fastest['model'])} ({fastest['perf']['latency_p50_s']:.3f} s p50)"
                    if fastest and metric == names[0]
                    else ""
                )
            )
    lines += best_lines or ["- no completed pair"]
    found = [g for r in rows for g in r.get("regressions", [])]
    lines += ["", f"## Regressions ({len(found)})", ""]
    lines += [f"- ▼ {_md(g.describe())}" for g in found] or ["- none against the previous run"]
    failed = [r for r in rows if r["status"] != "completed"]
    lines += ["", f"## Failures ({len(failed)})", ""]
    for r in failed:
        reason = (r["error"] or "").strip().splitlines()
        pert = f" ~{r['perturbation']}" if r["perturbation"] else ""
        why = _md(reason[0][:300]) if reason else r["status"]
        lines.append(f"- {_md(r['model'])} / {_md(r['dataset'])}{_md(pert)}: {why}")
    if not failed:
        lines.append("- none: every pair completed")
    lines += ["", f"Report: `{(run.root / 'report.html').resolve()}`"]
    return "\n".join(lines) + "\n"


def publish_artifacts(rows: list[dict], run: RunFolder, manifest: dict | None = None) -> None:
    """The leaderboard as a Prefect table artifact, a markdown summary (best model per dataset, regressions,
    failures), and a link to the report."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    table = []
    for r in rows:
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
        link=(run.root / "report.html").resolve().as_uri(),
        link_text=f"report of {run.run_id}",
        key="report",
        description="The run's self-contained HTML report",
    )


@task(name="report", cache_policy=NO_CACHE)
def report(
    run: RunFolder,
    manifest: dict,
    scores: list[pl.DataFrame],
    summaries: list[pl.DataFrame],
    performance: list[dict],
) -> list[dict]:
    """Writes the run's result files and leaderboard, prints it, and publishes Prefect artifacts."""
    rows = write_report(run, manifest, scores, summaries, performance)
    publish_artifacts(rows, run, manifest)
    return rows

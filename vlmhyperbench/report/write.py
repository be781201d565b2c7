"""Writing a run's report: the whole run's tables (docs/reference/results.md), the comparison with earlier
runs, leaderboard.md and report.html, and the leaderboard in the terminal."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vlmhb_core.errors import ConfigError
from vlmhyperbench.history import list_runs
from vlmhyperbench.history.regressions import (
    Regression,
    default_threshold,
    find_regressions,
    regressions_frame,
    run_thresholds,
)
from vlmhyperbench.inference.performance import with_saturation
from vlmhyperbench.report.data import dataset_rows, primary_metrics
from vlmhyperbench.report.html import render_fallback, render_report
from vlmhyperbench.report.judges import judge_tables, judges_markdown, write_judge_tables
from vlmhyperbench.report.leaderboard import (
    curves_markdown,
    leaderboard_rows,
    load_curves,
    print_leaderboard,
    to_markdown,
)
from vlmhyperbench.results.records import Manifest
from vlmhyperbench.results.run_folder import (
    LEADERBOARD,
    PERFORMANCE,
    REGRESSIONS,
    REPORT,
    SCORES,
    SUMMARY,
    RunFolder,
)
from vlmhyperbench.results.tables import (
    PERFORMANCE_COLUMNS,
    PERFORMANCE_SCHEMA,
    SCORE_COLUMNS,
    SCORES_SCHEMA,
    SUMMARY_COLUMNS,
    SUMMARY_SCHEMA,
    frame,
)


def has_earlier_run(run: RunFolder, manifest: Manifest, results_dir: Path | None = None) -> bool:
    """Whether the results folder holds a run that started before this one (something to compare with)."""
    this = (manifest.started_at or "", run.run_id)
    return any(
        (r.started_at, r.run_id) < this
        for r in list_runs(results_dir if results_dir is not None else run.root.parent)
        if r.run_id != run.run_id
    )


def compare_with_history(
    run: RunFolder,
    manifest: Manifest,
    summary_df: pl.DataFrame,
    scores_df: pl.DataFrame,
    results_dir: Path | None = None,
) -> list[Regression]:
    """This run's regressions against the previous run of each (model, dataset, perturbation, metric), under
    RESULTS_DIR (default: the folder the run is in); also written to regressions.csv."""
    try:
        thresholds, default = run_thresholds(run.root, manifest.config), default_threshold()
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
        started_at=manifest.started_at,
    )
    run.write_text(REGRESSIONS, regressions_frame(found).write_csv(separator=";"))
    return found


def write_report(
    run: RunFolder,
    manifest: Manifest,
    scores: list[pl.DataFrame],
    summaries: list[pl.DataFrame],
    performance: list[dict],
    *,
    print_table: bool = True,
    compare: bool = True,
    results_dir: Path | None = None,
) -> list[dict]:
    """Writes scores, summary, performance, regressions.csv, the judge tables (judged runs), leaderboard.md,
    report.html and the sample explorer (samples.html, samples/); returns the
    leaderboard rows (each with the pair's `regressions`, history.Regression against the previous run, and its
    dataset's `main_metric`)."""
    perf_df = frame([pl.DataFrame([p]) for p in performance], PERFORMANCE_COLUMNS, PERFORMANCE_SCHEMA)
    perf_df = with_saturation(perf_df.sort(["model", "dataset", "perturbation", "concurrency"]))
    summary_df = frame(summaries, SUMMARY_COLUMNS, SUMMARY_SCHEMA)
    scores_df = frame(scores, SCORE_COLUMNS, SCORES_SCHEMA)
    run.write_table(scores_df, SCORES, csv=False)
    run.write_table(summary_df, SUMMARY, csv=True)
    run.write_table(perf_df, PERFORMANCE, csv=True)
    judges = judge_tables(run, manifest)
    if judges is not None:
        write_judge_tables(run, judges)
    rows = leaderboard_rows(summary_df, perf_df, manifest.pairs)
    found: list[Regression] = []
    compared = compare and has_earlier_run(run, manifest, results_dir)
    if compared:
        try:
            found = compare_with_history(run, manifest, summary_df, scores_df, results_dir)
        except Exception as exc:  # a broken older run must not cost this run its report
            get_logger().warning("comparison with earlier runs failed: %s: %s", type(exc).__name__, exc)
    elif compare:  # the first run of its results folder: nothing to compare with, an empty file says so
        run.write_text(REGRESSIONS, regressions_frame([]).write_csv(separator=";"))
    main = primary_metrics(summary_df, dataset_rows(run))
    for row in rows:
        row["regressions"] = [
            g
            for g in found
            if (g.model, g.dataset, g.perturbation) == (row["model"], row["dataset"], row["perturbation"])
        ]
        row["main_metric"] = main.get(row["dataset"], (None, True))[0]
    explorer = _write_explorer(run, manifest, scores_df, main)
    judges_md = judges_markdown(judges) if judges is not None else ""
    curves = load_curves(perf_df, manifest.pairs)
    run.write_text(
        LEADERBOARD,
        to_markdown(rows, run.run_id) + curves_markdown(curves) + _regressions_markdown(found) + judges_md,
    )
    try:
        html = render_report(
            run,
            manifest,
            rows,
            summary_df,
            perf_df,
            scores=scores_df,
            regressions=found,
            judges=judges,
            curves=curves,
            explorer=explorer,
        )
    except Exception as exc:  # the run's results stand: a page with the leaderboard and the error instead
        get_logger().error(
            "report.html: full report failed (%s: %s); writing the plain one", type(exc).__name__, exc
        )
        html = render_fallback(run, manifest, to_markdown(rows, run.run_id), exc)
    run.write_text(REPORT, html)
    if print_table:
        print_leaderboard(rows, run.run_id)
        print_regressions(found, compared=compared)
    return rows


def _write_explorer(run: RunFolder, manifest: Manifest, scores: pl.DataFrame, main: dict) -> bool:
    """samples.html and samples/ (report.explorer); False, with the reason logged, when they could not be
    written (the report stands without them)."""
    try:
        from vlmhyperbench.report.explorer import write_explorer

        write_explorer(run, manifest, scores, dataset_rows(run), main)
        return True
    except Exception as exc:
        get_logger().error("samples.html: not written (%s: %s)", type(exc).__name__, exc)
        return False


def get_logger():
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # outside a flow (tests, scripts)
        import logging

        return logging.getLogger("vlmhyperbench.report")


def print_regressions(found: list[Regression], console=None, *, compared: bool = True) -> None:
    """The regressions against the previous run, in the terminal; nothing when there was no run to
    compare with (COMPARED false)."""
    from rich.console import Console
    from rich.markup import escape

    console = console or Console()
    if not found:
        if compared:
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

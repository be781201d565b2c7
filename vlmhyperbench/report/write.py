"""Writing a run's report: the whole run's tables (docs/reference/results.md), the comparison with earlier
runs, leaderboard.md and report.html, and the leaderboard in the terminal."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vlmhb_core.errors import ConfigError
from vlmhyperbench.history.comparison import Comparison, compare_run
from vlmhyperbench.history.regressions import default_threshold, regressions_frame, run_thresholds
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
from vlmhyperbench.report.padding import padded_answers, padding_markdown
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


def compare_with_history(
    run: RunFolder,
    manifest: Manifest,
    summary_df: pl.DataFrame,
    scores_df: pl.DataFrame,
    results_dir: Path | None = None,
) -> Comparison:
    """This run against the latest earlier run of each (model, dataset, perturbation, metric) under
    RESULTS_DIR (default: the folder the run is in): what was compared, and the regressions (also written
    to regressions.csv)."""
    try:
        thresholds, default = run_thresholds(run.root, manifest.config), default_threshold()
    except ConfigError as exc:  # the run is over: compare by the intervals rather than lose the report
        get_logger().warning("regression thresholds ignored: %s", exc)
        thresholds, default = [], None
    comparison = compare_run(
        run.root,
        summary_df,
        scores_df,
        results_dir=results_dir,
        thresholds=thresholds,
        default=default,
        started_at=manifest.started_at,
    )
    run.write_text(REGRESSIONS, regressions_frame(comparison.regressions).write_csv(separator=";"))
    return comparison


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
    report.html and the sample explorer (samples.html, samples/); returns the leaderboard rows (each with the
    pair's `regressions`, history.Regression against the previous run, `compared_with`: the earlier runs its
    values were compared with (none: no earlier run of the pair), and its dataset's `main_metric`)."""
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
    comparison: Comparison | None = None
    if compare:
        try:
            comparison = compare_with_history(run, manifest, summary_df, scores_df, results_dir)
        except Exception as exc:  # a broken older run must not cost this run its report
            get_logger().warning("comparison with earlier runs failed: %s: %s", type(exc).__name__, exc)
            run.write_text(REGRESSIONS, regressions_frame([]).write_csv(separator=";"))
    found = comparison.regressions if comparison is not None else []
    main = primary_metrics(summary_df, dataset_rows(run))
    for row in rows:
        row["regressions"] = [
            g
            for g in found
            if (g.model, g.dataset, g.perturbation) == (row["model"], row["dataset"], row["perturbation"])
        ]
        row["compared_with"] = (
            comparison.compared_with(row["model"], row["dataset"], row["perturbation"])
            if comparison is not None
            else []
        )
        row["main_metric"] = main.get(row["dataset"], (None, True))[0]
    explorer = _write_explorer(run, manifest, scores_df, main)
    judges_md = judges_markdown(judges) if judges is not None else ""
    curves = load_curves(perf_df, manifest.pairs)
    padded = padded_answers(run, scores_df)
    run.write_text(
        LEADERBOARD,
        to_markdown(rows, run.run_id)
        + padding_markdown(padded)
        + curves_markdown(curves)
        + comparison_markdown(comparison)
        + judges_md,
    )
    try:
        html = render_report(
            run,
            manifest,
            rows,
            summary_df,
            perf_df,
            scores=scores_df,
            comparison=comparison,
            judges=judges,
            padded=padded,
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
        print_comparison(comparison)
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


def print_comparison(comparison: Comparison | None, console=None) -> None:
    """The comparison with earlier runs in the terminal: the regressions, the verdict on what was compared
    and with which run, and each pair that had no earlier run (never "no regression" for those)."""
    from rich.console import Console
    from rich.markup import escape

    if comparison is None:
        return
    console = console or Console()
    found = comparison.regressions
    colour = "bold red" if found else "green" if comparison.anything_compared else "yellow"
    console.print(f"[{colour}]{escape(comparison.headline())}[/]", highlight=False)
    for g in found:
        console.print(f"[red]▼[/] {escape(g.describe())}", highlight=False)
    for line in comparison.not_compared_lines():
        console.print(f"[yellow]{escape(line)}[/]", highlight=False)


def comparison_markdown(comparison: Comparison | None) -> str:
    """leaderboard.md's section on the comparison with earlier runs (empty when none was made)."""
    if comparison is None:
        return ""
    lines = ["", "## Comparison with earlier runs", "", f"{_md(comparison.headline())}.", ""]
    lines += [f"- ▼ {_md(g.describe())}" for g in comparison.regressions]
    lines += [f"- {_md(line)}" for line in comparison.not_compared_lines(limit=None)]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

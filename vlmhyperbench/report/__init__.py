"""The run's report: the whole run's tables, leaderboard.md and the terminal leaderboard, the self-contained
report.html (its template is templates/report.html.j2), its plots, and the Prefect artifacts."""

from vlmhyperbench.report.artifacts import publish_artifacts, summary_markdown
from vlmhyperbench.report.html import render_fallback, render_report, warm_up
from vlmhyperbench.report.leaderboard import leaderboard_rows, metric_cell, print_leaderboard, to_markdown
from vlmhyperbench.report.write import compare_with_history, print_comparison, write_report

__all__ = [
    "compare_with_history",
    "leaderboard_rows",
    "metric_cell",
    "print_leaderboard",
    "print_comparison",
    "publish_artifacts",
    "render_fallback",
    "render_report",
    "summary_markdown",
    "to_markdown",
    "warm_up",
    "write_report",
]

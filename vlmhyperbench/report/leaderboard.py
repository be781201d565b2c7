"""The leaderboard: one table per run, quality and speed side by side, as markdown, rich and rows."""

from __future__ import annotations

import sys

import polars as pl

from vlmhyperbench.results.records import PairOutcome

PERF_COLUMNS = [
    ("ttft_p50_s", "TTFT p50 s"),
    ("latency_p50_s", "latency p50 s"),
    ("requests_per_s", "req/s"),
    ("peak_rss_mb", "peak RSS MB"),
]


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def leaderboard_rows(
    summary: pl.DataFrame, performance: pl.DataFrame, pairs: list[PairOutcome]
) -> list[dict]:
    """One row per (dataset, perturbation, model): each metric's general value with its 95 % CI, the
    main speed figures, and the pair's status. Failed pairs are listed with their reason."""
    metrics: dict[tuple[str, str, str], dict[str, dict]] = {}
    if summary.height:
        for rec in summary.filter(pl.col("aggregator") == "general").iter_rows(named=True):
            key = (rec["model"], rec["dataset"], rec["perturbation"] or "")
            metrics.setdefault(key, {})[rec["metric"]] = rec
    perf: dict[tuple[str, str, str], dict] = {}
    for rec in performance.iter_rows(named=True):
        perf.setdefault((rec["model"], rec["dataset"], rec["perturbation"] or ""), rec)
    rows: list[dict] = []
    for pair in pairs:
        key = pair.key.as_tuple()
        rows.append(
            {
                "dataset": key[1],
                "perturbation": key[2],
                "model": key[0],
                "status": pair.status,
                "error": pair.error,
                "metrics": metrics.get(key, {}),
                "perf": perf.get(key, {}),
            }
        )
    rows.sort(key=lambda r: (r["dataset"], r["perturbation"], r["status"] != "completed", r["model"]))
    return rows


def metric_cell(rec: dict | None, with_ci: bool = True) -> str:
    if rec is None:
        return "–"
    if rec.get("value") is None and rec.get("note"):  # asked for, but not scorable where it ran
        return "not scored"
    arrow = "↑" if rec.get("higher_is_better") else "↓"
    if rec.get("ci_low") is None or not with_ci:
        return f"{_fmt(rec['value'])} {arrow}"
    return f"{_fmt(rec['value'])} [{_fmt(rec['ci_low'])}, {_fmt(rec['ci_high'])}] {arrow}"


def to_markdown(rows: list[dict], run_id: str) -> str:
    lines = [f"# Leaderboard — run {run_id}", ""]
    by_dataset: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_dataset.setdefault((row["dataset"], row["perturbation"]), []).append(row)
    for (dataset, perturbation), group in by_dataset.items():
        names = sorted({m for r in group for m in r["metrics"]})
        title = f"## {dataset}" + (f" (perturbation {perturbation})" if perturbation else "")
        header = ["model", *names, *[label for _, label in PERF_COLUMNS], "status"]
        lines += [title, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in group:
            cells = [
                r["model"],
                *[metric_cell(r["metrics"].get(n)) for n in names],
                *[_fmt(r["perf"].get(c)) for c, _ in PERF_COLUMNS],
                r["status"] if r["status"] == "completed" else f"{r['status']}: {_md_escape(r['error'])}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Values are fractions with 95 % bootstrap intervals; ↑ higher is better, ↓ lower is better.")
    return "\n".join(lines) + "\n"


def _md_escape(text: str | None) -> str:
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return first.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")[:200]


def print_leaderboard(rows: list[dict], run_id: str, console=None) -> None:
    """The leaderboard and each pair's status in the terminal."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    # In a log (no terminal) rich would wrap at 80 columns; a wide table reads better there.
    console = console or Console(width=None if sys.stdout.isatty() else 200)
    names = sorted({m for r in rows for m in r["metrics"]})
    table = Table(title=f"VLMHyperBench — run {run_id}", show_lines=False)
    for col in ["dataset", "model", *names, *[label for _, label in PERF_COLUMNS], "status"]:
        table.add_column(col, overflow="fold")
    for r in rows:
        status = "[green]completed[/]" if r["status"] == "completed" else f"[red]{r['status']}[/]"
        table.add_row(
            escape(r["dataset"] + (f" ~{r['perturbation']}" if r["perturbation"] else "")),
            escape(r["model"]),
            *[metric_cell(r["metrics"].get(n), with_ci=False) for n in names],
            *[_fmt(r["perf"].get(c)) for c, _ in PERF_COLUMNS],
            status,
        )
    console.print(table)
    for r in rows:
        if r["status"] != "completed":
            console.print(
                f"[red]✗ {escape(r['model'])} / {escape(r['dataset'])}:[/] {escape(str(r['error']))}",
                highlight=False,
            )

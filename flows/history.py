"""python -m flows.history: the trend of every (model, dataset, metric) across the runs of a results folder.

    python -m flows.history [--output DIR] [--models A,B] [--datasets X,Y] [--metrics anls,cer] [--last N]

Prints one table per (dataset, perturbation, metric): a row per model, a column per run (oldest first), the
change since the previous run, and ▼ where that run's report flagged a regression (its regressions.csv).
Reads the run folders only (no Prefect API); the `history` flow does the same and publishes the trend as a
table artifact, for a deployment next to the nightly benchmark.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl
from prefect import flow

from vlmhyperbench.history import list_runs, load_history, read_regressions, trend_table

SPARK = "▁▂▃▄▅▆▇█"


def trend(
    output: Path,
    *,
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    metrics: list[str] | None = None,
    last: int = 10,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(trend table, regressions of the runs shown): see vlmhyperbench.history.trend_table."""
    runs = list_runs(output)
    history = load_history(output, runs=runs)
    for col, wanted in (("model", models), ("dataset", datasets), ("metric", metrics)):
        if wanted:
            history = history.filter(pl.col(col).is_in(wanted))
    table = trend_table(history, last=last)
    shown = [
        c
        for c in table.columns
        if c not in ("dataset", "perturbation", "metric", "model", "higher_is_better")
    ]
    regressions = read_regressions(output, [r for r in runs if r.run_id in shown])
    return table, regressions


def _spark(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    lo, hi = min(known), max(known)
    if hi == lo:
        return SPARK[3] * len(values)
    return "".join(
        " " if v is None else SPARK[round((v - lo) / (hi - lo) * (len(SPARK) - 1))] for v in values
    )


def print_trend(table: pl.DataFrame, regressions: pl.DataFrame, console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    if not table.height:
        console.print("no run with a summary in this results folder")
        return
    runs = [
        c
        for c in table.columns
        if c not in ("dataset", "perturbation", "metric", "model", "higher_is_better")
    ]
    flagged = {
        (r["run_id"], r["model"], r["dataset"], r["perturbation"] or "", r["metric"])
        for r in regressions.iter_rows(named=True)
    }
    for (dataset, pert, metric), group in table.group_by(
        ["dataset", "perturbation", "metric"], maintain_order=True
    ):
        hib = bool(group["higher_is_better"][0])
        title = f"{dataset}{' ~' + pert if pert else ''} · {metric} {'↑' if hib else '↓'}"
        out = Table(title=escape(title), title_justify="left")
        out.add_column("model")
        for run_id in runs:
            out.add_column(escape(run_id), justify="right")
        out.add_column("change", justify="right")
        out.add_column("trend")
        for rec in group.iter_rows(named=True):
            values = [rec[r] for r in runs]
            cells = []
            for run_id, v in zip(runs, values):
                mark = (run_id, rec["model"], dataset, pert, metric) in flagged
                cells.append("–" if v is None else (f"[red]{v:.4f} ▼[/]" if mark else f"{v:.4f}"))
            known = [v for v in values if v is not None]
            change = ""
            if len(known) >= 2 and values[-1] is not None:
                d = known[-1] - known[-2]
                good = (d > 0) == hib
                change = f"[{'green' if good else 'red'}]{d:+.4f}[/]" if d else "0"
            out.add_row(escape(rec["model"]), *cells, change, _spark(values))
        console.print(out)
    if regressions.height:
        console.print(
            f"[red]▼[/] regression flagged by that run's report ({regressions.height} in the runs shown)"
        )


@flow(name="history")
def history(
    output: str = "results",
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    metrics: list[str] | None = None,
    last: int = 10,
) -> int:
    """Publishes the trend across the runs of OUTPUT as a table artifact; returns the number of rows."""
    from prefect.artifacts import create_table_artifact

    table, _ = trend(Path(output), models=models, datasets=datasets, metrics=metrics, last=last)
    rows = [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
        for r in table.iter_rows(named=True)
    ]
    create_table_artifact(
        table=rows, key="history", description=f"VLMHyperBench trend across runs in {output}"
    )
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    from vlmhyperbench.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m flows.history", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output", default=None, help="results folder (default: VLMHB_RESULTS_DIR or results)"
    )
    parser.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    parser.add_argument("--datasets", default=None, help="comma-separated dataset names (default: all)")
    parser.add_argument("--metrics", default=None, help="comma-separated metrics (default: all)")
    parser.add_argument("--last", type=int, default=10, help="the last N runs (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.last < 1:
        parser.error("--last must be at least 1")

    def split(text: str | None) -> list[str] | None:
        return [x.strip() for x in text.split(",") if x.strip()] if text else None

    output = Path(args.output or get_settings().results_dir)
    table, regressions = trend(
        output,
        models=split(args.models),
        datasets=split(args.datasets),
        metrics=split(args.metrics),
        last=args.last,
    )
    print_trend(table, regressions)
    return 0


if __name__ == "__main__":
    sys.exit(main())

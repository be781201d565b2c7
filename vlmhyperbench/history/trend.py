"""The trend: the general values of every (model, dataset, metric) across the runs of a results folder."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vlmhyperbench.history.regressions import read_regressions
from vlmhyperbench.history.runs import list_runs, load_history


def trend_table(history: pl.DataFrame, *, last: int = 10) -> pl.DataFrame:
    """One row per (dataset, perturbation, metric, model), a column per run (the LAST runs), oldest first."""
    general = history.filter(pl.col("group") == "")
    if not general.height:
        return pl.DataFrame()
    keep = general.select("run_index", "run_id").unique().sort("run_index").tail(last)
    part = general.join(keep.select("run_index"), on="run_index")
    wide = part.pivot(
        on="run_id",
        index=["dataset", "perturbation", "metric", "model", "higher_is_better"],
        values="value",
        sort_columns=False,
    )
    run_cols = [r for r in keep["run_id"].to_list() if r in wide.columns]
    return wide.select("dataset", "perturbation", "metric", "model", "higher_is_better", *run_cols).sort(
        "dataset", "perturbation", "metric", "model"
    )


SPARK = "▁▂▃▄▅▆▇█"


def trend(
    output: Path,
    *,
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    metrics: list[str] | None = None,
    last: int = 10,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(trend table, regressions of the runs shown): see trend_table."""
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

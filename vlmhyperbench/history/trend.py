"""The trend: the general values of every (model, dataset, metric) across the runs of a results folder."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vlmhb_core.console import print_table
from vlmhyperbench.history.regressions import read_regressions
from vlmhyperbench.history.runs import list_runs, load_history

KEYS = ["dataset", "perturbation", "metric", "model", "higher_is_better"]
N_PREFIX = "n@"
"""The trend table's sample-count columns: `n@RUN_ID` beside each run's value column `RUN_ID`."""


def trend_table(history: pl.DataFrame, *, last: int = 10) -> pl.DataFrame:
    """One row per (dataset, perturbation, metric, model): the sample counts of the LAST runs (`n@RUN_ID`
    columns), then a value column per run, oldest first."""
    general = history.filter(pl.col("group") == "")
    if not general.height:
        return pl.DataFrame()
    keep = general.select("run_index", "run_id").unique().sort("run_index").tail(last)
    part = general.join(keep.select("run_index"), on="run_index")
    values = part.pivot(on="run_id", index=KEYS, values="value", sort_columns=False)
    counts = part.with_columns((N_PREFIX + pl.col("run_id")).alias("run_id")).pivot(
        on="run_id", index=KEYS, values="n", sort_columns=False
    )
    run_cols = [r for r in keep["run_id"].to_list() if r in values.columns]
    wide = values.join(counts, on=KEYS, how="left", nulls_equal=True)
    return wide.select(*KEYS, *[N_PREFIX + r for r in run_cols], *run_cols).sort(
        "dataset", "perturbation", "metric", "model"
    )


def run_columns(table: pl.DataFrame) -> list[str]:
    """The run ids a trend table shows, oldest first."""
    return [c for c in table.columns if c not in KEYS and not c.startswith(N_PREFIX)]


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
    shown = run_columns(table)
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
    """One table per (dataset, perturbation, metric): a row per model, a column per run (whole run ids,
    oldest first), the change since the previous run, and ▼ where that run's report flagged a regression.
    A value over another number of samples than the table's usual one shows its n."""
    from collections import Counter

    from rich.console import Console

    console = console or Console()
    if not table.height:
        console.print("no run with a summary in this results folder")
        return
    runs = run_columns(table)
    flagged = {
        (r["run_id"], r["model"], r["dataset"], r["perturbation"] or "", r["metric"])
        for r in regressions.iter_rows(named=True)
    }
    for (dataset, pert, metric), group in table.group_by(
        ["dataset", "perturbation", "metric"], maintain_order=True
    ):
        hib = bool(group["higher_is_better"][0])
        counts = Counter(n for rec in group.iter_rows(named=True) for r in runs if (n := rec[N_PREFIX + r]))
        usual = counts.most_common(1)[0][0] if counts else None
        title = f"{dataset}{' ~' + pert if pert else ''} · {metric} {'↑' if hib else '↓'}"
        title += f" · n={usual}" if usual is not None else ""
        rows, styles = [], []
        for rec in group.iter_rows(named=True):
            values = [rec[r] for r in runs]
            cells = []
            for run_id, v in zip(runs, values):
                if v is None:
                    cells.append("–")
                    continue
                mark = " ▼" if (run_id, rec["model"], dataset, pert, metric) in flagged else ""
                n = rec[N_PREFIX + run_id]
                cells.append(f"{v:.4f}{mark}" + (f" (n={n})" if n is not None and n != usual else ""))
            known = [v for v in values if v is not None]
            change = ""
            if len(known) >= 2 and values[-1] is not None:
                d = known[-1] - known[-2]
                change = f"{d:+.4f}" if d else "0"
            rows.append([rec["model"], *cells, change, _spark(values)])
            styles.append("red" if any("▼" in c for c in cells) else None)
        print_table(["model", *runs, "change", "trend"], rows, title=title, fold=("model",), styles=styles,
                    console=console)  # fmt: skip
    if regressions.height:
        console.print(f"▼ regression flagged by that run's report ({regressions.height} in the runs shown)")

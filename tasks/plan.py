"""plan: read and validate the config, expand the plan into (model, dataset, perturbation) pairs."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from vlmhyperbench.config import Catalog, Pair, plan_pairs


@task(name="plan", cache_policy=NO_CACHE)
def plan(
    config: str | Path,
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
) -> tuple[Catalog, list[Pair]]:
    """Reads and checks the config folder; raises ConfigError before anything runs."""
    return plan_pairs(config, models, datasets, max_samples)

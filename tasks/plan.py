"""plan: read and validate the config, expand the plan into (model, dataset) pairs."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from vlmhyperbench.catalog import Catalog, Pair, expand_plan, load_catalog


def make_plan(
    config: str | Path,
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
) -> tuple[Catalog, list[Pair]]:
    catalog = load_catalog(config)
    return catalog, expand_plan(catalog, models=models, datasets=datasets, max_samples=max_samples)


@task(name="plan", cache_policy=NO_CACHE)
def plan(
    config: str | Path,
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
) -> tuple[Catalog, list[Pair]]:
    """Reads and checks the config folder; raises ConfigError before anything runs."""
    return make_plan(config, models, datasets, max_samples)

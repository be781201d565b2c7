"""plan: read and validate the config, expand the plan into (model, dataset, perturbation) pairs; record the
data of the standard benchmarks it reads."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from vlmhyperbench.benchmarks import BENCHMARKS, data_record
from vlmhyperbench.config import Catalog, Pair, check_data, plan_pairs
from vlmhyperbench.results import BenchmarkData


@task(name="plan", cache_policy=NO_CACHE)
def plan(
    config: str | Path,
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
) -> tuple[Catalog, list[Pair]]:
    """Reads and checks the config folder and the data of its pairs (every dataset file, each image's
    stat); raises ConfigError before anything runs."""
    catalog, pairs = plan_pairs(config, models, datasets, max_samples)
    check_data(catalog, pairs)
    return catalog, pairs


@task(name="record-data", cache_policy=NO_CACHE)
def record_data(catalog: Catalog, pairs: list[Pair]) -> dict[str, BenchmarkData]:
    """Each planned standard benchmark's data (source, revision, sha256), for the run's manifest. Data
    that cannot be read is recorded with its error: its pairs fail on their own, with the same reason."""
    out: dict[str, BenchmarkData] = {}
    for d in {p.dataset.name: p.dataset for p in pairs}.values():
        if not d.benchmark:
            continue
        try:
            source = catalog.data_source(d)
            record = data_record(BENCHMARKS.get(d.benchmark), source, d.split)
        except Exception as exc:  # the pair reports it when it runs
            record = {"benchmark": d.benchmark, "source": d.path, "error": f"{type(exc).__name__}: {exc}"}
        out[d.name] = BenchmarkData(**record)
    return out

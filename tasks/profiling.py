"""profiling: speed and memory of one pair (TTFT/TPOT/ITL/latency percentiles, throughput, peak memory),
its pages per second and, with a price in models.csv, its cost per 1,000 pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from vlmhyperbench.config import Pair
from vlmhyperbench.inference import performance_row


@task(name="profiling", task_run_name="profiling-{pair.model.name}-{pair.key.stem}", cache_policy=NO_CACHE)
async def profiling(
    pair: Pair,
    predictions: Path,
    *,
    peak_rss_mb: float | None,
    peak_gpu_mb: float | None,
    env_build_s: float | None,
    server_start_s: float | None,
) -> dict:
    """The pair's row of performance.parquet, from its stored per-request timings (computed in a thread:
    other models' requests in flight keep their event loop, and so their timings)."""
    frame = await asyncio.to_thread(pl.read_parquet, predictions)
    m = pair.model
    row = await asyncio.to_thread(
        performance_row,
        frame,
        concurrency=pair.concurrency,
        gpus=m.gpus,
        cost_per_hour=m.cost_per_hour,
        price_in=m.price_in,
        price_out=m.price_out,
    )
    row.update(
        model=pair.model.name,
        dataset=pair.dataset.name,
        perturbation=pair.perturbation or "",
        peak_rss_mb=peak_rss_mb,
        peak_gpu_mb=peak_gpu_mb,
        env_build_s=env_build_s,
        server_start_s=server_start_s,
    )
    return row

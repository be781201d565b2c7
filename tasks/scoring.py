"""scoring: the Prefect task that scores one pair (vlmhyperbench.scoring does the work)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from vlmhyperbench.config import Pair
from vlmhyperbench.results import RunFolder
from vlmhyperbench.scoring import PairScores, score_one_pair


@task(name="scoring", task_run_name="scoring-{pair.model.name}-{pair.key.stem}", cache_policy=NO_CACHE)
async def scoring(pair: Pair, predictions: Path, run: RunFolder, env: str | None = None) -> PairScores:
    """Scores one pair (in a thread: other models' requests in flight keep their event loop, and so their
    timings); scorers run in their environments, built with ENV when given. Returns its scores and summary,
    with model, dataset and perturbation columns, and the scorer runs."""
    return await asyncio.to_thread(score_one_pair, pair, predictions, run, env)

"""build_env: the model's environment, built once per spec hash and reused while it is unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from environments.environment import Environment
from environments.manager import EnvManager
from environments.spec import EnvSpec
from tasks.runtime import retry_transient
from vlmhb_core.console import TERMINAL


@task(
    name="build_env",
    task_run_name="build_env-{model_name}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[5, 20],
    retry_condition_fn=retry_transient,
)
async def build_env(
    manager: EnvManager, spec: EnvSpec, model_name: str, log: Path, used_by: str | None = None
) -> Environment:
    """Returns the ready environment of SPEC (a cache hit takes well under a second); a build that failed
    because the package index could not be reached is tried again. USED_BY (the config folder) is recorded
    as the environment's user, for `python -m environments prune`."""
    logger = get_run_logger()
    env = await asyncio.to_thread(manager.ensure, spec, log, used_by=used_by)
    if env.cached:
        logger.info(
            "%s: environment %s %s is cached (ready in %.2f s)",
            model_name,
            spec.provider,
            spec.key,
            env.ready_s,
            extra=TERMINAL,
        )
    else:
        logger.info(
            "%s: built %s environment %s in %.1f s",
            *(model_name, spec.provider, spec.key, env.build_s),
            extra=TERMINAL,
        )
    return env

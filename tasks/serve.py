"""serve / stop: the model's OpenAI-compatible server, started in its environment and always stopped."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from environments.backends import Backend
from environments.environment import Environment
from environments.launch import start_server
from tasks.runtime import retry_transient
from vlmhb_core.console import TERMINAL


@task(
    name="serve",
    task_run_name="serve-{model_name}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[1, 5],
    retry_condition_fn=retry_transient,
)
async def serve(
    env: Environment, model_row, backend: Backend, model_name: str, log_path: Path, timeout_s: float
):
    """Starts the server and waits until it answers; returns (handle, seconds to ready). A server that
    lost its port to another process between probe and bind is started again on a new one."""
    started = time.perf_counter()
    server = await asyncio.to_thread(
        start_server, env, model_row, backend, log_path=log_path, timeout_s=timeout_s
    )
    took = time.perf_counter() - started
    get_run_logger().info(
        "%s: server ready at %s in %.1f s", model_name, server.base_url, took, extra=TERMINAL
    )
    return server, took


@task(name="stop", task_run_name="stop-{model_name}", cache_policy=NO_CACHE)
async def stop(server, model_name: str) -> None:
    """Stops the server (and its process group or container); safe to call twice."""
    await asyncio.to_thread(server.stop)

"""How many models run side by side: a limit per kind of model (what it costs this machine), or one limit
for all (VLMHB_MAX_PARALLEL_MODELS). Candidates (flows.benchmark) and judges (flows.judge) share it."""

from __future__ import annotations

import asyncio

PARALLEL_BY_KIND = {"endpoint": 16, "server": 2, "gpu": 1}
"""Models run side by side, by kind, unless VLMHB_MAX_PARALLEL_MODELS sets one limit for all: a remote
endpoint costs this machine only its client; a model server costs memory (two fit beside each other on a
CPU machine); a GPU model can take a whole GPU, so GPU models run one at a time (pools place them by GPU)."""


def parallel_limits(
    catalog, override: int | None, pool_slots: int | None = None
) -> dict[str, asyncio.Semaphore]:
    """Model name -> the semaphore of its kind (PARALLEL_BY_KIND), or one shared semaphore of OVERRIDE.
    POOL_SLOTS: the models run on a pool whose GPU hosts have that many slots in all (pool_gpu_slots); a
    served model then costs this machine a poll, not a card or memory, and as many run as the hosts hold."""
    if override is not None:
        shared = asyncio.Semaphore(max(1, override))
        return {name: shared for name in catalog.models}
    sizes = dict(PARALLEL_BY_KIND)
    if pool_slots:
        sizes.update({kind: max(sizes[kind], pool_slots) for kind in ("server", "gpu")})
    kinds = {kind: asyncio.Semaphore(n) for kind, n in sizes.items()}
    return {name: kinds[model_kind(row, catalog.backends.get(name))] for name, row in catalog.models.items()}


async def pool_gpu_slots() -> int:
    """The slots of every gpu:<host> limit on the server (`vlmhb deploy --gpu-hosts`): the pool's width."""
    from prefect import get_client

    async with get_client() as client:
        limits = await client.read_global_concurrency_limits(limit=200)
    return sum(limit.limit for limit in limits if limit.name.startswith("gpu:"))


def model_kind(row, backend) -> str:
    """endpoint (a server the project does not start), gpu (a model server on GPUs) or server."""
    if backend is not None and backend.external:
        return "endpoint"
    return "gpu" if (row.gpus or 0) > 0 else "server"

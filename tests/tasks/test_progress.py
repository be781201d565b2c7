"""A pair's progress reaches the Prefect API paced by time, not by samples: a pair done within a few seconds
costs no artifact at all, a longer one gets a progress artifact that ends at 100 %. Real flow runs on the
session's Prefect API, read back from it."""

from __future__ import annotations

import asyncio

from prefect import flow
from prefect.runtime import flow_run

from tasks.progress import PairProgress


class Quick(PairProgress):
    ARTIFACT_AFTER_S = 0.3


@flow
async def answer(samples: int, pause_s: float, progress_class: type[PairProgress]) -> str:
    progress = progress_class("m/d", total=samples)
    await progress.start()
    for _ in range(samples):
        await asyncio.sleep(pause_s)
        progress.advance()
    await progress.close()
    return flow_run.get_id()


def progress_artifacts(flow_run_id: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read() -> list:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
            )
        return [a for a in found if a.type == "progress"]

    return asyncio.run(read())


def test_a_quick_pair_costs_no_artifact_and_a_long_one_ends_at_100(prefect_harness):
    quick = asyncio.run(answer(50, 0.0, PairProgress))
    assert progress_artifacts(quick) == []

    slow = asyncio.run(answer(12, 0.08, Quick))
    (artifact,) = progress_artifacts(slow)
    assert artifact.data == 100.0 and "m/d" in artifact.description

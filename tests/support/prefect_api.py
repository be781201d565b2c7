"""Reading back from the Prefect API what a run left there: its artifacts, its flow runs and their states."""

from __future__ import annotations


async def read_artifacts(flow_run_id: str) -> dict:
    """The artifacts of one flow run, by key."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}


async def benchmark_runs(run_id: str) -> tuple:
    """(the benchmark flow run of our run RUN_ID, its subflow runs by name), as the API has them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )

    async with get_client() as client:
        runs = await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["benchmark"])))
        (benchmark,) = [r for r in runs if (r.parameters or {}).get("run_id") == run_id]
        children = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[benchmark.id])
            )
        )
    return benchmark, {r.name: r for r in children}


async def read_events(names: list[str], limit: int = 50) -> list:
    """The newest events with these NAMES (prefect.flow-run.Failed, prefect.automation.triggered...)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter

    async with get_client() as client:
        page = await client.read_events(EventFilter(event=EventNameFilter(name=names)), limit=limit)
    return list(page.events)

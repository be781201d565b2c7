"""Whether a per-model run on a pool still lives: the benchmark's bounded wait for it.

A job sends a heartbeat every VLMHB_HEARTBEAT_S (PREFECT_FLOWS_HEARTBEAT_FREQUENCY in its environment);
its runs carry the tag HEARTBEAT_TAG, which scopes the zombie automation of `vlmhb deploy`
(flows/cli/automations.py) to them alone: it marks one Crashed after VLMHB_DEAD_AFTER_S of silence.
`watch` ends the wait when the run is final (Crashed included), or when it is dead by the benchmark's own
reckoning, which does not rely on the automation (not deployed, or the server's trigger service lagging):

    Running    no heartbeat (nor start) for DEAD_AFTER_S + one heartbeat: the automation's bound, and grace
    Pending    for DEAD_AFTER_S, and the worker that took it is not online (it died starting the container)
    Scheduled  for DEAD_AFTER_S with no worker of the pool online but the dead ones: nobody can take it

Where a run is, is its worker: a worker labels each run it takes with its name (prefect.worker.name), and
workers are named after their host (`vlmhb worker`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HEARTBEAT_TAG = "vlmhb-heartbeat"
"""The tag of per-model runs that send heartbeats at VLMHB_HEARTBEAT_S: the zombie automation's scope (the
benchmark's own run beats at Prefect's default, 180 s, and is never taken for dead)."""
WORKER_LABEL = "prefect.worker.name"


@dataclass
class Watched:
    """How the wait for a per-model run ended: FLOW_RUN as last read; DEAD says why it was given up (None:
    it ended by itself); WORKER is the worker that took it (None: no worker did)."""

    flow_run: object
    dead: str | None = None
    worker: str | None = None
    unplaced: bool = False


def worker_of(flow_run) -> str | None:
    return (flow_run.labels or {}).get(WORKER_LABEL)


async def online_workers(client, pool: str, excluding: set[str] = frozenset()) -> list[str]:
    """The names of the pool's workers the server counts online, less EXCLUDING."""
    from prefect.client.schemas.objects import WorkerStatus

    workers = await client.read_workers_for_work_pool(pool)
    return [w.name for w in workers if w.status == WorkerStatus.ONLINE and w.name not in excluding]


async def last_heartbeat(client, flow_run_id, since: datetime) -> datetime | None:
    """When the run's newest heartbeat event occurred (None: none since SINCE)."""
    from prefect.events.filters import (
        EventFilter,
        EventNameFilter,
        EventOccurredFilter,
        EventOrder,
        EventResourceFilter,
    )

    page = await client.read_events(
        EventFilter(
            occurred=EventOccurredFilter(since=since, until=datetime.now(UTC) + timedelta(minutes=5)),
            event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
            resource=EventResourceFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
            order=EventOrder.DESC,
        ),
        limit=1,
    )
    return page.events[0].occurred if page.events else None


async def watch(
    client,
    flow_run_id,
    pool: str,
    *,
    poll_s: float,
    heartbeat_s: float,
    dead_after_s: float,
    dead_workers: set[str] = frozenset(),
) -> Watched:
    """Waits for the run to end, or to be dead (module docstring); never longer than the bounds say."""
    from prefect.client.schemas.objects import StateType

    silent_for = dead_after_s + heartbeat_s
    every = min(heartbeat_s / 2, 10.0)  # heartbeats and workers are read this often, states every POLL_S
    checked, beat, online = -every, None, True
    unplaced_since: float | None = None
    while True:
        flow_run = await client.read_flow_run(flow_run_id)
        state = flow_run.state
        worker = worker_of(flow_run)
        if state is not None and state.is_final():
            return Watched(flow_run, worker=worker)
        now = datetime.now(UTC)
        since = state.timestamp if state is not None else flow_run.created
        waited = (now - since).total_seconds()
        fresh = time.monotonic() - checked >= every
        if fresh:
            checked = time.monotonic()
        if state is not None and state.is_running():
            if fresh:
                beat = await last_heartbeat(client, flow_run_id, since)
            last = max(since, beat) if beat else since
            quiet = (now - last).total_seconds()
            if quiet > silent_for:
                heard = f"its last heartbeat {quiet:.0f} s ago" if beat else f"no heartbeat in {quiet:.0f} s"
                return Watched(flow_run, dead=f"{where(worker)} sent {heard}", worker=worker)
            unplaced_since = None
        elif state is not None and state.type in (StateType.PENDING, StateType.CANCELLING) and worker:
            if waited > dead_after_s and fresh and worker not in await online_workers(client, pool):
                doing = "starting" if state.is_pending() else "cancelling"
                return Watched(
                    flow_run,
                    dead=f"{where(worker)} went offline {doing} it ({state.name} for {waited:.0f} s)",
                    worker=worker,
                )
            unplaced_since = None
        else:  # no worker has it yet: Scheduled, Late, AwaitingRetry...
            if fresh:
                online = bool(await online_workers(client, pool, excluding=dead_workers))
            if online:
                unplaced_since = None
            else:
                unplaced_since = unplaced_since or time.monotonic()
                if time.monotonic() - unplaced_since > dead_after_s:
                    gone = f" but {', '.join(sorted(dead_workers))} (taken for dead)" if dead_workers else ""
                    return Watched(
                        flow_run,
                        dead=f"no worker of the pool {pool}{gone} has been online for {dead_after_s:.0f} s",
                        unplaced=True,
                    )
            # A run waiting for a worker changes slowly: read it less often (a nightly queues hundreds).
            await asyncio.sleep(max(poll_s, every))
            continue
        await asyncio.sleep(poll_s)


def where(worker: str | None) -> str:
    return f"the worker {worker}" if worker else "its worker"


async def end_run(client, flow_run, message: str, *, crashed: bool = True) -> list[str]:
    """Marks a run given up, and its child runs still open, Crashed (CRASHED false: Cancelled, for a run no
    worker started, or one the benchmark stops); returns the names of the runs it changed."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.states import Cancelled, Crashed

    children = await client.read_flow_runs(
        flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run.id]))
    )
    changed = []
    for run in [*children, flow_run]:
        current = await client.read_flow_run(run.id)
        if current.state is not None and current.state.is_final():
            continue
        state = Crashed(message=message) if crashed else Cancelled(message=message)
        await client.set_flow_run_state(run.id, state, force=True)
        changed.append(current.name)
    return changed

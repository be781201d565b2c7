"""The benchmark's bounded wait for a per-model run (flows/liveness.py) against a real Prefect API, with
bounds of seconds: a Running run that stops beating is dead, and named by its worker; a run no online
worker can take is given up; one that a live worker may still take is waited for; a run given up is
marked Crashed with the child runs it left open. (The end-to-end case, a Docker worker killed with its
job container, is tests/flows/test_dead_hosts.py.)"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from flows.liveness import end_run, last_heartbeat, online_workers, watch

BOUNDS = {"poll_s": 0.2, "heartbeat_s": 1, "dead_after_s": 2}


def _run(coro):
    return asyncio.run(coro)


async def _pool_and_runs(client, *, child: bool = False):
    from prefect import flow, task
    from prefect.client.schemas.actions import WorkPoolCreate

    @flow(name="evaluate-model-job")
    def job() -> None: ...

    @task(name="run-child")
    def spawn() -> None: ...

    pool = f"vlmhb-test-{uuid.uuid4().hex[:6]}"
    await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    parent = await client.create_flow_run(job, name=f"job-{pool}")
    children = []
    if child:
        spawned = await client.create_task_run(spawn, flow_run_id=parent.id, dynamic_key="0")
        children.append(await client.create_flow_run(job, parent_task_run_id=spawned.id, name="evaluate-m"))
    return pool, parent, children


def test_a_running_run_that_stops_beating_is_dead_and_ended_with_its_children(prefect_harness):
    from prefect import get_client
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker
    from prefect.states import Running

    async def scenario():
        async with get_client() as client:
            pool, run, [child] = await _pool_and_runs(client, child=True)
            await client.update_flow_run_labels(run.id, {"prefect.worker.name": "host-a"})
            for flow_run in (run, child):
                await client.set_flow_run_state(flow_run.id, Running(), force=True)
            emit_event(
                "prefect.flow-run.heartbeat", resource={"prefect.resource.id": f"prefect.flow-run.{run.id}"}
            )
            await EventsWorker.drain_all()
            since = datetime.now(UTC) - timedelta(minutes=1)
            deadline = time.monotonic() + 30
            while (
                beat := await last_heartbeat(client, run.id, since)
            ) is None and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            started = time.monotonic()
            watched = await watch(client, run.id, pool, **BOUNDS)
            waited = time.monotonic() - started
            ended = await end_run(client, watched.flow_run, "given up by the test")
            states = [(await client.read_flow_run(r.id)).state for r in (run, child)]
        return beat, watched, waited, ended, states

    beat, watched, waited, ended, states = _run(scenario())
    assert beat is not None, "the heartbeat event is read back"
    assert watched.worker == "host-a" and not watched.unplaced
    assert "the worker host-a sent" in watched.dead and "heartbeat" in watched.dead
    assert waited < 10, f"the bound is dead_after + one heartbeat, not {waited:.1f} s"
    assert sorted(ended) == sorted(["evaluate-m", watched.flow_run.name])
    assert [s.type.value for s in states] == ["CRASHED", "CRASHED"]
    assert states[0].message == "given up by the test"


def test_a_run_no_worker_can_take_is_given_up_and_one_a_live_worker_may_take_is_awaited(prefect_harness):
    from prefect import get_client
    from prefect.states import Scheduled

    async def scenario():
        async with get_client() as client:
            pool, run, _ = await _pool_and_runs(client)
            await client.set_flow_run_state(run.id, Scheduled(), force=True)
            alone = await watch(client, run.id, pool, **BOUNDS)
            await client.send_worker_heartbeat(pool, "host-b", heartbeat_interval_seconds=30)
            online = await online_workers(client, pool)
            others = await online_workers(client, pool, excluding={"host-b"})
            try:
                await asyncio.wait_for(watch(client, run.id, pool, **BOUNDS), 5)
                waited = "it gave up"
            except TimeoutError:
                waited = "it waited"
            given_up = await watch(client, run.id, pool, **BOUNDS, dead_workers={"host-b"})
        return alone, online, others, waited, given_up

    alone, online, others, waited, given_up = _run(scenario())
    assert alone.unplaced and alone.worker is None
    assert alone.dead.startswith("no worker of the pool vlmhb-test-") and "online for 2 s" in alone.dead
    assert (online, others) == (["host-b"], [])
    assert waited == "it waited", "a worker is online: the run may yet be taken"
    assert given_up.unplaced and "but host-b (taken for dead)" in given_up.dead


@pytest.mark.parametrize("state", ["Pending", "Cancelling"])
def test_a_run_whose_worker_went_offline_before_starting_it_is_dead(prefect_harness, state):
    from prefect import get_client
    from prefect.states import Cancelling, Pending

    async def scenario():
        async with get_client() as client:
            pool, run, _ = await _pool_and_runs(client)
            await client.update_flow_run_labels(run.id, {"prefect.worker.name": "host-gone"})
            await client.set_flow_run_state(
                run.id, Pending() if state == "Pending" else Cancelling(), force=True
            )
            return await asyncio.wait_for(watch(client, run.id, pool, **BOUNDS), 30)

    watched = _run(scenario())
    assert watched.worker == "host-gone" and "went offline" in watched.dead and state in watched.dead


def test_an_interrupted_benchmark_cancels_the_runs_it_waits_for(prefect_harness):
    """What lifecycle.stop_everything calls on Ctrl-C: each open per-model run goes Cancelling, which makes
    its worker stop its container."""
    from prefect import get_client
    from prefect.states import Running

    from flows import dispatch

    async def open_run():
        async with get_client() as client:
            _, run, _ = await _pool_and_runs(client)
            await client.set_flow_run_state(run.id, Running(), force=True)
            return run

    async def state_of(run):
        async with get_client() as client:
            return (await client.read_flow_run(run.id)).state

    run = _run(open_run())
    dispatch._OPEN_RUNS[str(run.id)] = run.name
    assert dispatch.cancel_open_runs() == [run.name]
    assert _run(state_of(run)).type.value == "CANCELLING"
    assert dispatch.cancel_open_runs() == [] and not dispatch._OPEN_RUNS


def test_a_model_no_worker_can_take_is_errored_naming_the_pool_and_keeps_what_it_finished(
    prefect_harness, write_config, tmp_path, monkeypatch
):
    """flows.dispatch.place with bounds of seconds: the per-model deployment's pool has no worker online,
    so the run is given up (Cancelled, owned by nobody) and the model's pairs are `errored` (exit 4; the
    benchmark says --resume), except one the pool had already finished, which stays completed."""
    import polars as pl
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from flows.dispatch import place
    from tests.support.fault_servers import simple_dataset
    from vlmhyperbench.config import plan_pairs
    from vlmhyperbench.results import PAIR_COMPLETED, PAIR_ERRORED, RunFolder, fence

    data = tmp_path / "data"
    for name in ("d0", "d1"):
        simple_dataset(data / name, 2)
    root = write_config(
        {
            "models.csv": "name;backend;model;base_url;env\nm;openai;x;http://127.0.0.1:9/v1;none\n",
            "datasets.csv": "name;task;format;path\n"
            + "".join(f"{d};vqa;vlmhyperbench;{data}/{d}\n" for d in ("d0", "d1")),
        }
    )
    _, pairs = plan_pairs(str(root))
    run = RunFolder(tmp_path / "results" / "run")
    finished = next(p for p in pairs if p.key.dataset == "d0")
    run.save_scored(finished.key, pl.DataFrame({"x": [1]}), pl.DataFrame({"x": [1]}), {"requests": 2})
    pool, name = f"vlmhb-test-{uuid.uuid4().hex[:6]}", f"models-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("VLMHB_MODEL_DEPLOYMENT", f"evaluate-model-job/{name}")

    async def scenario():
        async with get_client() as client:
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
            flow_id = await client.create_flow_from_name("evaluate-model-job")
            await client.create_deployment(
                flow_id=flow_id, name=name, work_pool_name=pool, entrypoint="flows/dispatch.py:model_job"
            )
            result = await place(run, "m", pairs, {"model": "m"}, {}, bounds=BOUNDS)
            runs = await client.read_flow_runs()
        return result, [r for r in runs if r.deployment_id is not None and r.parameters.get("model") == "m"]

    result, runs = _run(scenario())
    outcomes = {p.dataset: p for p in result.pairs}
    assert outcomes["d0"].status == PAIR_COMPLETED
    assert outcomes["d1"].status == PAIR_ERRORED
    assert f"no worker of the pool {pool} has been online for 2 s" in outcomes["d1"].error
    assert "--resume" in outcomes["d1"].error
    [given_up] = runs  # dispatched once: no second try where nobody can take it
    assert given_up.state.type.value == "CANCELLED"
    assert fence.read_owner(run.owner_file("m")) is None

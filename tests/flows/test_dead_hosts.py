"""Hosts that die: the module's real Prefect server (tests/support/stand.py), two real Docker workers on
this machine acting as the GPU hosts host-a and host-b (`vlmhb worker --host`), and a benchmark of two
models dispatched to the pool (VLMHB_DISPATCH=pool). Host-a's worker is killed (kill -9) with its job
container (docker kill) in the middle of its model's inference; the benchmark ends by itself, the model
having finished on host-b.

The models are `openai` rows against synthetic endpoints on 127.0.0.1 whose answers take about 3 s (a
sleep, not CPU), run in the orchestrator image; their `gpus` = 1 makes each job hold its host's gpu:<host>
slot, with no GPU device asked of Docker (VLMHB_GPU_DEVICES=none: a stand-in, this machine has no GPU).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tests.support.fault_servers import fault_servers, finish, simple_dataset, start_cli, wait_for
from tests.support.stand import DEAD_AFTER_S, HEARTBEAT_S, HOSTS, deploy, docker_problem, serving
from tests.support.support import require

SAMPLES = 24
ANSWER_MS = {"m1": 3100, "m2": 3300}
"""Each model's answer time: about 75 s a model, longer than a GPU lease (60 s) plus the repossessor's
loop, so a lease that were not renewed would show."""
LEASE_S, REPOSSESSOR_S = 60, 5
KILL_AFTER = 12
"""Answers host-a's model gives before its host dies."""


@pytest.fixture(scope="module")
def stand(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("prefect-stand")) as stand:
        yield stand


@pytest.fixture(scope="module")
def deployed(stand):
    return deploy(stand)


def _run(coro):
    return asyncio.run(coro)


async def _job_runs(since: datetime) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["evaluate-model-job"]))
        )
    return sorted((r for r in runs if r.created >= since), key=lambda r: r.created)


async def _all_runs(since: datetime) -> list:
    from prefect import get_client

    async with get_client() as client:
        return [r for r in await client.read_flow_runs(limit=200) if r.created >= since]


async def _slots(host: str) -> int:
    from prefect import get_client

    async with get_client() as client:
        return (await client.read_global_concurrency_limit_by_name(f"gpu:{host}")).active_slots


async def _online(pool: str = "vlmhb-models") -> set[str]:
    from prefect import get_client

    async with get_client() as client:
        return {w.name for w in await client.read_workers_for_work_pool(pool) if w.status == "ONLINE"}


async def _states(flow_run_id) -> list:
    from prefect import get_client

    async with get_client() as client:
        return await client.read_flow_run_states(flow_run_id)


def _answered(journal: Path) -> list[str]:
    data = journal.read_bytes() if journal.exists() else b""
    lines = data[: data.rfind(b"\n") + 1].splitlines()
    return [r["sample_id"] for r in map(json.loads, lines) if r.get("error") is None]


def _config(root: Path, servers) -> Path:
    simple_dataset(root / "d0", SAMPLES)
    (root / "datasets.csv").write_text("name;task;format;path\nd0;vqa;vlmhyperbench;d0\n")
    rows = [f"{name};openai;synthetic;{servers[name].base_url};none;1;1;16" for name in ANSWER_MS]
    header = "name;backend;model;base_url;env;concurrency;gpus;max_tokens\n"
    (root / "models.csv").write_text(header + "\n".join(rows) + "\n")
    return root


@pytest.mark.slow
@pytest.mark.docker
def test_a_host_that_dies_mid_model_leaves_its_model_to_the_other_host(stand, deployed, tmp_path):
    require(docker_problem() is None, f"workers of a Docker pool need Docker: {docker_problem()}")
    import docker

    since = datetime.now(UTC)
    specs = {m: ("--ttft-ms", str(ms), "--tokens", "2", "--itl-ms", "5") for m, ms in ANSWER_MS.items()}
    workers = {host: stand.worker(host) for host in HOSTS}
    bench = None
    try:
        with fault_servers(**specs) as servers:
            config = _config(tmp_path / "config", servers)
            wait_for(lambda: set(HOSTS) <= _run(_online()), 90, 1, "both workers online")
            run_id = f"dead-hosts-{uuid.uuid4().hex[:8]}"
            run_dir = stand.results / run_id
            env = {**stand.env, "VLMHB_DISPATCH": "pool", "VLMHB_GPU_DEVICES": "none"}
            log = tmp_path / "bench.log"
            bench = start_cli("--config", str(config), "--run-id", run_id, env=env, log=log)

            def placed() -> dict:
                runs = [r for r in _run(_job_runs(since)) if r.state and r.state.is_running()]
                return {(r.labels or {}).get("prefect.worker.name"): r for r in runs}

            wait_for(lambda: set(HOSTS) <= set(placed()), 240, 1, "a model running on each host")
            on_host = placed()
            victim_run, survivor_run = on_host["host-a"], on_host["host-b"]
            victim = victim_run.parameters["model"]
            journal = run_dir / "predictions" / victim / "d0.journal.jsonl"
            wait_for(lambda: len(_answered(journal)) >= KILL_AFTER, 120, 0.2, f"answers of {victim}")
            assert (_run(_slots("host-a")), _run(_slots("host-b"))) == (1, 1), "each host holds its own slot"

            # host-a dies: its worker (kill -9) and its job container (docker kill)
            os.killpg(workers["host-a"].pid, signal.SIGKILL)
            client = docker.from_env()
            containers = client.containers.list(filters={"label": f"io.prefect.flow-run-id={victim_run.id}"})
            assert containers, "host-a's job container"
            for container in containers:
                container.kill()
            killed = datetime.now(UTC)
            before = _answered(journal)

            # A live job's lease is renewed: host-b's slot outlives a lease (and the repossessor's loop).
            renewal = survivor_run.state.timestamp.timestamp() + LEASE_S + REPOSSESSOR_S + 5
            time.sleep(max(0.0, renewal - time.time()))
            survivor = _run(_job_runs(since))
            assert [r for r in survivor if r.id == survivor_run.id][0].state.is_running(), "host-b's model"
            assert _run(_slots("host-b")) == 1, "a live job's lease is renewed"

            code = finish(bench, 480)
            ended = datetime.now(UTC)
            assert code == 0, log.read_text(errors="replace")[-6000:] + stand.log("worker-host-b.log")

            manifest = json.loads((run_dir / "manifest.json").read_text())
            assert [p["status"] for p in manifest["pairs"]] == ["completed", "completed"], manifest["pairs"]
            for model in ANSWER_MS:  # every sample answered exactly once in the predictions
                ids = pl.read_parquet(run_dir / "predictions" / model / "d0.parquet")["sample_id"]
                assert ids.len() == SAMPLES == ids.n_unique(), model
                outcome = json.loads((run_dir / "pairs" / model / "job-outcome.json").read_text())
                assert outcome["environment"]["host"] == "host-b", (model, outcome["environment"])
            answered = _answered(journal)
            assert all(answered.count(s) == 1 for s in before), "an answer given before the death asked again"
            requests = servers[victim].stats()["requests"]
            assert requests <= SAMPLES + 1, f"{requests} requests for {SAMPLES} samples"
            assert "host-a" in " ".join(manifest["environments"][victim]["host_deaths"])

            runs = _run(_job_runs(since))
            mine = [r for r in runs if r.parameters["model"] == victim]
            assert [r.id for r in mine][0] == victim_run.id and len(mine) == 2, [r.name for r in mine]
            dead, again = mine
            assert dead.state.is_crashed() and "heartbeat" in (dead.state.message or ""), dead.state
            crashed_at = next(s.timestamp for s in _run(_states(dead.id)) if s.is_crashed())
            running_at = next(s.timestamp for s in _run(_states(again.id)) if s.is_running())
            assert (again.labels or {}).get("prefect.worker.name") == "host-b"
            left = [r.name for r in _run(_all_runs(since)) if r.state.type.value in ("RUNNING", "PENDING")]
            assert not left, f"flow runs left open: {left}"
            wait_for(lambda: _run(_slots("host-a")) == 0, LEASE_S + 2 * REPOSSESSOR_S, 1, "gpu:host-a freed")
            ours = {str(r.id) for r in runs}
            open_containers = [
                c.name for c in client.containers.list() if c.labels.get("io.prefect.flow-run-id") in ours
            ]
            assert not open_containers, open_containers
            client.close()
            after = {
                "marked Crashed": crashed_at - killed,
                f"{victim} running on host-b": running_at - killed,
                "benchmark done": ended - killed,
            }
            print(
                f"\nhost-a died after {len(before)} answers of {victim} (heartbeats every {HEARTBEAT_S} s, "
                f"dead after {DEAD_AFTER_S} s); after the kill: "
                + ", ".join(f"{k} {v.total_seconds():.0f} s" for k, v in after.items())
                + f"; {requests / SAMPLES:.2f} requests per sample; Crashed by: {dead.state.message}"
            )
    finally:
        if bench is not None and bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
        for worker in workers.values():
            stand.stop(worker)

"""Scale across GPU hosts, and the cost of one dying (not a test).

    python bench/bench_pool.py                       # 12 models of ~30 s on 1, 2 and 3 workers, then a death
    python bench/bench_pool.py --models 6 --workers 1,3 --dead-after 60

A Prefect server of its own (`prefect server start`, SQLite) and `vlmhb deploy` (pools, gpu:<host> limits,
automations, the orchestrator image); then, per worker count, that many Docker workers on this machine,
each acting as its own GPU host (`vlmhb worker --host host-N`: its own name, its own gpu:host-N slot, one
run at a time), and the benchmark of MODELS models dispatched to them (VLMHB_DISPATCH=pool). Each model is
an `openai` row against a synthetic endpoint on 127.0.0.1 whose answers take --answer-ms (a sleep, not
CPU: the 2 cores are not what is measured), --samples of them one at a time; `gpus` = 1 makes each hold
its host's slot (VLMHB_GPU_DEVICES=none: no GPU is asked of Docker, this machine has none).

Printed: the benchmark's wall time per worker count and its speed-up over one worker (target: 3 workers
>= 2.5x); then, with as many workers as the largest count, the host of one model is killed (its worker,
kill -9, and its job container, docker kill) after 3 answers, and the bench prints when its run was marked
Crashed, when the model ran again on another host (both after the kill), and the requests per sample.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def write_config(root: Path, models: int, samples: int, base_url: str) -> Path:
    from tests.support.fault_servers import simple_dataset

    simple_dataset(root / "d0", samples)
    (root / "datasets.csv").write_text("name;task;format;path\nd0;vqa;vlmhyperbench;d0\n")
    rows = [f"m{i:02d};openai;synthetic;{base_url};none;1;1;16" for i in range(models)]
    header = "name;backend;model;base_url;env;concurrency;gpus;max_tokens\n"
    (root / "models.csv").write_text(header + "\n".join(rows) + "\n")
    return root


async def online_workers() -> set[str]:
    from prefect import get_client

    async with get_client() as client:
        workers = await client.read_workers_for_work_pool("vlmhb-models")
    return {w.name for w in workers if w.status == "ONLINE"}


async def job_runs(run_dir: Path) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["evaluate-model-job"])), limit=200
        )
        found = [r for r in runs if Path(r.parameters.get("run_dir", "/")) == run_dir.resolve()]
        states = {r.id: await client.read_flow_run_states(r.id) for r in found}
    return sorted(found, key=lambda r: r.created), states


def start_workers(stand, hosts: list[str]) -> list:
    from tests.support.fault_servers import wait_for

    workers = [stand.worker(host) for host in hosts]
    wait_for(lambda: set(hosts) <= asyncio.run(online_workers()), 120, 1, "workers online")
    return workers


def run_benchmark(stand, config: Path, log: Path, run_id: str):
    from tests.support.fault_servers import start_cli

    env = {**stand.env, "VLMHB_DISPATCH": "pool", "VLMHB_GPU_DEVICES": "none"}
    return start_cli("--config", str(config), "--run-id", run_id, env=env, log=log)


def stop_benchmark(proc) -> None:
    """An interrupted bench leaves no benchmark behind (it cancels its per-model runs as it stops)."""
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except Exception:
            os.killpg(proc.pid, signal.SIGKILL)


def scale(stand, config: Path, counts: list[int], tmp: Path) -> dict[int, float]:
    from tests.support.fault_servers import finish

    walls = {}
    for count in counts:
        workers = start_workers(stand, [f"host-{i + 1}" for i in range(count)])
        proc = None
        try:
            load = os.getloadavg()[0]
            started = time.perf_counter()
            run_id = f"scale-{count}-{uuid.uuid4().hex[:6]}"
            proc = run_benchmark(stand, config, tmp / f"bench-{count}.log", run_id)
            code = finish(proc, 3600)
            walls[count] = time.perf_counter() - started
            print(
                f"{count} worker(s): {walls[count]:.0f} s (exit {code}; load average {load:.1f} at its start "
                f"and {os.getloadavg()[0]:.1f} at its end, on {os.cpu_count()} cores)",
                flush=True,
            )
        finally:
            stop_benchmark(proc)
            for worker in workers:
                stand.stop(worker)
    return walls


def death(stand, config: Path, count: int, samples: int, server, tmp: Path) -> None:
    """COUNT workers; the host of the first model to answer 3 times dies; when was it seen, and rerun."""
    import docker

    from tests.support.fault_servers import finish, wait_for

    hosts = [f"host-{i + 1}" for i in range(count)]
    workers = dict(zip(hosts, start_workers(stand, hosts)))
    run_id = f"death-{uuid.uuid4().hex[:6]}"
    run_dir = stand.results / run_id
    server.reset()
    proc = None
    try:
        proc = run_benchmark(stand, config, tmp / "death.log", run_id)

        def victim():
            for run in asyncio.run(job_runs(run_dir))[0]:
                journal = run_dir / "predictions" / run.parameters["model"] / "d0.journal.jsonl"
                host = (run.labels or {}).get("prefect.worker.name")
                if (
                    host
                    and run.state.is_running()
                    and journal.exists()
                    and journal.read_bytes().count(b"\n") >= 3
                ):
                    return run, host
            return None

        wait_for(lambda: victim() is not None, 600, 0.5, "a model with 3 answers")
        run, host = victim()
        os.killpg(workers[host].pid, signal.SIGKILL)
        client = docker.from_env()
        for container in client.containers.list(filters={"label": f"io.prefect.flow-run-id={run.id}"}):
            container.kill()
        client.close()
        killed = datetime.now(UTC)
        code = finish(proc, 3600)
        runs, states = asyncio.run(job_runs(run_dir))
        model = run.parameters["model"]
        dead, *again = [r for r in runs if r.parameters["model"] == model]
        crashed = next((s.timestamp for s in states[dead.id] if s.is_crashed()), None)
        running = next((s.timestamp for r in again for s in states[r.id] if s.is_running()), None)

        def after(moment):
            return f"{(moment - killed).total_seconds():.0f} s" if moment else "never"

        requests = server.stats()["requests"]
        models = len({r.parameters["model"] for r in runs})
        elsewhere = (again[0].labels or {}).get("prefect.worker.name") if again else "no host"
        print(
            f"death of {host} ({model}, {count} workers, exit {code}): marked Crashed {after(crashed)} after "
            f"the kill ({dead.state.message}); {model} running on {elsewhere} {after(running)} after it; "
            f"{requests / (models * samples):.3f} requests per sample",
            flush=True,
        )
    finally:
        stop_benchmark(proc)
        for worker in workers.values():
            stand.stop(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=12)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--answer-ms", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--dead-after", type=int, default=120, help="VLMHB_DEAD_AFTER_S (production: 120)")
    parser.add_argument("--no-death", action="store_true")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    from tests.support.fault_servers import fault_servers
    from tests.support.stand import Stand

    with tempfile.TemporaryDirectory(prefix="vlmhb-bench-pool-") as folder:
        tmp = Path(folder)
        hosts = tuple(f"host-{i + 1}" for i in range(max(counts)))
        stand = Stand(tmp, hosts=hosts)
        stand.env["VLMHB_DEAD_AFTER_S"] = str(args.dead_after)
        try:
            stand.start_server()
            started = time.perf_counter()
            deployed = stand.vlmhb("deploy", "--names", "nightly,models")
            if deployed.returncode != 0:
                raise SystemExit(f"deploy failed:\n{deployed.stdout[-3000:]}\n{deployed.stderr[-3000:]}")
            print(
                f"deploy (server side, orchestrator image): {time.perf_counter() - started:.0f} s", flush=True
            )
            os.environ["PREFECT_API_URL"] = stand.url
            with fault_servers(
                m=("--ttft-ms", str(args.answer_ms), "--tokens", "2", "--itl-ms", "5")
            ) as servers:
                config = write_config(tmp / "config", args.models, args.samples, servers["m"].base_url)
                print(
                    f"{args.models} models x {args.samples} samples x {args.answer_ms / 1000:g} s "
                    f"(~{args.samples * args.answer_ms / 1000:.0f} s a model), one GPU slot per host",
                    flush=True,
                )
                walls = scale(stand, config, counts, tmp)
                base = walls[counts[0]]
                print(
                    json.dumps(
                        {
                            f"{n} workers": {"wall_s": round(w, 1), "speedup": round(base / w, 2)}
                            for n, w in walls.items()
                        }
                    )
                )
                if not args.no_death:
                    death(stand, config, max(counts), args.samples, servers["m"], tmp)
        finally:
            stand.close()


if __name__ == "__main__":
    main()

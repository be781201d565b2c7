"""`make deploy`: work pools, global concurrency limits and the deployments of prefect.yaml, against the
Prefect server that PREFECT_API_URL names. Idempotent: what exists is left as it is (a limit whose size
changed is updated), and a second run changes nothing.

    python deployments/deploy.py [--gpu-hosts HOST[=SLOTS],...] [--names nightly,manual,models]

  work pools   vlmhb-process (process)   the manual deployment
               vlmhb-docker  (docker)    the nightly deployment (orchestrator image)
               vlmhb-models  (docker)    per-model runs (each model's job image)
  limits       gpu:<host> for each GPU host (default: this host; VLMHB_GPU_HOSTS or --gpu-hosts), 1 slot
               unless given: how many models may run on that host at once
  deployments  `prefect deploy --all` on prefect.yaml; without a Docker engine the nightly deployment
               (which builds the orchestrator image) is skipped with a warning

Defaults of prefect.yaml's variables, when not set: VLMHB_PROJECT_DIR (this checkout), VLMHB_RESULTS_DIR
(<checkout>/results), VLMHB_CACHE_DIR (~/.cache/vlmhyperbench), VLMHB_ORCHESTRATOR_IMAGE
(vlmhyperbench-orchestrator), VLMHB_BASE_IMAGE (vlmhyperbench-base:bookworm-py3.11).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POOLS = {"vlmhb-process": "process", "vlmhb-docker": "docker", "vlmhb-models": "docker"}
DOCKER_DEPLOYMENTS = {"nightly"}
ALL_DEPLOYMENTS = ["nightly", "manual", "models"]
"""prefect.yaml's deployment names (flows benchmark, benchmark, evaluate-model-job)."""


def variable_defaults() -> dict[str, str]:
    return {
        "VLMHB_PROJECT_DIR": str(REPO),
        "VLMHB_RESULTS_DIR": str(REPO / "results"),
        "VLMHB_CACHE_DIR": str(Path.home() / ".cache" / "vlmhyperbench"),
        "VLMHB_ORCHESTRATOR_IMAGE": "vlmhyperbench-orchestrator",
        "VLMHB_BASE_IMAGE": "vlmhyperbench-base:bookworm-py3.11",
    }


def parse_gpu_hosts(text: str | None) -> dict[str, int]:
    hosts: dict[str, int] = {}
    for item in (text or socket.gethostname()).split(","):
        host, _, slots = item.strip().partition("=")
        if not host:
            continue
        if slots and not (slots.isdigit() and int(slots) > 0):
            raise SystemExit(f"deploy: --gpu-hosts {item!r}: SLOTS must be a positive integer")
        hosts[host] = int(slots or 1)
    return hosts


def base_job_template(pool_type: str) -> dict:
    if pool_type == "process":
        from prefect.workers.process import ProcessWorker

        return ProcessWorker.get_default_base_job_template()
    try:
        from prefect_docker.worker import DockerWorker
    except ImportError:
        raise SystemExit(
            "deploy: Docker work pools need prefect-docker: pip install 'vlmhyperbench[docker]'"
        ) from None
    return DockerWorker.get_default_base_job_template()


async def ensure_pools_and_limits(gpu_hosts: dict[str, int]) -> list[str]:
    from prefect import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
        WorkPoolCreate,
    )
    from prefect.exceptions import ObjectNotFound

    done = []
    async with get_client() as client:
        for name, pool_type in POOLS.items():
            try:
                pool = await client.read_work_pool(name)
                if pool.type != pool_type:
                    print(
                        f"deploy: warning: work pool {name} exists with type {pool.type}, not {pool_type}; "
                        "left as it is",
                        file=sys.stderr,
                    )
                done.append(f"work pool {name} ({pool.type}): exists")
            except ObjectNotFound:
                await client.create_work_pool(
                    WorkPoolCreate(name=name, type=pool_type, base_job_template=base_job_template(pool_type))
                )
                done.append(f"work pool {name} ({pool_type}): created")
        for host, slots in gpu_hosts.items():
            name = f"gpu:{host}"
            try:
                limit = await client.read_global_concurrency_limit_by_name(name)
                if limit.limit != slots:
                    await client.update_global_concurrency_limit(
                        name, GlobalConcurrencyLimitUpdate(limit=slots)
                    )
                    done.append(f"concurrency limit {name}: {limit.limit} -> {slots}")
                else:
                    done.append(f"concurrency limit {name} ({slots}): exists")
            except ObjectNotFound:
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=slots)
                )
                done.append(f"concurrency limit {name} ({slots}): created")
    return done


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env()
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deployments/deploy.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--gpu-hosts",
        default=os.environ.get("VLMHB_GPU_HOSTS"),
        help="HOST[=SLOTS],... (default: VLMHB_GPU_HOSTS, else this host with 1 slot)",
    )
    parser.add_argument(
        "--names", default=None, help="comma-separated deployment names of prefect.yaml (default: all)"
    )
    args = parser.parse_args(argv)

    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        print(
            "deploy: PREFECT_API_URL is not set: point it at your Prefect server "
            "(e.g. export PREFECT_API_URL=http://127.0.0.1:4200/api after `prefect server start`)",
            file=sys.stderr,
        )
        return 2
    env = {**variable_defaults(), **os.environ}
    os.environ.update(env)  # the step outputs below read them too
    for line in asyncio.run(ensure_pools_and_limits(parse_gpu_hosts(args.gpu_hosts))):
        print(f"deploy: {line}")

    names = [n.strip() for n in args.names.split(",")] if args.names else list(ALL_DEPLOYMENTS)
    if not docker_answers() and DOCKER_DEPLOYMENTS.intersection(names):
        print(
            "deploy: warning: no Docker engine answers: skipping "
            f"{', '.join(sorted(DOCKER_DEPLOYMENTS.intersection(names)))} "
            "(it builds the orchestrator image)",
            file=sys.stderr,
        )
        names = [n for n in names if n not in DOCKER_DEPLOYMENTS]
    # The build steps run `python -m environments.job_images`: this interpreter, whose venv has the project.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    prefect = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--prefect-file", "prefect.yaml"]
    if names == ALL_DEPLOYMENTS:
        prefect.append("--all")
    else:
        for name in names:
            prefect += ["--name", name]
    proc = subprocess.run(prefect, cwd=REPO, env=env)
    if proc.returncode != 0:
        print(f"deploy: `prefect deploy` exited {proc.returncode}", file=sys.stderr)
        return proc.returncode
    print(f"deploy: {len(names)} deployments up to date: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

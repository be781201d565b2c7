"""`vlmhb deploy` (`make deploy`): work pools, global concurrency limits and the deployments of prefect.yaml,
against the Prefect server that PREFECT_API_URL names. Idempotent: what exists is left as it is (a limit
whose size changed is updated), and a second run changes nothing.

    vlmhb deploy [--gpu-hosts HOST[=SLOTS],...] [--names nightly,manual,models]
    python -m flows.cli.deploy ...        the same (deployments/deploy.py too)

  work pools   vlmhb-process (process)   the manual deployment
               vlmhb-docker  (docker)    the nightly deployment (orchestrator image)
               vlmhb-models  (docker)    per-model runs (each model's job image)
  limits       gpu:<host> for each GPU host (default: this host; VLMHB_GPU_HOSTS or --gpu-hosts), 1 slot
               unless given: how many models may run on that host at once
  automations  a per-model run silent for VLMHB_DEAD_AFTER_S is marked Crashed (its host died); with
               VLMHB_ALERT_WEBHOOK_URL, a benchmark run that ends Failed or Crashed calls that webhook
               (flows/cli/automations.py)
  deployments  `prefect deploy` of prefect.yaml's deployments; the nightly one builds the orchestrator image
               from the base image, which is built first when it is missing; where no Docker engine answers
               (or the base cannot be made), it is skipped

It ends with a summary: each deployment asked for, deployed or not and why, then the pools and limits.

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
from datetime import UTC, datetime
from pathlib import Path

from vlmhb_core.console import command_parser

REPO = Path(__file__).resolve().parents[2]
POOLS = {"vlmhb-process": "process", "vlmhb-docker": "docker", "vlmhb-models": "docker"}
DOCKER_DEPLOYMENTS = {"nightly"}


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


async def ensure_server_side(gpu_hosts: dict[str, int]) -> list[str]:
    """Pools, limits and automations: what the server holds beside the deployments."""
    from flows.cli.automations import ensure_automations

    return await ensure_pools_and_limits(gpu_hosts) + await ensure_automations()


def docker_problem() -> str | None:
    """Why the Docker deployments cannot be made here (one line that says how to fix it), or None. The
    nightly deployment builds the orchestrator image FROM the base image: that is made here when missing."""
    from environments.base_image import ensure_base_image
    from environments.docker import _client
    from environments.job_images import base_image
    from vlmhb_core.errors import EnvBuildError
    from vlmhb_core.settings import get_settings

    try:
        import prefect_docker  # noqa: F401
    except ImportError:
        return "Docker work pools need prefect-docker: pip install 'vlmhyperbench[docker]'"
    try:
        client = _client()
    except EnvBuildError as exc:  # no SDK, or no engine
        return str(exc)
    try:
        ensure_base_image(
            client, base_image(), get_settings().cache_dir, lambda line: print(f"deploy: {line}")
        )
    except EnvBuildError as exc:
        return str(exc)
    finally:
        client.close()
    return None


def declared_deployments() -> dict[str, str]:
    """prefect.yaml's deployment names -> their work pool."""
    import yaml

    project = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d["work_pool"]["name"] for d in project["deployments"]}


async def deployed_since(names: list[str], since: datetime) -> dict[str, str]:
    """Deployment name -> `flow/name` of those among NAMES the server holds as updated since SINCE."""
    from prefect import get_client

    async with get_client() as client:
        found = await client.read_deployments()
        flows = {f.id: f.name for f in await client.read_flows()}
    return {
        d.name: f"{flows.get(d.flow_id, '?')}/{d.name}"
        for d in found
        if d.name in names and d.updated is not None and d.updated >= since
    }


def print_summary(setup: list[str], outcome: dict[str, tuple[str, str]], pools: dict[str, str]) -> None:
    """The last thing `deploy` prints: every deployment of prefect.yaml asked for, deployed or not and why,
    then the pools and limits."""
    from vlmhb_core.console import print_table

    rows = [
        [name, status, why or f"work pool {pools.get(name, '?')}"] for name, (status, why) in outcome.items()
    ]
    rows += [["", "", line] for line in setup]
    print()
    print_table(
        ["deployment", "status", "where, or why not"],
        rows,
        title="deploy: summary",
        fold=("where, or why not",),
    )


PROG = "python -m flows.cli.deploy"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line's parser (also `vlmhb deploy`'s, under PROG)."""
    parser = command_parser(
        prog,
        __doc__.split("\n\n")[0],
        "                                   # PREFECT_API_URL names the server; idempotent",
        "--gpu-hosts gpu-a,gpu-b=2 --names manual,models",
    )
    parser.add_argument(
        "--gpu-hosts",
        default=os.environ.get("VLMHB_GPU_HOSTS"),
        help="HOST[=SLOTS],... (default: VLMHB_GPU_HOSTS, else this host with 1 slot)",
    )
    parser.add_argument(
        "--names", default=None, help="comma-separated deployment names of prefect.yaml (default: all)"
    )
    return parser


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """`make deploy`, `vlmhb deploy`: 0 when every deployment asked for that can be made here was made (a
    Docker one is skipped, with the reason in the summary, where no Docker engine answers); 1 when
    `prefect deploy` failed; 2 bad usage or no PREFECT_API_URL."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    pools = declared_deployments()
    names = [n.strip() for n in args.names.split(",") if n.strip()] if args.names else list(pools)
    unknown = [n for n in names if n not in pools]
    if unknown:
        parser.error(
            f"--names: unknown deployment(s) {', '.join(unknown)} (prefect.yaml has: {', '.join(pools)})"
        )

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
    setup = asyncio.run(ensure_server_side(parse_gpu_hosts(args.gpu_hosts)))
    for line in setup:
        print(f"deploy: {line}")

    outcome: dict[str, tuple[str, str]] = {}
    if DOCKER_DEPLOYMENTS.intersection(names):
        problem = docker_problem()
        if problem:
            for name in sorted(DOCKER_DEPLOYMENTS.intersection(names)):
                outcome[name] = ("NOT deployed", f"{problem}; then `{prog} --names {name}`")
            names = [n for n in names if n not in DOCKER_DEPLOYMENTS]
    code = 0
    if names:
        # The build steps run `python -m environments.job_images`: this interpreter, with the project.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        prefect = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--prefect-file", "prefect.yaml"]
        for name in names:
            prefect += ["--name", name]
        started = datetime.now(UTC)
        proc = subprocess.run(prefect, cwd=REPO, env=env)
        done = asyncio.run(deployed_since(names, started))
        for name in names:
            if name in done:
                outcome[name] = ("deployed", f"{done[name]} on work pool {pools[name]}")
            else:
                code = 1
                outcome[name] = (
                    "NOT deployed",
                    f"`prefect deploy` exited {proc.returncode}: see its output above",
                )
        if proc.returncode != 0:
            code = 1
    print_summary(setup, dict(sorted(outcome.items(), key=lambda kv: list(pools).index(kv[0]))), pools)
    return code


if __name__ == "__main__":
    sys.exit(main())

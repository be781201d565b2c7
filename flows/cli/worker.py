"""`vlmhb worker`: the Docker worker of a GPU host for the per-model pool, named after its host.

    vlmhb worker [--host NAME] [--slots N] [--pool vlmhb-models]
        = prefect worker start --pool vlmhb-models --type docker --name NAME --limit N

NAME (default: VLMHB_GPU_HOST, else the hostname) is the host's name in its limit gpu:NAME. A worker hands
its name to every job it starts (PREFECT__WORKER_NAME), so a job holds the slot of the host it really runs
on, whatever the host's hostname (flows/dispatch.py, gpu_host), and the benchmark names the host of a run
that died (flows/liveness.py). N (default: the limit's slots, else 1) is how many runs the worker takes at
once: a busy host leaves the next run to another worker instead of queueing it behind its own.

The command becomes the Prefect worker (exec): its signals, its exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys

from vlmhb_core.console import command_parser

PROG = "python -m flows.cli.worker"
POOL = "vlmhb-models"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = command_parser(
        prog,
        __doc__.split("\n\n")[0],
        "                                   # this host, named as VLMHB_GPU_HOST or its hostname",
        "--host gpu-a --slots 2",
    )
    parser.add_argument("--host", default=None, help="its name in gpu:<host> (default: VLMHB_GPU_HOST)")
    parser.add_argument("--slots", type=int, default=None, help="runs at once (default: the limit's slots)")
    parser.add_argument("--pool", default=POOL, help="the work pool (default: %(default)s)")
    return parser


async def host_slots(host: str) -> int | None:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            return (await client.read_global_concurrency_limit_by_name(f"gpu:{host}")).limit
        except ObjectNotFound:
            return None


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """Execs the Prefect worker; 2 for bad usage or no PREFECT_API_URL."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    from prefect.settings import PREFECT_API_URL

    from vlmhb_core.settings import Settings

    if not PREFECT_API_URL.value():
        print(f"{prog}: PREFECT_API_URL is not set: point it at your Prefect server", file=sys.stderr)
        return 2
    host = args.host or Settings().gpu_host or socket.gethostname()
    if args.slots is not None and args.slots < 1:
        parser.error("--slots must be at least 1")
    slots = asyncio.run(host_slots(host))
    if slots is None:
        print(
            f"{prog}: warning: the limit gpu:{host} does not exist: GPU models here would hold no slot "
            f"(`vlmhb deploy --gpu-hosts {host}` makes it)",
            file=sys.stderr,
        )
    limit = args.slots or slots or 1
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", args.pool, "--type", "docker"]
    command += ["--name", host, "--limit", str(limit)]
    print(f"{prog}: worker {host} on {args.pool}, {limit} run(s) at once", file=sys.stderr, flush=True)
    os.execv(sys.executable, command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())

"""An aiohttp app as a process of its own: how the test servers (synthetic_server, flaky_prefect_api)
start, say their port, and stop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator

from aiohttp import web

from tests.support.support import REPO


async def serve_forever(app: web.Application, port: int = 0) -> None:
    """Serves APP on 127.0.0.1:PORT (0: a free one), prints `PORT n` once it listens, then serves until
    the process is stopped."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


def start(module: str, *args: str, what: str, **popen) -> tuple[subprocess.Popen, int]:
    """`python -m MODULE ARGS` (a module whose main ends in serve_forever), from the repository's root:
    (the process, the port it printed once it listened)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=REPO, stdout=subprocess.PIPE, text=True, **popen
    )
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"{what} did not start (exit code {proc.returncode}, said {line!r})")
    return proc, int(line.split()[1])


@contextlib.contextmanager
def launched(module: str, *args: str, what: str, **popen) -> Iterator[int]:
    """start(MODULE, ARGS) for the block: yields its port, and stops it after (terminate, then kill)."""
    proc, port = start(module, *args, what=what, **popen)
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

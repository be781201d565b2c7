"""A Prefect server of its own (`prefect server start`, SQLite, 127.0.0.1) and the environment of the
processes that use it (the `vlmhb` command, workers), for the tests and benches of deployments and pools.

    stand = Stand(folder, alert_url)
    stand.start_server()                    # waits for /api/health
    stand.vlmhb("deploy")                   # pools, limits, automations, deployments
    worker = stand.worker("host-a")         # `vlmhb worker --host host-a`: a GPU host of the per-model pool
    stand.close()                           # every process it started

    with serving(folder, alert_url) as stand:   # a test module's stand: started, this process's client on it
        deploy(stand)                           # `vlmhb deploy`, timed (stand.deploy_s); raises if it fails

Its settings are the tests' own where production's would make one wait minutes: heartbeats every 30 s
(Prefect's floor) and a run dead after 60 s of silence; the server's repossessor looks for expired leases
every 5 s. An HTTP receiver on 127.0.0.1 stands for the alert webhook (VLMHB_ALERT_WEBHOOK_URL).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.support import REPO

HOSTS = ("host-a", "host-b")
"""Two GPU hosts that are two workers on this machine, each named after its host (`vlmhb worker`)."""
HEARTBEAT_S, DEAD_AFTER_S = 30, 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker_problem() -> str | None:
    try:
        import docker
        import prefect_docker  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install 'vlmhyperbench[docker]')"
    try:
        client = docker.from_env()
        client.ping()
        from environments.docker import BASE_IMAGE

        client.images.get(BASE_IMAGE)
        client.close()
    except docker.errors.ImageNotFound:
        return "the base image is missing (deployments/build_base_image.sh)"
    except docker.errors.DockerException as exc:
        return f"no Docker engine answers ({exc})"
    return None


class AlertReceiver:
    """A webhook receiver on 127.0.0.1: every POST's JSON body, in order."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"content_type": self.headers.get("Content-Type"), "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/vlmhb"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def payloads(self) -> list[dict]:
        return [json.loads(item["body"]) for item in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Stand:
    """A Prefect server in folder TMP and the environment the processes that use it run with."""

    def __init__(self, tmp: Path, alert_url: str | None = None, hosts: tuple[str, ...] = HOSTS):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.results = tmp / "results"
        self.results.mkdir()
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(tmp / "prefect-home"),
            "PREFECT_API_URL": self.url,
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp / 'prefect.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "5",
            "VLMHB_RESULTS_DIR": str(self.results),
            "VLMHB_GPU_HOSTS": ",".join((socket.gethostname(), *hosts)),
            "VLMHB_HEARTBEAT_S": str(HEARTBEAT_S),
            "VLMHB_DEAD_AFTER_S": str(DEAD_AFTER_S),
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        self.env.pop("PREFECT_API_KEY", None)
        self.env.pop("VLMHB_ALERT_WEBHOOK_URL", None)
        if alert_url:
            self.env["VLMHB_ALERT_WEBHOOK_URL"] = alert_url
        self.processes: list[subprocess.Popen] = []

    def start(self, argv: list[str], log: str, **env: str) -> subprocess.Popen:
        out = open(self.tmp / log, "w")
        proc = subprocess.Popen(
            argv,
            env={**self.env, **env},
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def vlmhb(self, *args: str, timeout: float = 1500, **env: str) -> subprocess.CompletedProcess:
        """The console script `vlmhb ARGS` with the stand's environment."""
        return subprocess.run(
            [str(Path(sys.executable).with_name("vlmhb")), *args],
            env={**self.env, **env},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def deploy(self) -> subprocess.CompletedProcess:
        """`vlmhb deploy`, the console script `make deploy` runs."""
        return self.vlmhb("deploy")

    def log(self, name: str) -> str:
        path = self.tmp / name
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def start_server(self, timeout_s: float = 180) -> None:
        """`prefect server start` on the stand's port; returns once it answers (RuntimeError if not)."""
        server = self.start(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
            + ["--port", str(self.port)],
            "server.log",
        )  # its services record task runs, run the automations and free expired leases
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start:\n{self.log('server.log')}")
            time.sleep(0.5)

    def worker(self, host: str, **env: str) -> subprocess.Popen:
        """`vlmhb worker --host HOST`: a Docker worker of the per-model pool acting as the GPU host HOST."""
        vlmhb = str(Path(sys.executable).with_name("vlmhb"))
        return self.start([vlmhb, "worker", "--host", host], f"worker-{host}.log", **env)

    def close(self) -> None:
        for proc in reversed(self.processes):
            self.stop(proc)


@contextmanager
def serving(tmp: Path, alert_url: str | None = None, hosts: tuple[str, ...] = HOSTS) -> Iterator[Stand]:
    """A started stand in TMP, with this process's Prefect client pointed at it while it lasts (a test
    module's fixture: its tests share one server)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    stand = Stand(tmp, alert_url, hosts)
    try:
        stand.start_server()
        with temporary_settings({PREFECT_API_URL: stand.url}):
            try:
                yield stand
            finally:
                # The events worker is one per process whatever the API's URL: stopped here, the next test
                # gets one for its own API instead of this stand's, which is about to go (as Prefect's own
                # test harness does on exit).
                from prefect.events.worker import EventsWorker

                EventsWorker.drain_all()
    finally:
        stand.close()


def deploy(stand: Stand) -> subprocess.CompletedProcess:
    """`vlmhb deploy` against the stand, its time in stand.deploy_s; AssertionError with its output if it
    fails."""
    started = time.perf_counter()
    proc = stand.deploy()
    stand.deploy_s = time.perf_counter() - started
    assert proc.returncode == 0, f"deploy failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    return proc

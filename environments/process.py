"""Processes the benchmark starts: model servers (venv environments) and installer commands.

A model server is started in its own process group with an argv list (never a shell), its output in a
log file in the run folder, its process tree's RSS sampled in the background, and always stopped: on
`stop()`, at interpreter exit, and on an interrupt through `stop_all()`. An installer command (pip, uv)
runs through `run_child`, which gives up as soon as the run is interrupted.

STOPPING is set when the run is interrupted (Ctrl-C, SIGTERM): every wait here gives up at its next check
instead of running to its timeout, so the process can end within seconds.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import psutil

_RUNNING: set[ServerProcess] = set()
_CHILDREN: set[subprocess.Popen] = set()
_LOCK = threading.Lock()

STOPPING = threading.Event()
"""Set once the run is interrupted: waits give up, and nothing new is started."""


def request_stop() -> None:
    """Marks the run as interrupted (from a signal handler or an except clause: cheap and idempotent)."""
    STOPPING.set()


class Interrupted(Exception):
    """A wait that gave up because the run is being interrupted."""


def run_child(argv: list[str], *, poll_s: float = 0.5, **popen) -> subprocess.CompletedProcess:
    """Runs ARGV (stdout and stderr together, as text) to its end, unless the run is interrupted: then the
    command is terminated and Interrupted is raised. stop_all() terminates it too."""
    if STOPPING.is_set():
        raise Interrupted(f"not starting {Path(argv[0]).name}: the run is being interrupted")
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, **popen
    )
    with _LOCK:
        _CHILDREN.add(proc)
    try:
        while True:
            try:
                out, _ = proc.communicate(timeout=poll_s)
                break
            except subprocess.TimeoutExpired:
                if STOPPING.is_set():
                    _terminate(proc)
                    raise Interrupted(
                        f"{Path(argv[0]).name} was stopped: the run is being interrupted"
                    ) from None
    finally:
        with _LOCK:
            _CHILDREN.discard(proc)
    return subprocess.CompletedProcess(argv, proc.returncode, out, None)


def run_logged(argv: list[str], log_path: Path, on_line, *, poll_s: float = 0.5, **popen) -> int:
    """Runs ARGV with its output (stdout and stderr) in LOG_PATH, handing each line to ON_LINE as it comes,
    and returns its exit code; like run_child, it gives up (Interrupted) when the run is interrupted."""
    if STOPPING.is_set():
        raise Interrupted(f"not starting {Path(argv[0]).name}: the run is being interrupted")
    with (
        open(log_path, "w", encoding="utf-8") as out,
        open(log_path, encoding="utf-8", errors="replace") as log,
    ):
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **popen)
        with _LOCK:
            _CHILDREN.add(proc)
        pending = ""
        try:
            while True:
                done = proc.poll() is not None  # read after the check: nothing written before the end is lost
                pending += log.read()
                *lines, pending = pending.split("\n")
                for line in lines:
                    on_line(line)
                if done:
                    if pending:
                        on_line(pending)
                    return proc.returncode
                if STOPPING.is_set():
                    _terminate(proc)
                    raise Interrupted(f"{Path(argv[0]).name} was stopped: the run is being interrupted")
                time.sleep(poll_s)
        finally:
            with _LOCK:
                _CHILDREN.discard(proc)


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def read_tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64_000))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


class MemorySampler:
    """Samples a callable that returns MB every INTERVAL seconds in a daemon thread; keeps the peak."""

    def __init__(self, probe, interval: float = 0.2):
        self.probe, self.interval = probe, interval
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="memory-sampler")
        self._thread.start()

    def sample(self) -> None:
        try:
            value = self.probe()
        except Exception:  # the process may be gone between two samples
            return
        if value is not None and (self.peak_mb is None or value > self.peak_mb):
            self.peak_mb = value

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def close(self) -> None:
        self.sample()
        self._stop.set()


def tree_rss_mb(pid: int) -> float | None:
    """Resident memory of PID and all its descendants, in MB."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total / 1e6


class ServerProcess:
    """A model server running as a subprocess on HOST:PORT."""

    def __init__(
        self,
        argv: list[str],
        *,
        port: int,
        log_path: Path,
        env: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        cwd: str | None = None,
    ):
        self.argv, self.port, self.host, self.log_path = argv, port, host, log_path
        self.base_url = f"http://{host}:{port}"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self.memory = MemorySampler(lambda: tree_rss_mb(self.proc.pid))
        with _LOCK:
            _RUNNING.add(self)

    def is_alive(self) -> bool:
        return self.proc.poll() is None

    def exit_reason(self) -> str | None:
        code = self.proc.poll()
        if code is None:
            return None
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def log_tail(self, lines: int = 30) -> str:
        return read_tail(self.log_path, lines)

    @property
    def peak_rss_mb(self) -> float | None:
        return self.memory.peak_mb

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the whole process group: SIGTERM, then SIGKILL after TIMEOUT. Idempotent."""
        with _LOCK:
            _RUNNING.discard(self)
        self.memory.close()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        else:
            # The server is gone, but a child it left could still hold the port or memory.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.close()


def stop_all() -> None:
    """Stops every server and installer command this process started (exit, Ctrl-C, flow cancellation)."""
    with _LOCK:
        running, children = list(_RUNNING), list(_CHILDREN)
    for proc in children:
        try:
            _terminate(proc)
        except Exception:
            pass
    for server in running:
        try:
            server.stop(timeout=5)
        except Exception:
            pass


atexit.register(stop_all)


_PORT_TAKEN = re.compile(r"address already in use|errno 98|eaddrinuse|only one usage of each socket", re.I)


def port_taken(log_tail: str) -> bool:
    """Whether a server that died said its port was taken: another process bound it between our probe
    (free_port) and the server's bind, a race a retry on a new port cures."""
    return bool(_PORT_TAKEN.search(log_tail))


def wait_until_ready(server, url_path: str, timeout_s: float, headers: dict | None = None) -> float:
    """Polls SERVER's URL_PATH until it answers 200; returns the seconds it took. Raises ServerError with
    the server's log tail when it dies or does not answer within TIMEOUT_S."""
    import urllib.error
    import urllib.request

    from vlmhb_core.errors import ServerError

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never via a proxy
    started = time.monotonic()
    url = server.base_url.rstrip("/") + url_path
    delay = 0.05
    while True:
        if STOPPING.is_set():
            raise ServerError("the run is being interrupted: the server was not waited for")
        if not server.is_alive():
            log_tail = server.log_tail()
            raise ServerError(
                f"the server {server.exit_reason()} before it was ready; log tail:\n{log_tail}",
                transient=port_taken(log_tail),
            )
        try:
            with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=5) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() - started > timeout_s:
            raise ServerError(
                f"the server did not answer {url_path} within {timeout_s:.0f} s; log tail:\n"
                f"{server.log_tail()}"
            )
        STOPPING.wait(delay)
        delay = min(delay * 1.5, 1.0)

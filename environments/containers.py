"""Model servers running as Docker containers: one handle per container, and a registry of them all.

Every container the benchmark starts is registered here until it is stopped, so that `stop_all()`
(from atexit, a signal handler or a flow's cancellation hook) leaves nothing running. A run killed with
SIGKILL cannot clean up; its containers carry the owner's host and pid as labels, and
`cleanup_stale()` removes those whose owner is gone.
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
from pathlib import Path

from vlmhb_core.errors import ServerError

SERVER_LABEL = "vlmhyperbench.server"
OWNER_LABEL = "vlmhyperbench.owner"
"""host:pid of the orchestrator process that started the container."""

_running: dict[str, ContainerServer] = {}
_lock = threading.Lock()
_atexit_registered = False


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ContainerServer:
    """A model server in a Docker container (network_mode host, listening on 127.0.0.1:PORT)."""

    def __init__(self, client, container, *, name: str, port: int, log_path: Path):
        self._client = client
        self.container = container
        self.id: str = container.id
        self.name = name
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = Path(log_path)
        self._stopped = False
        from environments.process import MemorySampler

        # docker stats takes about a second per call: sample slowly, the peak is what matters.
        self._memory = MemorySampler(self.memory_mb, interval=1.0)

    @property
    def peak_rss_mb(self) -> float | None:
        """Peak memory of the container seen so far (sampled), in MB."""
        return self._memory.peak_mb

    def __repr__(self) -> str:
        return f"ContainerServer({self.name!r}, {self.base_url}, {self.id[:12]})"

    def _state(self) -> dict:
        import docker

        try:
            self.container.reload()
        except docker.errors.NotFound:
            return {"Status": "removed"}
        return self.container.attrs.get("State", {})

    def is_alive(self) -> bool:
        return self._state().get("Status") == "running"

    def exit_reason(self) -> str | None:
        """None while running; else 'OOMKilled', 'exited N', 'exited N: <engine error>' or 'removed'."""
        state = self._state()
        status = state.get("Status")
        if status in ("running", "created", "restarting"):
            return None
        if state.get("OOMKilled"):
            return "OOMKilled"
        if status == "removed":
            return "removed"
        reason = f"exited {state.get('ExitCode')}"
        return f"{reason}: {state['Error']}" if state.get("Error") else reason

    def log_tail(self, n: int = 50) -> str:
        import docker

        try:
            return self.container.logs(tail=n).decode("utf-8", "replace")
        except docker.errors.NotFound:
            if not self.log_path.exists():
                return ""
            saved = self.log_path.read_text(encoding="utf-8", errors="replace")
            return "\n".join(saved.splitlines()[-n:])

    def memory_mb(self) -> float | None:
        """Memory in use now, in MB, as `docker stats` counts it (inactive page cache excluded)."""
        import docker

        try:
            stats = self.container.stats(stream=False)
        except docker.errors.NotFound:
            return None
        mem = stats.get("memory_stats") or {}
        usage = mem.get("usage")
        if usage is None:  # not running, or the engine cannot read its cgroup
            return None
        detail = mem.get("stats") or {}
        # cgroup v1 names it total_inactive_file, v2 inactive_file: the page cache the kernel reclaims first.
        cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
        return round(max(usage - cache, 0) / 2**20, 1)

    def stop(self, timeout: float = 10) -> None:
        """Stops the container (SIGTERM, then SIGKILL after TIMEOUT s), saves its whole log to log_path and
        removes it. Idempotent, and safe from atexit or a signal handler: every engine error is swallowed,
        since there is nothing left to do about a container that is already gone."""
        if self._stopped:
            return
        self._stopped = True
        self._memory.close()
        import docker

        try:
            try:
                self.container.stop(timeout=int(timeout))
            except docker.errors.APIError:
                pass
            try:
                logs = self.container.logs(stdout=True, stderr=True)
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self.log_path.write_bytes(logs)
            except (docker.errors.APIError, OSError):
                pass
            try:
                self.container.remove(force=True)
            except docker.errors.APIError:
                pass
        finally:
            with _lock:
                _running.pop(self.id, None)
            try:
                self._client.close()
            except Exception:  # noqa: BLE001 - closing a socket at exit must never raise
                pass

    def wait_ready(self, path: str = "/health", timeout_s: float = 600.0, interval_s: float = 0.5) -> float:
        """Waits until GET base_url+PATH answers 200; returns the seconds it took. ServerError (with the log
        tail) when the container dies or the timeout passes."""
        import time
        import urllib.error
        import urllib.request

        started = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(self.base_url + path, timeout=5) as resp:
                    if resp.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                pass
            reason = self.exit_reason()
            if reason is not None:
                raise ServerError(f"the {self.name} container stopped ({reason}):\n{self.log_tail(30)}")
            if time.monotonic() - started > timeout_s:
                raise ServerError(
                    f"the {self.name} container did not answer {path} within "
                    f"{timeout_s:.0f} s:\n{self.log_tail(30)}"
                )
            time.sleep(interval_s)


def register(server: ContainerServer) -> None:
    global _atexit_registered
    with _lock:
        _running[server.id] = server
        if not _atexit_registered:
            atexit.register(stop_all)
            _atexit_registered = True


def running() -> list[ContainerServer]:
    with _lock:
        return list(_running.values())


def stop_all(timeout: float = 10) -> None:
    """Stops every container this process started and has not stopped yet, in parallel."""
    servers = running()
    threads = [threading.Thread(target=s.stop, args=(timeout,), daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 30)


def cleanup_stale(label: str = SERVER_LABEL, *, force: bool = False) -> list[str]:
    """Removes containers carrying LABEL ('key' or 'key=value') that a previous, killed run left behind:
    those whose owner process is gone. FORCE removes them all, even a live run's. Returns their names."""
    import docker

    client = docker.from_env()
    removed = []
    try:
        for container in client.containers.list(all=True, filters={"label": label}):
            if not force and _owner_alive(container.labels.get(OWNER_LABEL, "")):
                continue
            try:
                container.remove(force=True)
                removed.append(container.name)
            except docker.errors.NotFound:
                pass
    finally:
        client.close()
    return removed


def _owner_alive(owner_label: str) -> bool:
    host, _, pid = owner_label.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return host != socket.gethostname() and bool(host)  # another machine's: not ours to judge
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Starting a model's server in its environment and waiting until it is ready.

Whatever the backend, the result is a handle with `base_url`, `is_alive()`, `exit_reason()`,
`log_tail()`, `peak_rss_mb` and `stop()`: the rest of the DAG never special-cases a backend.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from environments.backends import Backend, Launch
from environments.environment import Environment
from environments.process import STOPPING, MemorySampler, ServerProcess, free_port, wait_until_ready
from vlmhyperbench.errors import ServerError

# Variables that look like credentials are not handed to model servers: a server needs none of the
# orchestrator's keys, and a crashing server may print its environment.
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)


@dataclass
class ExternalServer:
    """An endpoint that already runs: nothing to start or stop, memory unknown."""

    base_url: str
    peak_rss_mb: float | None = None
    peak_gpu_mb: float | None = None

    def is_alive(self) -> bool:
        return True

    def exit_reason(self) -> str | None:
        return None

    def log_tail(self, lines: int = 30) -> str:
        return ""

    def stop(self, timeout: float = 0) -> None:
        pass


def nvml_tree_probe():
    """A probe of the GPU memory (MB) that NVML shows for a process tree, or None where NVML cannot tell
    (no nvidia-ml-py, no driver, no GPU). Any server's tree is covered, vLLM's and SGLang's workers too."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:
        return None
    if not handles:
        return None

    def probe(pid: int) -> float | None:
        import psutil

        try:
            root = psutil.Process(pid)
            pids = {pid, *(p.pid for p in root.children(recursive=True))}
        except psutil.Error:
            return None
        used = 0
        for handle in handles:
            for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if proc.pid in pids and proc.usedGpuMemory:
                    used += proc.usedGpuMemory
        return used / 1e6

    return probe


class WatchedServerProcess(ServerProcess):
    """A ServerProcess whose tree's GPU memory is sampled through NVML too (peak_gpu_mb: None without)."""

    def __init__(self, argv: list[str], **kwargs):
        super().__init__(argv, **kwargs)
        probe = nvml_tree_probe()
        self.gpu_memory = MemorySampler(lambda: probe(self.proc.pid)) if probe else None

    @property
    def peak_gpu_mb(self) -> float | None:
        return self.gpu_memory.peak_mb if self.gpu_memory else None

    def stop(self, timeout: float = 10.0) -> None:
        if self.gpu_memory:
            self.gpu_memory.close()
        super().stop(timeout)


def server_environment(env: Environment, extra: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not _SECRET_NAME.search(k)}
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        clean.pop(name, None)
    clean.update(dict(env.spec.env_vars))
    clean.update(extra)
    if env.server_path:
        clean["PYTHONPATH"] = env.server_path
    clean.setdefault("PYTHONUNBUFFERED", "1")
    return clean


def check_endpoint(model_row, base_url: str, headers: dict, model: str, timeout_s: float) -> None:
    """Waits until a running endpoint answers GET /v1/models (it may be starting, or a gateway may
    stumble: connection errors and 5xx are waited out for TIMEOUT_S), then checks that it serves MODEL.
    What retrying cannot change fails at once with what to fix: 401/403 (the key), 404 (the path), a
    model it does not serve (the models it does)."""
    import json
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never via a proxy
    url = base_url + "/v1/models"
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while True:
        if STOPPING.is_set():
            raise ServerError("the run is being interrupted: the endpoint was not waited for")
        try:
            with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as resp:
                body = resp.read()
            break
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace").strip()
            if e.code in (401, 403):
                key = model_row.api_key_env
                fix = (
                    f"check the key in the variable {key} (api_key_env)"
                    if key
                    else "the endpoint wants a key: set api_key_env to the NAME of the variable that holds it"
                )
                raise ServerError(
                    f"authentication failed: {url} answered {e.code} ({detail}); {fix}"
                ) from None
            if e.code == 404:
                raise ServerError(
                    f"{url} answered 404 Not Found: the base_url {model_row.base_url!r} is probably missing "
                    "/v1 or another part of the endpoint's path (requests go to BASE_URL/chat/completions)"
                ) from None
            if e.code < 500 and e.code != 429:
                raise ServerError(f"{url} answered {e.code}: {detail}") from None
            last = f"HTTP {e.code}: {detail}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
        if time.monotonic() > deadline:
            raise ServerError(f"the endpoint did not answer {url} within {timeout_s:.0f} s (last: {last})")
        STOPPING.wait(0.5)
    try:
        served = [m["id"] for m in json.loads(body).get("data", [])]
    except (ValueError, AttributeError, KeyError, TypeError):
        raise ServerError(f"{url} did not answer an OpenAI model list: {body[:200]!r}") from None
    if model not in served:
        raise ServerError(
            f"{base_url} does not serve model {model!r}; it serves: {', '.join(served) or 'none'} "
            "(set the row's `model` to one of them)"
        )


def launch_for(model_row, backend: Backend, port: int, host: str = "127.0.0.1") -> Launch:
    return Launch(
        model=model_row.model or backend.name,
        served_model_name=served_name(model_row, backend),
        host=host,
        port=port,
        gpus=model_row.gpus,
        args=model_row.args,
    )


def served_name(model_row, backend: Backend) -> str:
    """The model name sent in requests: an endpoint's own model id, or the name our server serves it as."""
    if backend.external:
        return model_row.model or model_row.name
    return model_row.served_model_name or model_row.name


def _start_container(env: Environment, argv: list[str], model_row, port: int, log_path: Path, manager):
    """The server as a container; a model given as a local folder is mounted read-only at the same path."""
    from environments.manager import EnvManager

    provider = (manager or EnvManager()).provider("docker")
    model_dir = Path(model_row.model).expanduser() if model_row.model else None
    mounts = (
        {str(model_dir.resolve()): str(model_dir.resolve())} if model_dir and model_dir.is_dir() else None
    )
    server = provider.start_server(
        env,
        argv,
        name=model_row.name,
        port=port,
        gpus=model_row.gpus,
        memory_limit=model_row.memory_limit,
        env_vars=dict(model_row.env_vars),
        log_path=log_path,
        mounts=mounts,
        run_id=log_path.parent.parent.name,
    )
    return server


def start_server(
    env: Environment, model_row, backend: Backend, *, log_path: Path, timeout_s: float, manager=None
):
    """Starts MODEL_ROW's server in ENV and returns its handle once it answers; raises ServerError."""
    if backend.external:
        server = ExternalServer(base_url=model_row.base_url.rstrip("/").removesuffix("/v1"))
        key = model_row.api_key()
        headers = {
            **model_row.headers,
            **({"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}),
        }
        check_endpoint(
            model_row, server.base_url, headers, served_name(model_row, backend), min(timeout_s, 30.0)
        )
        return server
    port = free_port()
    launch = launch_for(model_row, backend, port)
    argv = backend.argv(launch)
    if env.provider == "docker":
        server = _start_container(env, argv, model_row, port, log_path, manager)
    else:
        server = WatchedServerProcess(
            [env.python, *argv], port=port, log_path=log_path, env=server_environment(env, {})
        )
    try:
        wait_until_ready(server, backend.ready_path, timeout_s)
    except BaseException:
        server.stop()
        raise
    return server


async def memory_report(base_url: str) -> dict:
    """The project's own server reports its peak RSS and GPU memory (/metrics/memory); {} otherwise."""
    import aiohttp

    try:
        async with aiohttp.ClientSession(trust_env=False) as session:
            async with session.get(
                base_url + "/metrics/memory", timeout=aiohttp.ClientTimeout(total=5)
            ) as resp:
                return await resp.json() if resp.status == 200 else {}
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return {}

"""Starting a model's server in its environment and waiting until it is ready.

Whatever the backend, the result is a handle with `base_url`, `is_alive()`, `exit_reason()`,
`log_tail()`, `peak_rss_mb` and `stop()`: the rest of the DAG never special-cases a backend.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from environments.backends import Backend, Launch
from environments.environment import Environment
from environments.process import STOPPING, MemorySampler, ServerProcess, free_port, wait_until_ready
from environments.served_model import ServedModel
from vlmhb_core.errors import ServerError

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


def sdk_client(model_row: ServedModel, base_url: str, timeout_s: float = 10.0):
    """The `openai` SDK's typed client for a running endpoint (model listing, the endpoint check,
    non-streamed calls: where speed does not matter; the streamed hot path is inference.chat's own).
    BASE_URL is the endpoint without /v1, or an Azure OpenAI resource's endpoint for a row with an
    api_version; the key, headers and query parameters are the row's. No retry of its own (the callers
    wait as they see fit), no proxy from the environment (as the streaming client)."""
    from openai import AzureOpenAI, DefaultHttpxClient, OpenAI

    key = model_row.api_key()
    common = {
        # no key: vLLM's "EMPTY", never the orchestrator's own OPENAI_API_KEY, which the SDK would send
        "api_key": key.get_secret_value() if key else "EMPTY",
        "default_headers": dict(model_row.headers),
        "default_query": model_row.query_params(),
        "max_retries": 0,
        "timeout": timeout_s,
        "http_client": DefaultHttpxClient(trust_env=False, timeout=timeout_s, verify=_tls_context()),
    }
    if model_row.api_version:
        return AzureOpenAI(azure_endpoint=model_row.base_url, api_version=model_row.api_version, **common)
    return OpenAI(base_url=base_url + "/v1", **common)


@functools.cache
def _tls_context():
    """The SDK client's TLS context as it builds it (trusted CAs, no SSL_CERT_* from the environment),
    built once: loading the CAs costs each client 20-40 ms, every model of a run of hundreds."""
    try:
        import httpx2  # the openai SDK's HTTP client
    except ImportError:  # an SDK on another HTTP client: its own default, per client
        return True
    return httpx2.create_ssl_context(trust_env=False)


REFUSED_GRACE_S = 1.5
"""How long an endpoint may refuse connections before the check gives up: a port where nothing listens
fails in about this long, with its URL, instead of the whole wait (a server that accepts connections but
is still loading, answering 5xx or 429, or slow to answer, is waited for as long as TIMEOUT_S)."""


def _refused(exc: BaseException) -> bool:
    """Whether EXC (an SDK connection error) was a refused connection: nothing listens at that port."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def check_endpoint(model_row: ServedModel, base_url: str, model: str, timeout_s: float) -> None:
    """Waits until a running endpoint lists its models (it may be starting, or a gateway may stumble:
    connection errors, 429 and 5xx are waited out for TIMEOUT_S; a connection refused for REFUSED_GRACE_S
    fails then, with the URL), then checks that it serves MODEL; for
    Azure OpenAI, whose list is the resource's models and not its deployments, a one-token request to
    the deployment checks that it exists. What retrying cannot change fails at once with what to fix:
    401/403 (the key), 404 (the path, the api-version, the deployment), a model it does not serve.
    Messages show the path, never the query (a gateway's code) nor the key."""
    import openai

    azure = bool(model_row.api_version)
    shown = (model_row.base_url.rstrip("/") + "/openai/models") if azure else base_url + "/v1/models"
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    refused_since: float | None = None
    with sdk_client(model_row, base_url) as client:
        while True:
            if STOPPING.is_set():
                raise ServerError("the run is being interrupted: the endpoint was not waited for")
            try:
                served = [m.id for m in client.models.list()]
                if azure:
                    _probe_deployment(client, model_row, model)
                break
            except openai.APIStatusError as e:
                _fail_unless_transient(e, model_row, shown, azure)
                last = f"HTTP {e.status_code}: {_detail(e)}"
            except (openai.APIConnectionError, openai.APITimeoutError) as e:
                last = f"{type(e).__name__}: {e.__cause__ or e}"
                if _refused(e):  # nothing listens there: waiting cures that only for a server starting
                    refused_since = refused_since or time.monotonic()
                    if time.monotonic() - refused_since >= REFUSED_GRACE_S:
                        raise ServerError(
                            f"nothing listens at {shown}: the connection was refused for "
                            f"{REFUSED_GRACE_S:g} s; is the endpoint running, and is the row's base_url "
                            f"{model_row.base_url!r} right?"
                        ) from None
                else:
                    refused_since = None
            else:
                refused_since = None
            if time.monotonic() > deadline:
                raise ServerError(
                    f"the endpoint did not answer {shown} within {timeout_s:.0f} s (last: {last})"
                )
            STOPPING.wait(0.5)
    if not azure and model not in served:
        raise ServerError(
            f"{base_url} does not serve model {model!r}; it serves: {', '.join(served) or 'none'} "
            "(set the row's `model` to one of them)"
        )


def _probe_deployment(client, model_row: ServedModel, deployment: str) -> None:
    """A one-token, non-streamed request to an Azure deployment: a 404 says it does not exist."""
    import openai

    try:
        client.chat.completions.create(
            model=deployment, messages=[{"role": "user", "content": "ping"}], max_tokens=1
        )
    except openai.NotFoundError as e:
        raise ServerError(
            f"Azure OpenAI deployment {deployment!r} was not found at {model_row.base_url} "
            f"(api-version {model_row.api_version}): {_detail(e)}; set the row's `deployment` (or `model`) "
            "to a deployment of that resource"
        ) from None
    except openai.APIStatusError as e:
        if e.status_code in (401, 403) or e.status_code >= 500 or e.status_code == 429:
            raise
        # another 4xx is about this probe's request (a model that refuses max_tokens=1, say), not the
        # deployment: the benchmark's own requests will tell


def _detail(e) -> str:
    body = e.body if isinstance(e.body, (dict, str)) else None
    if isinstance(body, dict):
        body = body.get("message") or body.get("detail") or body.get("error") or body
    return str(body or e.message)[:300]


def _fail_unless_transient(e, model_row: ServedModel, shown: str, azure: bool) -> None:
    """Raises ServerError for a status a retry cannot change; returns for 429 and 5xx."""
    code = e.status_code
    if code in (401, 403):
        key = model_row.api_key_env
        fix = (
            f"check the key in the variable {key} (api_key_env)"
            if key
            else "the endpoint wants a key: set api_key_env to the NAME of the variable that holds it"
        )
        raise ServerError(f"authentication failed: {shown} answered {code} ({_detail(e)}); {fix}") from None
    if code == 404:
        if azure:
            raise ServerError(
                f"{shown} answered 404 Not Found ({_detail(e)}): check the row's base_url (the resource's "
                f"endpoint, https://NAME.openai.azure.com) and api_version {model_row.api_version!r}"
            ) from None
        raise ServerError(
            f"{shown} answered 404 Not Found: the base_url {model_row.base_url!r} is probably missing "
            "/v1 or another part of the endpoint's path (requests go to BASE_URL/chat/completions)"
        ) from None
    if code < 500 and code != 429:
        raise ServerError(f"{shown} answered {code}: {_detail(e)}") from None


def launch_for(model_row: ServedModel, backend: Backend, port: int, host: str = "127.0.0.1") -> Launch:
    return Launch(
        model=model_row.model or backend.name,
        served_model_name=served_name(model_row, backend),
        host=host,
        port=port,
        gpus=model_row.gpus,
        args=model_row.args,
    )


def served_name(model_row: ServedModel, backend: Backend) -> str:
    """The model name sent in requests: an endpoint's own model id (an Azure deployment's name), the model
    as given to a server that serves it under that name only (`transformers serve`), or the name our
    server serves it as."""
    if backend.external:
        if model_row.api_version and model_row.deployment:
            return model_row.deployment
        return model_row.model or model_row.name
    if backend.serves_model_path:
        return model_row.model
    return model_row.served_model_name or model_row.name


def _start_container(
    env: Environment, argv: list[str], model_row: ServedModel, backend, port: int, log_path: Path, manager
):
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
        env_vars={**dict(backend.server_env), **dict(model_row.env_vars)},
        log_path=log_path,
        mounts=mounts,
        run_id=log_path.parent.parent.name,
    )
    return server


def start_server(
    env: Environment,
    model_row: ServedModel,
    backend: Backend,
    *,
    log_path: Path,
    timeout_s: float,
    manager=None,
):
    """Starts MODEL_ROW's server in ENV and returns its handle once it answers; raises ServerError."""
    if backend.external:
        server = ExternalServer(base_url=model_row.base_url.rstrip("/").removesuffix("/v1"))
        check_endpoint(model_row, server.base_url, served_name(model_row, backend), min(timeout_s, 30.0))
        return server
    port = free_port()
    launch = launch_for(model_row, backend, port)
    argv = backend.argv(launch)
    if env.provider == "docker":
        server = _start_container(env, argv, model_row, backend, port, log_path, manager)
    else:
        server = WatchedServerProcess(
            [env.python, *argv],
            port=port,
            log_path=log_path,
            env=server_environment(
                env, {k: v for k, v in backend.server_env if k not in dict(env.spec.env_vars)}
            ),
        )
    try:
        wait_until_ready(server, backend.ready_path, timeout_s)
        if backend.read_args(model_row.args).warm_up:
            warm_up(model_row, server, served_name(model_row, backend), timeout_s)
    except BaseException:
        server.stop()
        raise
    return server


def warm_up(model_row, server, model: str, timeout_s: float) -> None:
    """One non-streamed request, a blank 224 px page and "Hi" for 1 token, before any pair: a model that loads
    but cannot answer (a processor that refuses images, a chat template that breaks) fails here, once, with
    the server's log; and its first-call costs stay out of the first sample's timings."""
    import io

    import openai
    from PIL import Image

    page = io.BytesIO()
    Image.new("RGB", (224, 224), "white").save(page, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(page.getvalue()).decode("ascii")
    content = [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "Hi"}]
    try:
        with sdk_client(model_row, server.base_url, timeout_s) as client:
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": content}], max_tokens=1
            )
    except openai.OpenAIError as e:
        raise ServerError(
            f"the server is up but the model could not answer the warm-up request (a blank page, 1 token): "
            f"{type(e).__name__}: {e}; log tail:\n{server.log_tail()}"
        ) from None


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

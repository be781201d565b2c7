"""The backends a models.csv row can name, and the argv that starts each one's server.

Every backend ends as an OpenAI-compatible endpoint. `external` backends are already running
(`openai`); the others are started by the benchmark inside the model's environment, either with the
project's own server (`vlmhb_server`, the OCR engines rapidocr and tesseract, which have no
OpenAI-compatible server of their own) or with the model library's own: vLLM's, SGLang's, or
transformers' (`transformers serve`, for both `transformers` and `transformers-serve`).
Argv lists only: nothing here passes through a shell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from environments.engines import ENGINES
from environments.transformers_serve import ServerArgs, as_written, read_args
from vlmhb_core.registry import Registry

SERVER_PACKAGE = "vlmhb_server"
"""The project's model server package (vlmhb_server/), copied into a model's environment under this name."""


def _server_packages(engine: str) -> tuple[str, ...]:
    return ENGINES.get(engine).requirements()


def _replaced_by(engine: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return ENGINES.get(engine).replaced_by


@dataclass(frozen=True)
class Launch:
    """Everything a provider needs to start one model server."""

    model: str
    served_model_name: str
    host: str
    port: int
    gpus: int
    args: tuple[str, ...]


@dataclass(frozen=True)
class Backend:
    name: str
    packages: tuple[str, ...] = ()
    """pip requirements installed into the model's environment by default (a row's packages win)."""
    tasks: frozenset[str] | None = None
    """Tasks the backend can answer; None = any."""
    external: bool = False
    needs_model: bool = True
    own_server: bool = False
    argv: Callable[[Launch], list[str]] = field(default=lambda launch: [])
    """The server command after `python`, e.g. ['-m', 'vllm.entrypoints.openai.api_server', ...]."""
    ready_path: str = "/v1/models"
    replaced_by: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """A project a row may name, and the default projects it takes the place of (EngineInfo.replaced_by)."""
    serves_model_path: bool = False
    """The server answers only to the model as it was given (`transformers serve` has no
    --served-model-name): requests name it so, whatever the row's served_model_name (a name for the
    client's side only: results are filed under the row's `name` anyway)."""
    server_env: tuple[tuple[str, str], ...] = ()
    """Variables the server gets (under the row's env_vars, which win)."""
    read_args: Callable[[tuple[str, ...]], ServerArgs] = field(default=as_written)
    """A row's `args` as this backend reads them (ValueError: what is wrong, for the config check)."""
    environment: str | None = None
    """Another name of the same server whose environments this backend's rows share (same packages, same
    environment: `transformers-serve` rows build `transformers` ones)."""
    server: str = ""
    """Which server runs, in words (`vlmhb list`, the registries reference)."""


def _own_server(engine: str) -> Callable[[Launch], list[str]]:
    def argv(x: Launch) -> list[str]:
        return [
            "-m",
            SERVER_PACKAGE,
            "--engine",
            engine,
            "--model",
            x.model,
            "--served-model-name",
            x.served_model_name,
            "--host",
            x.host,
            "--port",
            str(x.port),
            *x.args,
        ]

    return argv


def _vllm(x: Launch) -> list[str]:
    # Document pages come several to a request, and vLLM admits one image per prompt unless told.
    defaults = {"--limit-mm-per-prompt": '{"image": 8}'}
    extra = [
        a
        for flag, value in defaults.items()
        if not any(arg.split("=", 1)[0] == flag for arg in x.args)
        for a in (flag, value)
    ]
    return [
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        x.model,
        "--served-model-name",
        x.served_model_name,
        "--host",
        x.host,
        "--port",
        str(x.port),
        "--tensor-parallel-size",
        str(max(x.gpus, 1)),
        *extra,
        *x.args,
    ]


def _sglang(x: Launch) -> list[str]:
    return [
        "-m",
        "sglang.launch_server",
        "--model-path",
        x.model,
        "--served-model-name",
        x.served_model_name,
        "--host",
        x.host,
        "--port",
        str(x.port),
        "--tp-size",
        str(max(x.gpus, 1)),
        *x.args,
    ]


def _transformers_serve(x: Launch) -> list[str]:
    # `transformers serve MODEL` pins the server to MODEL, loaded before it listens; its console script is
    # this module's main (python -m keeps the env's own interpreter, as every backend here).
    return [
        "-m",
        "transformers.cli.transformers",
        "serve",
        x.model,
        "--host",
        x.host,
        "--port",
        str(x.port),
        *read_args(x.args).argv,
    ]


OCR_TASKS = frozenset({"ocr", "parse"})
"""What a classic OCR engine answers: a page's text (a baseline for parsing too: no tables, no markup)."""

BACKENDS: Registry[Backend] = Registry(
    "backends",
    kind="backend",
    expects="point the entry point at an environments.backends.Backend",
    accept=lambda obj: obj if isinstance(obj, Backend) else None,
    describe=lambda b: (
        "external endpoint"
        if b.external
        else (b.server or ("the project's server (vlmhb_server)" if b.own_server else "its own server"))
        + (f"; tasks: {', '.join(sorted(b.tasks))}" if b.tasks else "")
    ),
)
for _backend in (
    Backend("openai", external=True),
    Backend("vllm", packages=("vllm",), argv=_vllm, server="vLLM's OpenAI-compatible server"),
    Backend("sglang", packages=("sglang[all]",), argv=_sglang, server="SGLang's server (launch_server)"),
    *(
        # One server under two names: `transformers` (rows written for the project's former engine, whose
        # engine-args are translated, and whose default packages had torch) and `transformers-serve` (rows
        # written for transformers serve itself).
        Backend(
            name,
            # >=5: `transformers serve` as driven here (python -m transformers.cli.transformers); the serving
            # extra (FastAPI, uvicorn) stays when a row names its own transformers (spec.merge_requirements);
            # pillow: a VLM's image processor needs it
            packages=(*torch, "transformers[serving]>=5", "pillow>=10"),
            argv=_transformers_serve,
            ready_path="/health",
            serves_model_path=True,
            # its CLI asks PyPI for a newer release at start: not in a closed network
            server_env=(("HF_HUB_DISABLE_UPDATE_CHECK", "1"),),
            read_args=read_args,
            environment="transformers",
            server=server,
        )
        for name, torch, server in (
            ("transformers", ("torch",), "`transformers serve`; engine-args translated to its flags"),
            ("transformers-serve", (), "`transformers serve`, its own flags"),
        )
    ),
    Backend(
        "rapidocr",
        packages=_server_packages("rapidocr"),
        replaced_by=_replaced_by("rapidocr"),
        tasks=OCR_TASKS,
        needs_model=False,
        own_server=True,
        argv=_own_server("rapidocr"),
        ready_path="/health",
    ),
    Backend(
        "tesseract",
        packages=_server_packages("tesseract"),
        tasks=OCR_TASKS,
        needs_model=False,
        own_server=True,
        argv=_own_server("tesseract"),
        ready_path="/health",
    ),
):
    BACKENDS.add(_backend.name, _backend)

"""Where a model's subflow runs: here (local, the default) or as its own flow run on a Docker work pool.

    VLMHB_DISPATCH=local   evaluate_model runs as a subflow of the benchmark, in this process (unchanged)
    VLMHB_DISPATCH=pool    the model's env image is built here (EnvManager, docker provider), the job image
                           is that image + the orchestrator (environments/job_images.py), and the deployment
                           VLMHB_MODEL_DEPLOYMENT (default evaluate-model-job/models, on the Docker pool
                           vlmhb-models) is run with it as the job image: whichever host's worker takes the
                           run starts the container, which runs `model_job` below.

The run folder is shared by path: the job container mounts the results folder (and the config and
dataset folders, read-only) at the same paths, writes the model's files there and its outcome to
pairs/<model>/job-outcome.json, which the benchmark reads back. Across hosts these paths must be on a
shared filesystem (docs/guides/production.md).

GPU hosts: `model_job` holds one slot of the global concurrency limit `gpu:<host>` (created by
`vlmhb deploy`) while a model with gpus > 0 runs, so two models never share a host's cards. The host is the
one the job really runs on: VLMHB_GPU_HOST where the job's environment sets it, else the name of the worker
that started it (a worker is named after its host: `vlmhb worker`), else the hostname. The slot is a lease
of VLMHB_GPU_LEASE_S that Prefect renews while the job lives: a dead host's slot frees itself.

Hosts that die (flows/liveness.py): the benchmark waits for each per-model run with a bound; a run taken
for dead is marked Crashed, its model's files are fenced off from it (vlmhyperbench/results/fence.py), and
the model is dispatched once more, to another worker: its journal on the shared folder means only the
answers still missing are asked. If no other worker is online, or the second run dies too, its pairs are
`errored`, naming the hosts (exit 4: `--resume` finishes them).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from contextlib import asynccontextmanager
from pathlib import Path

from prefect import flow, get_run_logger, tags
from prefect.states import State

from environments.backends import BACKENDS
from flows.evaluate_model import awaiting_judges, evaluate_model, model_state
from flows.liveness import HEARTBEAT_TAG, end_run, online_workers, watch, where
from tasks.inference import already_complete
from vlmhb_core.errors import BenchError
from vlmhb_core.settings import Settings
from vlmhyperbench.config import plan_pairs
from vlmhyperbench.results import ModelResult, PairOutcome, RunFolder, fence

# Not handed to job containers: they have their own places, or describe this process only.
_LOCAL_ONLY = {
    "VLMHB_CACHE_DIR",
    "VLMHB_RESULTS_DIR",
    "VLMHB_DISPATCH",
    "VLMHB_ORCHESTRATOR_REF",
    "VLMHB_JOB_IMAGE",
    "VLMHB_GPU_HOST",
}


async def run_model(
    config: str,
    run_dir: str,
    model: str,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
    env: str | None = None,
    dispatch: str | None = None,
) -> ModelResult:
    """One model's evaluation, placed by DISPATCH (`local` or `pool`; None: VLMHB_DISPATCH; a resumed run
    passes its own); its ModelResult either way (the model's own flow run, here or on a pool, ends
    Completed or Failed)."""
    params = dict(
        config=config, run_dir=run_dir, model=model, datasets=datasets, max_samples=max_samples, env=env
    )
    if (dispatch or Settings().dispatch) == "pool":
        return await dispatch_model(**params)
    state: State = await evaluate_model(**params, return_state=True)
    return await state.result(raise_on_failure=False)


_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def gpu_host() -> str:
    """The host a job runs on, as its gpu:<host> limit names it: VLMHB_GPU_HOST where the job's environment
    sets it, else the name of the worker that started the job (PREFECT__WORKER_NAME, which every worker
    hands its jobs; a worker's default name, "DockerWorker <uuid>", names no host), else the hostname."""
    worker = os.environ.get("PREFECT__WORKER_NAME", "")
    return Settings().gpu_host or (worker if _HOST_NAME.match(worker) else "") or socket.gethostname()


@asynccontextmanager
async def gpu_slot(gpus: int, host: str | None = None):
    """Holds one slot of gpu:<HOST> (default: gpu_host()) while a GPU model runs, as a lease of
    VLMHB_GPU_LEASE_S renewed at 3/4 of it; a no-op without GPUs. Where no such limit exists Prefect's
    non-strict `concurrency` goes on at once: said in the run's log."""
    if gpus <= 0:
        yield
        return
    from prefect import get_client
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder
    from prefect.concurrency.asyncio import concurrency
    from prefect.context import FlowRunContext
    from prefect.exceptions import ObjectNotFound

    name = f"gpu:{host or gpu_host()}"
    context = FlowRunContext.get()
    holder = ConcurrencyLeaseHolder(type="flow_run", id=context.flow_run.id) if context else None
    try:
        async with get_client() as client:
            await client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        _logger().warning(
            "%s does not exist: this model runs without a GPU slot, beside any other on the host "
            "(`vlmhb deploy --gpu-hosts` names the hosts; a worker is named after its host: `vlmhb worker`)",
            name,
        )
    async with concurrency(name, occupy=1, lease_duration=Settings().gpu_lease_s, holder=holder):
        yield


def _logger():
    try:
        return get_run_logger()
    except Exception:  # outside a run (a test holding a slot)
        import logging

        return logging.getLogger("vlmhyperbench.dispatch")


@flow(name="evaluate-model-job", flow_run_name="job-{model}", validate_parameters=False)
async def model_job(
    config: str,
    run_dir: str,
    model: str,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
    env: str | None = None,
) -> State:
    """The per-model deployment's flow, in its job container: evaluate_model under the host's GPU slot,
    writing only while this run owns the model's files (fence); the result goes to
    pairs/MODEL/job-outcome.json for the benchmark to read back."""
    from prefect.context import FlowRunContext

    me = str(FlowRunContext.get().flow_run.id)
    run = RunFolder(Path(run_dir))
    await asyncio.to_thread(fence.hold, run.owner_file(model), me)
    host = gpu_host()
    catalog, _ = plan_pairs(config, models=[model], datasets=datasets, max_samples=max_samples)
    with tags(HEARTBEAT_TAG):  # its subflow is watched like itself (flows/cli/automations.py)
        async with gpu_slot(catalog.models[model].gpus, host):
            state: State = await evaluate_model(
                config=config,
                run_dir=run_dir,
                model=model,
                datasets=datasets,
                max_samples=max_samples,
                env=env,
                return_state=True,
            )
    result: ModelResult = await state.result(raise_on_failure=False)
    result.flow_run_id = me
    if result.environment is not None:
        extra = {"job_image": os.environ.get("VLMHB_JOB_IMAGE"), "host": host}
        result.environment = result.environment.model_copy(update=extra)
    run.save_job_outcome(model, result)
    return model_state(model, result)


def job_variables(catalog, run_dir: str, gpus: int) -> dict:
    """The Docker worker's job variables for one model: shared folders at the same paths, GPUs, settings."""
    from environments.job_images import IN_IMAGE_ROOT, REF_ENV

    in_image = bool(os.environ.get(REF_ENV))  # then our own config paths exist in the job image too
    config_root = Path(catalog.root).resolve()
    read_only = {config_root}
    for dataset in catalog.datasets.values():
        try:  # a local folder, a bundle, or the hub cache's snapshot of an hf:// path
            path = catalog.dataset_path(dataset)
        except BenchError:  # not resolvable here: the job resolves it itself, or its pair fails there
            continue
        folder = path.resolve() if path.is_dir() else path.resolve().parent
        if not folder.is_relative_to(config_root):
            read_only.add(folder)
    volumes = [f"{Path(run_dir).resolve().parent}:{Path(run_dir).resolve().parent}"]
    volumes += [
        f"{p}:{p}:ro" for p in sorted(read_only) if not (in_image and p.is_relative_to(IN_IMAGE_ROOT))
    ]
    # `gpus` is for Kubernetes pools (deployments/k8s-gpu-job-template.yaml); Docker pools ignore it and
    # use the device requests below; each pool type ignores the other's variables.
    settings = Settings()
    env = {k: v for k, v in os.environ.items() if k.startswith("VLMHB_") and k not in _LOCAL_ONLY}
    # Its heartbeats let the benchmark and the zombie automation tell a dead host (flows/liveness.py).
    env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(settings.heartbeat_s)
    variables: dict = {"gpus": gpus, "volumes": volumes, "env": env}
    if gpus > 0:
        variables["container_create_kwargs"] = {"shm_size": "8g"}
        if settings.gpu_devices == "nvidia":
            devices = [{"count": gpus, "capabilities": [["gpu"]]}]
            variables["container_create_kwargs"]["device_requests"] = devices
    return variables


async def dispatch_model(
    config: str,
    run_dir: str,
    model: str,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
    env: str | None = None,
) -> ModelResult:
    """Builds the model's job image here, runs the per-model deployment with it and waits for the result."""
    from environments.job_images import ensure_job_image
    from environments.manager import EnvManager
    from tasks.build_env import build_env

    logger = get_run_logger()
    run = RunFolder(Path(run_dir))
    catalog, pairs = plan_pairs(config, models=[model], datasets=datasets, max_samples=max_samples)
    row = catalog.models[model]
    backend = catalog.backends[model] or BACKENDS.get(row.backend)  # PluginError: its pairs fail
    variables = job_variables(catalog, run_dir, row.gpus)
    child_env = env
    if not backend.external:  # an external endpoint runs in the deployment's own image
        manager = EnvManager()
        environment = await build_env(
            manager, manager.spec(row, backend, "docker"), model, run.log(f"{model}.build.log")
        )
        variables["image"] = await asyncio.to_thread(
            ensure_job_image, environment, manager.spec(row, backend, "venv")
        )
        child_env = "venv"  # in the job image the model's env is a ready venv (environments/job_images.py)
        logger.info("%s: job image %s", model, variables["image"])
    parameters = dict(
        config=config, run_dir=run_dir, model=model, datasets=datasets, max_samples=max_samples, env=child_env
    )
    return await place(run, model, pairs, parameters, variables)


_OPEN_RUNS: dict[str, str] = {}
"""Per-model runs this process waits for (id -> name): an interrupted benchmark cancels them."""


async def place(
    run: RunFolder, model: str, pairs, parameters: dict, variables: dict, bounds: dict | None = None
) -> ModelResult:
    """Runs the per-model deployment and waits for it with a bound; a run taken for dead is given up and
    the model dispatched once more, to another worker (module docstring). BOUNDS: liveness.watch's
    (poll_s, heartbeat_s, dead_after_s), from the settings unless given."""
    from prefect import get_client
    from prefect.deployments import run_deployment

    logger = _logger()
    settings = Settings()
    bounds = bounds or {
        "poll_s": settings.job_poll_s,
        "heartbeat_s": settings.heartbeat_s,
        "dead_after_s": settings.dead_after_s,
    }
    async with get_client() as client:
        pool = (await client.read_deployment_by_name(settings.model_deployment)).work_pool_name
    deaths: list[str] = []
    dead_workers: set[str] = set()
    for attempt in (1, 2):
        run.job_outcome(model).unlink(missing_ok=True)
        flow_run = await run_deployment(
            settings.model_deployment,
            parameters=parameters,
            job_variables=variables,
            timeout=0,  # the wait is ours: bounded (flows/liveness.py)
            tags=["vlmhyperbench", model, HEARTBEAT_TAG],
        )
        fence.claim(run.owner_file(model), str(flow_run.id))
        _OPEN_RUNS[str(flow_run.id)] = flow_run.name
        async with get_client() as client:
            watched = await watch(client, flow_run.id, pool, **bounds, dead_workers=dead_workers)
        _OPEN_RUNS.pop(str(flow_run.id), None)
        state = watched.flow_run.state
        result = run.read_job_outcome(model)  # a Failed run with an outcome is a model whose pairs failed
        if result is not None and result.flow_run_id != str(flow_run.id):
            result = None  # an earlier run's (fenced off since): never this run's word
        if watched.dead is None and result is not None:
            if result.environment is not None:
                update = {"flow_run_id": str(flow_run.id), "host_deaths": deaths or None}
                result.environment = result.environment.model_copy(update=update)
            return result
        if watched.dead is None and not state.is_crashed():
            ended = f"{state.name}: {state.message}" if state is not None else "without a state"
            hint = (
                ": is the results folder shared with the worker's host at the same path?"
                if state.is_completed()
                else ""
            )
            reason = f"the per-model run {flow_run.name} ({flow_run.id}) ended {ended} and wrote no outcome"
            return ModelResult(pairs=[PairOutcome.failed(p.key, reason + hint) for p in pairs])
        # Dead, or Crashed without a word (the zombie automation, or its container killed): the host is gone.
        why = watched.dead or f"its run on {where(watched.worker)} ended {state.name}: {state.message}"
        fence.claim(run.owner_file(model), None, note=f"{flow_run.name} ({flow_run.id}) given up: {why}")
        async with get_client() as client:
            ended = await end_run(
                client, watched.flow_run, f"given up by the benchmark: {why}", crashed=not watched.unplaced
            )
            deaths.append(f"{flow_run.name} ({flow_run.id}): {why}")
            if watched.worker:
                dead_workers.add(watched.worker)
            others = await online_workers(client, pool, excluding=dead_workers)
        logger.warning("%s: %s; marked %s", model, why, ", ".join(ended) or "nothing (already ended)")
        if watched.unplaced or attempt == 2:
            break
        if not others:
            deaths.append(f"no other worker of the pool {pool} is online to take it")
            break
        logger.warning(
            "%s: dispatching it once more (online: %s); its journal keeps every answer already given",
            model,
            ", ".join(others),
        )
    reason = "harness fault, not the model's: " + "; ".join(deaths) + " (--resume runs it again)"
    return ModelResult(pairs=[_kept_or_errored(run, p, reason) for p in pairs])


def _kept_or_errored(run: RunFolder, pair, reason: str) -> PairOutcome:
    """A pair the dead host finished before it died keeps its results; any other is `errored`."""
    if already_complete(run, pair):
        return awaiting_judges(run, pair.key) if pair.judged else PairOutcome.completed(pair.key)
    return PairOutcome.errored(pair.key, reason)


def cancel_open_runs() -> list[str]:
    """Sets every per-model run this process still waits for Cancelling, so that its worker stops its
    container (an interrupted benchmark: lifecycle.stop_everything); returns their names."""
    if not _OPEN_RUNS:
        return []
    from prefect import get_client
    from prefect.states import Cancelling

    cancelled = []
    try:
        with get_client(sync_client=True) as client:
            for flow_run_id, name in list(_OPEN_RUNS.items()):
                try:
                    client.set_flow_run_state(
                        flow_run_id, Cancelling(message="the benchmark was interrupted"), force=True
                    )
                    cancelled.append(name)
                except Exception:  # the API is gone: the run's heartbeats stop with its host, or it ends
                    pass
    except Exception:
        pass
    _OPEN_RUNS.clear()
    return cancelled

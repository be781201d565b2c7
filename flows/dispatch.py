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
deployments/deploy.py; host = VLMHB_GPU_HOST or the hostname, which a host-network container shares
with its host) while a model with gpus > 0 runs, so two models never share a host's cards.
"""

from __future__ import annotations

import asyncio
import os
import socket
from contextlib import asynccontextmanager
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.states import State

from environments.backends import BACKENDS
from flows.evaluate_model import evaluate_model, model_state
from vlmhb_core.errors import BenchError
from vlmhb_core.settings import Settings
from vlmhyperbench.config import plan_pairs
from vlmhyperbench.results import ModelResult, PairOutcome, RunFolder

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


def gpu_host() -> str:
    return Settings().gpu_host or socket.gethostname()


@asynccontextmanager
async def gpu_slot(gpus: int):
    """Holds one slot of gpu:<host> while a GPU model runs (no-op without GPUs, or where no such limit
    exists: Prefect's non-strict `concurrency` then goes on at once)."""
    if gpus <= 0:
        yield
        return
    from prefect.concurrency.asyncio import concurrency

    async with concurrency(f"gpu:{gpu_host()}", occupy=1):
        yield


@flow(name="evaluate-model-job", flow_run_name="job-{model}", validate_parameters=False)
async def model_job(
    config: str,
    run_dir: str,
    model: str,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
    env: str | None = None,
) -> State:
    """The per-model deployment's flow, in its job container: evaluate_model under the host's GPU slot;
    the result goes to pairs/MODEL/job-outcome.json for the benchmark to read back."""
    catalog, _ = plan_pairs(config, models=[model], datasets=datasets, max_samples=max_samples)
    async with gpu_slot(catalog.models[model].gpus):
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
    if result.environment is not None:
        extra = {"job_image": os.environ.get("VLMHB_JOB_IMAGE"), "host": socket.gethostname()}
        result.environment = result.environment.model_copy(update=extra)
    RunFolder(Path(run_dir)).save_job_outcome(model, result)
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
    variables: dict = {
        "gpus": gpus,
        "volumes": volumes,
        "env": {k: v for k, v in os.environ.items() if k.startswith("VLMHB_") and k not in _LOCAL_ONLY},
    }
    if gpus > 0:
        variables["container_create_kwargs"] = {
            "device_requests": [{"count": gpus, "capabilities": [["gpu"]]}],
            "shm_size": "8g",
        }
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
    from prefect.deployments import run_deployment

    from environments.job_images import ensure_job_image
    from environments.manager import EnvManager
    from tasks.build_env import build_env

    logger = get_run_logger()
    settings = Settings()
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
    run.job_outcome(model).unlink(missing_ok=True)
    flow_run = await run_deployment(
        settings.model_deployment,
        parameters=dict(
            config=config,
            run_dir=run_dir,
            model=model,
            datasets=datasets,
            max_samples=max_samples,
            env=child_env,
        ),
        job_variables=variables,
        timeout=None,
        poll_interval=settings.job_poll_s,
        tags=["vlmhyperbench", model],
    )
    state = flow_run.state
    result = run.read_job_outcome(model)  # a Failed run with an outcome is a model whose pairs failed
    if result is None:
        ended = f"{state.name}: {state.message}" if state is not None else "without a state"
        hint = (
            ": is the results folder shared with the worker's host at the same path?"
            if state is not None and state.is_completed()
            else ""
        )
        reason = f"the per-model run {flow_run.name} ({flow_run.id}) ended {ended} and wrote no outcome{hint}"
        return ModelResult(pairs=[PairOutcome.failed(p.key, reason) for p in pairs])
    if result.environment is not None:
        result.environment = result.environment.model_copy(update={"flow_run_id": str(flow_run.id)})
    return result

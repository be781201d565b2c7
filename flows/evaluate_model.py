"""evaluate_model: one model's subflow: build its env, serve it, and for each of its datasets run
inference, profiling and scoring; the server is always stopped. A failure stays inside this model:
its pairs are marked failed with the reason, and the subflow itself returns normally."""

from __future__ import annotations

import json
import traceback
from pathlib import Path

from prefect import flow, get_run_logger

import metrics
from environments.backends import get_backend
from environments.manager import EnvManager
from tasks.build_env import build_env
from tasks.inference import inference
from tasks.plan import make_plan
from tasks.profiling import profiling
from tasks.scoring import metric_names, scoring
from tasks.serve import serve, stop
from vlmhyperbench.catalog import Pair
from vlmhyperbench.errors import BenchError, quiet_prefect_tracebacks
from vlmhyperbench.results import PAIR_COMPLETED, PAIR_FAILED, RunFolder
from vlmhyperbench.settings import get_settings
from vlmhyperbench.store import PredictionStore

quiet_prefect_tracebacks()  # every per-model run imports this module: local, pool job or rescore


def pair_outcome(pair: Pair, status: str, error: str | None = None, **extra) -> dict:
    return {
        "model": pair.model.name,
        "dataset": pair.dataset.name,
        "perturbation": pair.perturbation,
        "status": status,
        "error": error,
        **extra,
    }


def describe(exc: BaseException) -> str:
    """A failure reason for manifest.json: the message, with a traceback only for unexpected errors."""
    if isinstance(exc, BenchError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc)[-3:])


def pair_files(run: RunFolder, pair: Pair) -> dict[str, Path]:
    base = run.root / "pairs" / pair.model.name
    return {
        "scores": base / f"{pair.dataset_key}.scores.parquet",
        "summary": base / f"{pair.dataset_key}.summary.parquet",
        "performance": base / f"{pair.dataset_key}.performance.json",
    }


def save_scored(run: RunFolder, pair: Pair, scores, summary, performance: dict | None) -> None:
    files = pair_files(run, pair)
    files["scores"].parent.mkdir(parents=True, exist_ok=True)
    for name, df in (("scores", scores), ("summary", summary)):
        tmp = files[name].with_name(files[name].name + ".tmp")
        df.write_parquet(tmp)
        tmp.replace(files[name])
    if performance is not None:
        tmp = files["performance"].with_name(files["performance"].name + ".tmp")
        tmp.write_text(json.dumps(performance, default=str), encoding="utf-8")
        tmp.replace(files["performance"])


async def fetch_memory_report(base_url: str) -> dict:
    """The project's own server reports its peak RSS and GPU memory; other servers return {}."""
    import aiohttp

    try:
        async with aiohttp.ClientSession(trust_env=False) as session:
            async with session.get(
                base_url + "/metrics/memory", timeout=aiohttp.ClientTimeout(total=5)
            ) as resp:
                return await resp.json() if resp.status == 200 else {}
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return {}


@flow(name="evaluate-model", flow_run_name="evaluate-{model}", validate_parameters=False)
async def evaluate_model(
    config: str,
    run_dir: str,
    model: str,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
    env: str | None = None,
) -> dict:
    """Evaluates MODEL on its planned datasets; returns {"environment": ..., "pairs": [outcome, ...]}."""
    logger = get_run_logger()
    settings = get_settings()
    run = RunFolder(Path(run_dir))
    catalog, pairs = make_plan(config, models=[model], datasets=datasets, max_samples=max_samples)
    row = catalog.models[model]
    manager = EnvManager()
    outcomes: list[dict] = []
    env_info: dict = {}
    try:
        spec = manager.spec(row, env)
        environment = await build_env(manager, spec, model, run.log(f"{model}.build.log"))
        env_info = {
            "key": spec.key,
            "provider": spec.provider,
            "location": environment.location,
            "cached": environment.cached,
            "build_s": round(environment.build_s, 2),
            "ready_s": round(environment.ready_s, 3),
            "freeze": environment.freeze,
        }
    except Exception as exc:
        logger.error("%s: environment failed: %s", model, exc)
        return {
            "environment": env_info,
            "pairs": [pair_outcome(p, PAIR_FAILED, describe(exc)) for p in pairs],
        }

    todo = [p for p in pairs if not _already_complete(run, p)]
    for pair in pairs:
        if pair not in todo:
            outcomes.append(pair_outcome(pair, PAIR_COMPLETED))
    if not todo:
        return {"environment": env_info, "pairs": outcomes}

    server = None
    try:
        server, start_s = await serve(
            environment, row, model, run.log(f"{model}.server.log"), settings.server_start_timeout_s
        )
    except Exception as exc:
        logger.error("%s: server failed to start: %s", model, exc)
        return {
            "environment": env_info,
            "pairs": outcomes + [pair_outcome(p, PAIR_FAILED, describe(exc)) for p in todo],
        }
    try:
        for pair in todo:
            outcomes.append(await _evaluate_pair(catalog, pair, run, server, environment, start_s))
    finally:
        await stop(server, model)
    return {"environment": env_info, "pairs": outcomes}


def _already_complete(run: RunFolder, pair: Pair) -> bool:
    """Resume: a pair whose predictions, scores and performance were all written needs no server."""
    files = pair_files(run, pair)
    if not all(f.exists() for f in files.values()):
        return False
    answered = PredictionStore(run.journal(pair.model.name, pair.dataset_key)).load()["error"]
    return answered.null_count() == answered.len()


async def _evaluate_pair(catalog, pair: Pair, run: RunFolder, server, environment, start_s: float) -> dict:
    logger = get_run_logger()
    name = f"{pair.model.name}/{pair.dataset_key}"
    if not server.is_alive():
        return pair_outcome(
            pair,
            PAIR_FAILED,
            f"ServerError: the server {server.exit_reason()}; log tail:\n{server.log_tail()}",
        )
    predictions = run.predictions(pair.model.name, pair.dataset_key)
    try:
        for name in metric_names(pair):  # a metric plugin that cannot load must not cost an inference run
            metrics.get_metric(name)
        result = await inference(
            catalog, pair, server.base_url, run.journal(pair.model.name, pair.dataset_key)
        )
        PredictionStore(run.journal(pair.model.name, pair.dataset_key)).to_parquet(predictions)
        # Only the project's own server has a memory report; an external endpoint is never asked.
        own_server = get_backend(pair.model.backend).own_server
        memory = await fetch_memory_report(server.base_url) if own_server and server.is_alive() else {}
        performance = profiling(
            pair,
            predictions,
            peak_rss_mb=server.peak_rss_mb or memory.get("peak_rss_mb"),
            peak_gpu_mb=memory.get("peak_gpu_mb") or getattr(server, "peak_gpu_mb", None),
            env_build_s=round(environment.build_s, 3),
            server_start_s=round(start_s, 3),
        )
        scores, summary = scoring(pair, predictions)
        save_scored(run, pair, scores, summary, performance)
    except Exception as exc:
        logger.error("%s failed: %s", name, exc)
        return pair_outcome(pair, PAIR_FAILED, describe(exc))
    if result.stopped_early:
        return pair_outcome(pair, PAIR_FAILED, f"stopped early: {result.stopped_early}")
    if not server.is_alive():
        return pair_outcome(
            pair,
            PAIR_FAILED,
            f"ServerError: the server {server.exit_reason()} during inference; "
            f"log tail:\n{server.log_tail()}",
        )
    logger.info("%s: %d requests, %d errors", name, result.requests, result.errors)
    return pair_outcome(pair, PAIR_COMPLETED, requests=result.requests, errors=result.errors)

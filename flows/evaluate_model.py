"""evaluate_model: one model's subflow: build its env, serve it, and for each of its datasets run
inference, profiling and scoring (a pair with judged metrics is scored after its judges, flows/judge.py:
its part here ends `pending` with its answers); the server is always stopped. A failure stays inside this
model: its pairs are marked failed with the reason, and the subflow run ends Failed with that reason as its
state message (it returns its ModelResult either way)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.states import Completed, Crashed, Failed, State
from prefect.utilities.annotations import quote

from environments.backends import BACKENDS
from environments.launch import memory_report
from environments.manager import EnvManager
from metrics import METRICS
from tasks.build_env import build_env
from tasks.inference import already_complete, inference
from tasks.profiling import profiling
from tasks.runtime import pair_failure, quiet_prefect_tracebacks
from tasks.scoring import scoring
from tasks.serve import serve, stop
from vlmhb_core.console import TERMINAL
from vlmhb_core.settings import get_settings
from vlmhyperbench.config import Catalog, Pair, plan_pairs
from vlmhyperbench.inference import PredictionJournal, left_out_reasons
from vlmhyperbench.results import (
    PAIR_PENDING,
    EnvironmentRecord,
    ModelResult,
    PairKey,
    PairOutcome,
    RunFolder,
)

quiet_prefect_tracebacks()  # every per-model run imports this module: local, pool job or rescore


def model_state(model: str, result: ModelResult) -> State:
    """Completed when every pair completed (a judged pair's part ends with its answers: its judges come
    next); Crashed when the only pairs that did not are the harness's fault (errored: nothing against the
    model); else Failed with the failed pairs and their first reason line."""
    failed = result.failed
    if not failed:
        waiting = sum(p.status == PAIR_PENDING for p in result.pairs)
        done = f"{len(result.pairs) - waiting} pairs completed" + (
            f", {waiting} answered and waiting for their judges" if waiting else ""
        )
        return Completed(message=f"{model}: {done}", data=result)
    reasons = "; ".join(
        f"{p.key.label}: {(p.error or p.status).strip().splitlines()[0][:200]}" for p in failed[:5]
    )
    more = f" (+{len(failed) - 5} more)" if len(failed) > 5 else ""
    if len(result.errored) == len(failed):
        return Crashed(
            message=f"{model}: {len(failed)} of {len(result.pairs)} pairs errored by the harness, not the "
            f"model (--resume runs them again): {reasons}{more}",
            data=result,
        )
    return Failed(
        message=f"{model}: {len(failed)} of {len(result.pairs)} pairs failed: {reasons}{more}", data=result
    )


@flow(name="evaluate-model", flow_run_name="evaluate-{model}", validate_parameters=False)
async def evaluate_model(
    config: str,
    run_dir: str,
    model: str,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
    env: str | None = None,
) -> State:
    """Evaluates MODEL on its planned datasets; its state carries the ModelResult (environment, pairs)."""
    result = await _evaluate(config, run_dir, model, datasets, max_samples, env)
    return model_state(model, result)


async def _evaluate(
    config: str,
    run_dir: str,
    model: str,
    datasets: list[str] | None,
    max_samples: int | None,
    env: str | None,
) -> ModelResult:
    logger = get_run_logger()
    settings = get_settings()
    run = RunFolder(Path(run_dir))
    catalog, pairs = plan_pairs(config, models=[model], datasets=datasets, max_samples=max_samples)
    row, backend = catalog.models[model], catalog.backends[model]
    manager = EnvManager()
    try:
        if backend is None:  # a plugin backend that cannot be used: say why, as the catalog did
            BACKENDS.get(row.backend)
        spec = manager.spec(row, backend, env)
        log = run.log(f"{model}.build.log")
        if spec.provider == "none":  # an endpoint that already runs: nothing to build, no task to show
            environment = manager.ensure(spec, log, used_by=str(catalog.root))
        else:
            environment = await build_env(manager, spec, model, log, used_by=str(catalog.root))
    except Exception as exc:
        logger.error("%s: environment failed: %s", model, exc)
        return ModelResult(pairs=[pair_failure(p.key, exc) for p in pairs])
    record = EnvironmentRecord.of(spec, environment)
    todo = [p for p in pairs if not already_complete(run, p)]
    outcomes = [
        awaiting_judges(run, p.key) if p.judged else PairOutcome.completed(p.key)
        for p in pairs
        if p not in todo
    ]
    if not todo:
        return ModelResult(environment=record, pairs=outcomes)

    try:
        server, start_s = await serve(
            environment,
            row,
            backend,
            model,
            run.log(f"{model}.server.log"),
            settings.server_start_timeout_s,
        )
    except Exception as exc:
        logger.error("%s: server failed to start: %s", model, exc)
        failed = [pair_failure(p.key, exc) for p in todo]
        return ModelResult(environment=record, pairs=outcomes + failed)
    try:
        for pair in todo:
            outcomes.append(await _evaluate_pair(catalog, pair, run, server, environment, start_s, env))
    finally:
        try:
            if environment.provider == "none":  # nothing of ours runs: no task to show
                await asyncio.to_thread(server.stop)
            else:
                await stop(server, model)
        except Exception:  # the harness could not run the task (its API down): the server stops anyway
            await asyncio.to_thread(server.stop)
    return ModelResult(environment=record, pairs=outcomes)


def awaiting_judges(run: RunFolder, key: PairKey, **counts) -> PairOutcome:
    """A judged pair whose model answered: pending until its judges have given their verdicts."""
    if not counts:
        performance = run.read_performance(key) or {}
        counts = {k: performance.get(k) for k in ("requests", "errors")}
    return PairOutcome.of(key, PAIR_PENDING, stage="judging", **counts)


async def _evaluate_pair(
    catalog: Catalog, pair: Pair, run: RunFolder, server, environment, start_s: float, env: str | None = None
) -> PairOutcome:
    logger = get_run_logger()
    key = pair.key
    if not server.is_alive():
        return PairOutcome.failed(
            key, f"ServerError: the server {server.exit_reason()}; log tail:\n{server.log_tail()}"
        )
    predictions = run.predictions(key)
    try:
        for metric in pair.metric_names():  # a metric plugin that cannot load must not cost an inference run
            METRICS.get(metric)
        # quote: Prefect would walk the whole catalog (every model's row) for each task's inputs, a cost that
        # grows with the number of models (0.14 s a walk at 500 models); the task gets the catalog itself.
        result = await inference(quote(catalog), pair, server.base_url, run.journal(key))
        answers = PredictionJournal(run.journal(key)).to_parquet(predictions)
        # Only the project's own server has a memory report; an external endpoint is never asked.
        own_server = pair.backend is not None and pair.backend.own_server
        memory = await memory_report(server.base_url) if own_server and server.is_alive() else {}
        performance = await profiling(
            pair,
            predictions,
            peak_rss_mb=server.peak_rss_mb or memory.get("peak_rss_mb"),
            peak_gpu_mb=memory.get("peak_gpu_mb") or getattr(server, "peak_gpu_mb", None),
            env_build_s=round(environment.build_s, 3),
            server_start_s=round(start_s, 3),
        )
        scored = None
        if pair.judged:  # its scores wait for its judges (flows/judge.py)
            run.save_performance(key, performance)
        else:
            scored = await scoring(pair, predictions, run, env)
            if scored.answers_differ is not None:
                performance["answers_differ"] = scored.answers_differ
            run.save_scored(key, scored.scores, scored.summary, performance)
    except Exception as exc:
        outcome = pair_failure(key, exc)
        logger.error("%s %s: %s", key.label, outcome.status, exc)
        return outcome
    if result.stopped_early:
        return PairOutcome.failed(key, f"stopped early: {result.stopped_early}")
    if not server.is_alive():
        return PairOutcome.failed(
            key,
            f"ServerError: the server {server.exit_reason()} during inference; "
            f"log tail:\n{server.log_tail()}",
        )
    requests, errors, left_out = (performance[k] for k in ("requests", "errors", "left_out"))
    line = f"{key.label}: {requests} requests, {errors} errors"
    reasons = left_out_reasons(answers)
    if left_out:
        line += f"; {left_out} sample{'s' if left_out != 1 else ''} left out of the scores ({reasons[0][0]})"
    logger.info("%s", line, extra=TERMINAL)
    extra = {"left_out": left_out} if left_out else {}
    if scored is None:
        return awaiting_judges(
            run, key, requests=requests, errors=errors, pages=result.pages, dpi=result.dpi, **extra
        )
    return PairOutcome.completed(
        key,
        requests=requests,
        errors=errors,
        pages=result.pages,
        dpi=result.dpi,
        scorers=scored.scorers or None,
        **extra,
    )

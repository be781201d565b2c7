"""The judging stage: after the candidates' inference, before the scoring of the pairs their judges decide.

    benchmark
     ├─ evaluate_model ...        a judged pair: inference and profiling; its scoring waits
     ├─ judge (subflow per judge) build_env, serve, ask the missing verdicts, stop: once for all its pairs
     └─ judged-scoring per pair   rules + verdicts -> scores, summary, how many samples the judge saw,
                                  agreement with the rules and between judges, the judges' cost and speed

A judge is a models.csv row, built, served, health-checked and stopped by the same machinery as any model,
in its own environment. A judge with nothing to ask (every verdict journaled: a resume, a rescore) is not
started at all. A judge that cannot be built or started, or that stops answering, ends its `judge-NAME`
flow run Failed with the reason, and every pair it judges fails with a JudgeError naming it: a judge that
could not judge never counts an answer as wrong.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.states import Completed, Failed, State
from prefect.utilities.annotations import quote

from environments.backends import BACKENDS
from environments.manager import EnvManager
from flows.cli.parallel import parallel_limits
from tasks.build_env import build_env
from tasks.inference import model_endpoint
from tasks.judging import JudgeWork, judged_scoring, judging, plan_work
from tasks.runtime import quiet_prefect_tracebacks
from tasks.serve import serve, stop
from vlmhb_core.console import TERMINAL
from vlmhb_core.errors import JudgeError, failure_reason
from vlmhb_core.settings import get_settings
from vlmhyperbench.config import Catalog, Pair, expand_plan, load_catalog
from vlmhyperbench.results import (
    JUDGE_COMPLETED,
    JUDGE_FAILED,
    EnvironmentRecord,
    JudgeRecord,
    Manifest,
    PairKey,
    PairOutcome,
    RunFolder,
    now_iso,
)

quiet_prefect_tracebacks()

ASK_MISSING, ASK_ALL = "missing", "all"


def judge_state(record: JudgeRecord) -> State:
    """Completed when the judge gave its verdicts (or had none to give), else Failed naming it and why."""
    if record.status == JUDGE_FAILED:
        return Failed(message=f"judge {record.name}: {record.error}", data=record)
    what = (
        f"{record.asked} questions asked, {record.unparseable} unparseable answers, "
        f"{record.request_errors} request errors"
        if record.started
        else "every verdict already journaled: not started"
    )
    return Completed(message=f"judge {record.name}: {what}", data=record)


def judged_pairs(catalog: Catalog, keys: list[PairKey], params: dict) -> list[Pair]:
    """The run's pairs in KEYS, planned again from CATALOG with the run's parameters."""
    wanted = set(keys)
    pairs = expand_plan(
        catalog,
        models=params.get("models"),
        datasets=params.get("datasets"),
        max_samples=params.get("max_samples"),
    )
    return [p for p in pairs if p.key in wanted]


@flow(name="judge", flow_run_name="judge-{judge}", validate_parameters=False)
async def judge_model(
    config: str,
    run_dir: str,
    judge: str,
    keys: list[dict],
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
    env: str | None = None,
    ask: str = ASK_MISSING,
    check_paths: bool = True,
) -> State:
    """Asks JUDGE the questions it has not answered yet about the pairs KEYS (ASK=all: every question
    again); its state carries a JudgeRecord. CHECK_PATHS false: the config is the run's copy (a rescore)."""
    record = JudgeRecord(name=judge, pairs=[PairKey(**k).label for k in keys], updated_at=now_iso())
    try:
        await _judge(
            record, config, run_dir, judge, keys, models, datasets, max_samples, env, ask, check_paths
        )
    except Exception as exc:  # the judge could not judge: say so, by name, and fail its pairs
        record.status = JUDGE_FAILED
        record.error = str(exc) if isinstance(exc, JudgeError) else failure_reason(exc)
        get_run_logger().error("judge %s failed: %s", judge, record.error, extra=TERMINAL)
    record.updated_at = now_iso()
    return judge_state(record)


async def _judge(
    record: JudgeRecord,
    config: str,
    run_dir: str,
    judge: str,
    keys: list[dict],
    models: list[str] | None,
    datasets: list[str] | None,
    max_samples: int | None,
    env: str | None,
    ask: str,
    check_paths: bool,
) -> None:
    logger = get_run_logger()
    settings = get_settings()
    run = RunFolder(Path(run_dir))
    catalog = load_catalog(config, check_paths=check_paths)
    params = {"models": models, "datasets": datasets, "max_samples": max_samples}
    pairs = judged_pairs(catalog, [PairKey(**k) for k in keys], params)
    work: list[JudgeWork] = plan_work(catalog, judge, pairs, run, ask_all=ask == ASK_ALL)
    todo = sum(len(w.todo) for w in work)
    if not todo:
        logger.info(
            "judge %s: every verdict of %d pairs is journaled; not started", judge, len(pairs), extra=TERMINAL
        )
        return
    row = catalog.models[judge]
    record.model, record.backend = row.model, row.backend
    record.sampling = {"temperature": row.temperature, "max_tokens": row.max_tokens, **row.extra_body}
    backend = catalog.backends[judge] or BACKENDS.get(row.backend)  # PluginError names the plugin
    manager = EnvManager()
    spec = manager.spec(row, backend, env)
    try:
        environment = await build_env(
            manager, spec, f"judge {judge}", run.judge_log(judge, "build"), used_by=str(catalog.root)
        )
    except Exception as exc:
        raise JudgeError(f"could not be built: {failure_reason(exc)}") from exc
    record.environment = EnvironmentRecord.of(spec, environment)
    try:
        server, start_s = await serve(
            environment,
            row,
            backend,
            f"judge {judge}",
            run.judge_log(judge, "server"),
            settings.server_start_timeout_s,
        )
    except Exception as exc:
        raise JudgeError(f"could not start: {failure_reason(exc)}") from exc
    record.started, record.server_start_s = True, round(start_s, 3)
    logger.info("judge %s: %d questions about %d pairs", judge, todo, len(pairs), extra=TERMINAL)
    try:
        stats = await judging(
            judge,
            model_endpoint(row, backend, server.base_url),
            work,
            concurrency=row.concurrency,
            timeout_s=row.timeout_s or settings.request_timeout_s,
        )
        died = (
            None
            if server.is_alive()
            else f"the server {server.exit_reason()}; log tail:\n{server.log_tail()}"
        )
    finally:
        await stop(server, f"judge {judge}")
    record.asked, record.request_errors = stats.asked, stats.request_errors
    record.unparseable, record.reasked = stats.unparseable, stats.reasked
    if stats.stopped_early:
        raise JudgeError(f"stopped early: {stats.stopped_early}")
    if died:
        raise JudgeError(died)


async def run_judges(
    *,
    config: str,
    run: RunFolder,
    catalog: Catalog,
    pairs: list[Pair],
    manifest: Manifest,
    params: dict,
    env: str | None = None,
    ask: str = ASK_MISSING,
    check_paths: bool = True,
) -> list[PairOutcome]:
    """The judging stage for PAIRS (judged pairs whose candidate answered): each of their judges asked, side
    by side up to VLMHB_MAX_PARALLEL_MODELS, then each pair scored. Records each judge in MANIFEST and
    returns the pairs' outcomes (a pair whose judge failed fails, naming the judge)."""
    logger = get_run_logger()
    by_judge: dict[str, list[Pair]] = {}
    for pair in pairs:
        for judge in pair.judges:
            by_judge.setdefault(judge, []).append(pair)
    limits = parallel_limits(catalog, get_settings().max_parallel_models)

    async def one(judge: str, judged: list[Pair]) -> JudgeRecord:
        keys = [p.key.model_dump() for p in judged]
        async with limits[judge]:
            try:
                state: State = await judge_model(
                    config=config,
                    run_dir=str(run.root.resolve()),
                    judge=judge,
                    keys=keys,
                    env=env,
                    ask=ask,
                    check_paths=check_paths,
                    return_state=True,
                    **params,
                )
                result = state.result(raise_on_failure=False)
                if inspect.isawaitable(result):  # async here; a sync caller (rescore) gets the value
                    result = await result
            except Exception as exc:  # the subflow itself broke
                result = exc
        if not isinstance(result, JudgeRecord):
            reason = failure_reason(result) if isinstance(result, BaseException) else repr(result)
            result = JudgeRecord(
                name=judge, status=JUDGE_FAILED, error=reason, pairs=[p.key.label for p in judged]
            )
        return result

    records = await asyncio.gather(*(one(j, judged) for j, judged in by_judge.items()))
    for record in records:
        manifest.judges[record.name] = record
    run.save_manifest(manifest)
    outcomes = []
    for pair in pairs:
        before = manifest.outcome(pair.key)
        counts = {"requests": before.requests, "errors": before.errors} if before is not None else {}
        failed = [manifest.judges[j] for j in pair.judges if manifest.judges[j].status != JUDGE_COMPLETED]
        if failed:
            reason = "; ".join(f"JudgeError: judge {r.name!r} {r.error}" for r in failed)
            outcomes.append(PairOutcome.failed(pair.key, reason, **counts))
            continue
        try:
            judged = await judged_scoring(pair, run, quote(catalog), env)  # not walked (evaluate_model)
        except Exception as exc:
            logger.error("%s: scoring failed: %s", pair.key.label, exc)
            outcomes.append(PairOutcome.failed(pair.key, failure_reason(exc), **counts))
            continue
        if judged.failure:  # more than half of a judged metric's samples without a verdict: no figure
            logger.error("%s: %s", pair.key.label, judged.failure, extra=TERMINAL)
            outcomes.append(
                PairOutcome.failed(pair.key, judged.failure, no_verdict=judged.no_verdict, **counts)
            )
            continue
        if judged.no_verdict:
            logger.warning(
                "%s: %d judged samples have no verdict (judges: %s), left out of their judged metric: see "
                "the report's Judges section",
                pair.key.label,
                judged.no_verdict,
                judged.judges_without_verdicts() or "tied",
                extra=TERMINAL,
            )
        outcomes.append(
            PairOutcome.completed(pair.key, judges=list(pair.judges), no_verdict=judged.no_verdict, **counts)
        )
    return outcomes

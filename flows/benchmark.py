"""The benchmark flow: plan -> one evaluate_model subflow per model (side by side) -> judges -> report.

    python -m flows.benchmark [--config DIR] [--output DIR] [--run-id ID] [--resume ID]
                              [--models A,B] [--datasets X,Y] [--max-samples|--limit N] [--env venv|docker]
    python -m flows.benchmark --list      every registered name per registry, with its package

Exit codes: 0 every pair completed; 1 the run finished but some pairs failed; 2 bad configuration
(nothing was run); 3 a quality gate (gates.csv) failed, which wins over 1: it is a verdict on a measured
value, which a rerun does not change (a gate whose pair failed is `unchecked` and leaves the code at 1);
4 every pair that did not complete was `errored` by the harness (the Prefect API overloaded or down), not
failed by its model: `--resume` runs them again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.exceptions import TerminationSignal
from prefect.states import Completed, Crashed, Failed, State
from prefect.utilities.annotations import quote

from flows.cli.lifecycle import command_lifecycle, stop_everything
from flows.cli.parallel import parallel_limits, pool_gpu_slots
from flows.cli.terminal import quiet_terminal
from flows.dispatch import run_model
from flows.judge import run_judges
from tasks.gates import quality_gates
from tasks.plan import plan, record_data
from tasks.progress import stop_terminal
from tasks.report import report
from tasks.runtime import pair_failure
from vlmhb_core.console import FOLDER, TERMINAL, command_parser
from vlmhb_core.errors import ConfigError
from vlmhb_core.settings import Settings, get_settings
from vlmhyperbench.config import (
    DEFAULT_CONFIG,
    check_api_keys,
    check_data,
    default_config,
    dropped_datasets,
    plan_pairs,
    synthetic_datasets,
)
from vlmhyperbench.report import warm_up
from vlmhyperbench.results import (
    PAIR_ERRORED,
    PAIR_FAILED,
    PAIR_PENDING,
    Manifest,
    ModelResult,
    RunFolder,
    git_commit,
    new_run_id,
    versions,
)
from vlmhyperbench.results.resume import RunParameters, resumed_parameters

EXIT_OK, EXIT_PAIRS_FAILED, EXIT_CONFIG = 0, 1, 2
EXIT_GATE_FAILED = 3
EXIT_HARNESS_ERRORED = 4
TEMPORARY_API_PAIRS = 200
"""Beyond this many pairs the run says that a Prefect server is the right backend (bench/bench_scale.py)."""
PROG = "python -m flows.benchmark"


class Stopwatch:
    """Seconds spent in each stage of the run, for the manifest (`timings`)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[f"{stage}_s"] = round(now - self._last, 3)
        self._last = now


class ThrottledSave:
    """Calls SAVE at most once every INTERVAL_S (the last call is always followed by one within it)."""

    def __init__(self, save, interval_s: float = 1.0):
        self._save, self.interval_s, self._last = save, interval_s, 0.0

    def save(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            self._save()


@flow(name="benchmark", validate_parameters=True)
async def benchmark(
    config: str = DEFAULT_CONFIG,
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
    output: str | None = None,
    run_id: str | None = None,
    resume: str | None = None,
    env: str | None = None,
) -> State:
    """Benchmarks the models of CONFIG on its datasets. The run ends Completed only when every pair
    completed and every quality gate passed, else Failed with a message that names what failed; its
    result is {run_dir, run_id, status, exit_code, gates, failed_gates} either way. RESUME continues run
    RESUME exactly as it was started (its config folder and options, from its manifest: an option given
    with another value is a ConfigError)."""
    logger = get_run_logger()
    settings = get_settings()
    clock = Stopwatch()
    output_dir = Path(output or settings.results_dir)
    dispatch = Settings().dispatch  # read now, as run_model did: a long-lived worker's environment may change
    if resume:
        run = RunFolder.open(output_dir, resume)
        given = {"models": models, "datasets": datasets, "max_samples": max_samples, "env": env}
        stored = resumed_parameters(run, given, config=None if config == DEFAULT_CONFIG else config)
        config, models, datasets = stored.config, stored.models, stored.datasets
        max_samples, env, dispatch = stored.max_samples, stored.env, stored.dispatch or dispatch
    catalog, pairs = plan(config, models, datasets, max_samples)
    clock.lap("plan")
    warm_up()  # the report's imports, while the models run
    for warning in catalog.warnings:  # plugins that cannot be used: only their pairs will fail
        logger.warning("%s", warning)
    keys = [p.key for p in pairs]
    if resume:
        manifest = run.read_manifest()
        manifest.resume(keys)
    else:
        run = RunFolder.create(output_dir, run_id or new_run_id(), catalog.files)
        manifest = Manifest.start(
            run.run_id,
            config_dir=Path(config).resolve(),
            keys=keys,
            parameters=RunParameters(str(config), models, datasets, max_samples, env, dispatch).as_dict(),
            git_commit=git_commit(),
            versions=versions(),
        )
    manifest.benchmarks.update(record_data(catalog, pairs))
    run.save_manifest(manifest)
    logger.info(
        "run %s: %d pairs of %d models -> %s",
        run.run_id,
        len(pairs),
        len({p.model.name for p in pairs}),
        run.root,
        extra=TERMINAL,
    )

    on_pool = settings.dispatch == "pool" and settings.max_parallel_models is None
    pool_slots = await pool_gpu_slots() if on_pool else None
    limits = parallel_limits(catalog, settings.max_parallel_models, pool_slots)

    async def one_model(name: str) -> None:
        async with limits[name]:
            try:
                result = await run_model(
                    config=str(Path(config).resolve()),
                    run_dir=str(run.root.resolve()),
                    model=name,
                    datasets=datasets,
                    max_samples=max_samples,
                    env=env,
                    dispatch=dispatch,
                )
            except Exception as exc:  # the subflow itself broke: its pairs fail (or error), the others go on
                result = ModelResult(pairs=[pair_failure(p.key, exc) for p in pairs if p.model.name == name])
        if result.environment is not None:
            manifest.environments[name] = result.environment
        for outcome in result.pairs:
            manifest.record(outcome)
            say_failure(logger, outcome)
        saver.save()  # at most once a second: the pairs' own files are what a resume reads

    saver = ThrottledSave(lambda: run.save_manifest(manifest))
    await asyncio.gather(*(one_model(name) for name in dict.fromkeys(p.model.name for p in pairs)))
    errored = list(dict.fromkeys(p.model for p in manifest.errored_pairs))
    if errored:  # the harness's fault, likely passing (an overloaded API): once more, when the rest is done
        logger.warning(
            "%d pairs of %d models errored by the harness, not the models (%s: %s); running them once more",
            len(manifest.errored_pairs),
            len(errored),
            manifest.errored_pairs[0].key.label,
            (manifest.errored_pairs[0].error or "").splitlines()[0][:300],
            extra=TERMINAL,
        )
        await asyncio.gather(*(one_model(name) for name in errored))
    clock.lap("models")
    judged = [
        p for p in pairs if p.judged and getattr(manifest.outcome(p.key), "status", None) == PAIR_PENDING
    ]
    if judged:  # the judging stage: each judge once for all its pairs, then their scoring
        params = {"models": models, "datasets": datasets, "max_samples": max_samples}
        for outcome in await run_judges(
            config=str(Path(config).resolve()),
            run=run,
            catalog=catalog,
            pairs=judged,
            manifest=manifest,
            params=params,
            env=env,
        ):
            manifest.record(outcome)
            say_failure(logger, outcome)
        run.save_manifest(manifest)
        clock.lap("judges")
    stop_terminal()
    status = manifest.finish()
    run.save_manifest(manifest)
    scores, summaries, performance = run.pair_results([k for k in keys if k in manifest.completed_keys()])
    # quote: Prefect would walk every pair's record and performance for the task's inputs (5 s, 1,000 pairs)
    report(run, quote(manifest), scores, summaries, quote(performance))
    clock.lap("report")
    gates = quality_gates(run, catalog.gates, pairs, manifest)
    clock.lap("gates")
    manifest.timings = clock.laps
    run.save_manifest(manifest)
    exit_code = EXIT_OK if status == "completed" else EXIT_PAIRS_FAILED
    if manifest.failed_pairs and manifest.failed_pairs == manifest.errored_pairs:
        exit_code = EXIT_HARNESS_ERRORED
        logger.error(
            "%d pairs errored by the harness, not their models: continue with --resume %s",
            len(manifest.errored_pairs),
            run.run_id,
        )
    failed_gates = [f"{c.gate}: {c.model}/{c.dataset} {c.metric} {c.limit}" for c in gates.failed]
    if gates.failed:
        exit_code = EXIT_GATE_FAILED
        logger.error(
            "%d quality gate check(s) failed: %s",
            len(gates.failed),
            "; ".join(
                f"{c.gate} {c.model}/{c.dataset} {c.metric} {c.limit}: {c.reason}" for c in gates.failed
            ),
        )
    result = {
        "run_dir": str(run.root),
        "run_id": run.run_id,
        "status": status,
        "exit_code": exit_code,
        "gates": gates.status if gates.configured else None,
        "failed_gates": failed_gates,
        "errored": len(manifest.errored_pairs),
    }
    return run_state(run, manifest, failed_gates, result)


def say_failure(logger, outcome) -> None:
    """One terminal line for a pair that failed (or errored), with the first line of its reason."""
    if outcome.status in (PAIR_FAILED, PAIR_ERRORED):
        reason = (outcome.error or "").strip().splitlines()[0][:300] if (outcome.error or "").strip() else ""
        logger.error("%s %s: %s", outcome.key.label, outcome.status, reason, extra=TERMINAL)


def api_note(n_pairs: int) -> str | None:
    """The line that says, once, when the temporary Prefect API is the wrong tool for a run this size."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() or n_pairs <= TEMPORARY_API_PAIRS:
        return None
    return (
        f"{n_pairs} pairs on a temporary Prefect API (SQLite, in this command's shadow): beyond "
        f"{TEMPORARY_API_PAIRS} pairs a Prefect server on PostgreSQL is the sturdier backend: every write "
        "does not queue on one SQLite file, the UI outlives the command and the runs' history is kept "
        "(docs/guides/production.md: `prefect server start`, then set PREFECT_API_URL)"
    )


def run_state(run: RunFolder, manifest: Manifest, failed_gates: list[str], result: dict) -> State:
    """Completed only when every pair completed and no gate failed; Crashed when the only pairs that did
    not complete were errored by the harness (nothing against a model); else Failed, naming what failed
    (the message is what a Prefect notification on `prefect.flow-run.Failed` shows)."""
    failed = manifest.failed_pairs
    if not failed and not failed_gates:
        return Completed(message=f"run {run.run_id}: {len(manifest.pairs)} pairs completed", data=result)
    if not failed_gates and failed == manifest.errored_pairs:
        return Crashed(
            message=f"run {run.run_id}: {len(failed)} of {len(manifest.pairs)} pairs errored by the harness "
            f"(the Prefect API), not by their models: continue with --resume {run.run_id}",
            data=result,
        )
    parts = []
    if failed:
        names = ", ".join(p.key.label for p in failed[:10]) + (
            f" (+{len(failed) - 10} more)" if len(failed) > 10 else ""
        )
        parts.append(f"{len(failed)} of {len(manifest.pairs)} pairs failed: {names}")
    if failed_gates:
        parts.append(f"{len(failed_gates)} quality gate check(s) failed: " + "; ".join(failed_gates[:10]))
    return Failed(message=f"run {run.run_id}: " + "; ".join(parts), data=result)


# ---------------------------------------------------------------- command line


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line's parser (also `vlmhb run`'s, under PROG)."""
    parser = command_parser(
        prog,
        __doc__.split("\n\n")[0],
        "--limit 5                         # the embedded default benchmark, 5 samples per dataset",
        "--config configs/mine --models qwen,smol --env docker",
        "--resume 20261126-150434-746e     # continue a stopped run: only what is missing is asked",
    )
    parser.add_argument(
        "--config", default=None, metavar="DIR", help=f"config folder (default: {DEFAULT_CONFIG})"
    ).complete = FOLDER
    parser.add_argument(
        "--output", default=None, metavar="DIR", help="results folder (default: VLMHB_RESULTS_DIR or results)"
    ).complete = FOLDER
    parser.add_argument("--run-id", default=None, help="the new run's id (default: time-based)")
    parser.add_argument(
        "--resume",
        default=None,
        metavar="ID",
        help="continue run ID in place, with the config and options it was started with",
    )
    parser.add_argument("--models", default=None, help="comma-separated model names (default: all planned)")
    parser.add_argument(
        "--datasets", default=None, help="comma-separated dataset names (default: all planned)"
    )
    parser.add_argument(
        "--max-samples",
        "--limit",
        dest="max_samples",
        type=int,
        default=None,
        metavar="N",
        help="at most N samples per dataset (--limit is the same option)",
    )
    parser.add_argument(
        "--env",
        choices=["venv", "docker"],
        default=None,
        help="environment provider for every served model (default: the row's env)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Prefect's own records on the terminal too (they are always in RUN_DIR/logs/run.log)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list every registered backend, server engine, dataset format, task, metric and "
        "perturbation with the package it comes from, then exit",
    )
    return parser


def parse_args(argv: list[str] | None = None, prog: str = PROG) -> argparse.Namespace:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.resume and args.run_id:
        parser.error("--resume and --run-id exclude each other")
    if args.max_samples is not None and args.max_samples < 1:
        parser.error("--max-samples (--limit) must be at least 1")
    args.models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()] if args.datasets else None
    return args


def resume_options(args: argparse.Namespace, settings) -> tuple[argparse.Namespace, str]:
    """ARGS with the config and options of the run it resumes, and that run's dispatch; ConfigErrors for
    an option given with another value than the run's."""
    run = RunFolder.open(Path(args.output or settings.results_dir), args.resume)
    given = {
        "models": args.models,
        "datasets": args.datasets,
        "max_samples": args.max_samples,
        "env": args.env,
        "dispatch": settings.dispatch if "dispatch" in settings.model_fields_set else None,
    }
    stored = resumed_parameters(run, given, config=args.config)
    resumed = argparse.Namespace(**vars(args))
    resumed.config, resumed.models, resumed.datasets = stored.config, stored.models, stored.datasets
    resumed.max_samples, resumed.env = stored.max_samples, stored.env
    return resumed, stored.dispatch or settings.dispatch


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """The command line: `python -m flows.benchmark ARGV`, or `vlmhb run ARGV` (PROG names it in messages)."""
    args = parse_args(argv, prog)
    if args.list:
        from flows.cli.registries import print_registries

        print_registries()
        return EXIT_OK
    settings = get_settings()
    dispatch = settings.dispatch
    try:  # the whole config is checked before Prefect or any server starts
        if args.resume:  # the run's own config and options (resume_options: a different one is exit 2)
            args, dispatch = resume_options(args, settings)
            config = args.config
        else:
            config = default_config(args.config or DEFAULT_CONFIG)
            if args.run_id and (Path(args.output or settings.results_dir) / args.run_id).exists():
                raise ConfigError(
                    f"run {args.run_id} already exists in {args.output or settings.results_dir}: "
                    f"use --resume {args.run_id}"
                )
        catalog, pairs = plan_pairs(config, args.models, args.datasets, args.max_samples)
        for warning in catalog.warnings:  # plugins that cannot be used: only their pairs will fail
            print(f"warning: {warning}", file=sys.stderr)
        if dispatch == "local":  # on a pool, the per-model job's environment holds the keys
            check_api_keys(catalog, [p.model.name for p in pairs] + [j for p in pairs for j in p.judges])
        check_data(catalog, pairs)  # every dataset file and image of the plan, before anything starts
        for line in dropped_datasets(catalog, pairs, args.datasets):
            print(f"note: {line}", file=sys.stderr)
        for line in synthetic_datasets(catalog, pairs):
            print(f"warning: {line}", file=sys.stderr)
        if note := api_note(len(pairs)):
            print(f"note: {note}", file=sys.stderr)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    run_id = args.resume or args.run_id or new_run_id()  # known here, so that any error can name it

    async def run_benchmark() -> dict:
        state: State = await benchmark(
            config=config,
            models=args.models,
            datasets=args.datasets,
            max_samples=args.max_samples,
            output=args.output,
            run_id=None if args.resume else run_id,
            resume=args.resume,
            env=args.env,
            return_state=True,
        )
        value = await state.result(raise_on_failure=False)  # a Failed run's result is its data
        if isinstance(value, BaseException):  # the flow itself crashed
            raise value
        return value

    run_dir = Path(args.output or settings.results_dir) / run_id
    with (
        quiet_terminal(run_dir, args.verbose) as run_log,
        command_lifecycle(lambda: f"continue with --resume {run_id}") as life,
    ):
        try:
            result = asyncio.run(run_benchmark())
        except (KeyboardInterrupt, TerminationSignal, asyncio.CancelledError):
            return life.end_interrupted()
        except OSError as exc:  # e.g. the results disk is full: every stored answer is intact
            stop_everything()
            print(
                f"error: cannot write results: {exc.strerror or exc}; free space, then continue with "
                f"--resume {run_id}",
                file=sys.stderr,
            )
            return EXIT_PAIRS_FAILED
    print(f"results: {result['run_dir']} ({result['status']}); Prefect's log: {run_log}")
    if result.get("errored"):
        print(
            f"{result['errored']} pairs errored by the harness (the Prefect API), not by their models: "
            f"continue with --resume {run_id}"
        )
    if result.get("failed_gates"):
        print(f"quality gates failed ({len(result['failed_gates'])}): " + "; ".join(result["failed_gates"]))
    return result["exit_code"]


if __name__ == "__main__":
    sys.exit(main())

"""python -m flows.rescore RUN_DIR [--ask-judges missing|all]: recomputes scores, summary and report from
stored predictions.

No request is sent and no dataset is read: predictions keep the references and task fields, and the
judges' verdict journals keep every verdict, which judged metrics reuse. A verdict the journal lacks (a
changed judge prompt, a new `METRIC|judge` threshold that sends other samples to the judge) is counted as
no verdict and reported; `--ask-judges missing` starts the judges to ask exactly those, `--ask-judges all`
asks every question again (a judge model changed behind its endpoint). Useful after a metric fix, or to
score a run that was interrupted before its report.

With PREFECT_API_URL set, or when judges are to be asked (they are served as in a benchmark), it runs as a
Prefect flow (seen in the UI, with the run's artifacts); otherwise in this process alone, without starting a
temporary API.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.cli.lifecycle import EXIT_INTERRUPTED, command_lifecycle
from flows.cli.terminal import quiet_terminal
from flows.judge import ASK_ALL, ASK_MISSING, run_judges
from tasks.judging import score_judged_pair
from tasks.report import report
from vlmhb_core.console import FOLDER, TERMINAL, command_parser
from vlmhb_core.errors import ConfigError
from vlmhyperbench.config import Catalog, Pair, expand_plan, load_catalog
from vlmhyperbench.inference import PredictionJournal
from vlmhyperbench.report import warm_up, write_report
from vlmhyperbench.results import PAIR_COMPLETED, PAIR_PENDING, Manifest, PairKey, PairOutcome, RunFolder
from vlmhyperbench.scoring import score_one_pair


@dataclass
class Rescored:
    """What rescore_pairs did to one run folder."""

    run: RunFolder
    manifest: Manifest
    catalog: Catalog
    pairs: list[Pair]
    rescored: int = 0
    to_judge: list[Pair] = field(default_factory=list)
    """Judged pairs left for the judges (with --ask-judges)."""
    no_verdict: int = 0
    """Judged samples whose verdict the journals lack (left out of their judged metric)."""
    failed: list[str] = field(default_factory=list)
    """Judged pairs that fail now: more than half of a judged metric's samples have no verdict."""

    def completed(self) -> list[PairKey]:
        done = self.manifest.completed_keys()
        return [p.key for p in self.pairs if p.key in done]

    def describe(self) -> list[str]:
        lines = [f"re-scored {self.rescored} pairs of run {self.run.run_id}"]
        if self.no_verdict:
            lines.append(
                f"{self.no_verdict} judged samples have no verdict in the journals (left out of their judged "
                "metric); `--ask-judges missing` asks the judges for them"
            )
        lines += [f"failed: {reason}" for reason in self.failed]
        return lines


def _to_judge(pair: Pair, manifest: Manifest, ask_judges: str | None) -> bool:
    """A judged pair whose model answered: completed, waiting for its judges, or (when the judges are to be
    asked) failed because a judge could not judge."""
    outcome = manifest.outcome(pair.key)
    if outcome is None or (outcome.status != PAIR_COMPLETED and not ask_judges):
        return False
    return outcome.status in (PAIR_COMPLETED, PAIR_PENDING) or (outcome.error or "").startswith("JudgeError")


def rescore_pairs(run_dir: str, ask_judges: str | None = None) -> Rescored:
    """Scores every completed pair of RUN_DIR again from its stored predictions; judged pairs from their
    verdict journals, or (ASK_JUDGES) left in `to_judge` for the judges."""
    run = RunFolder(Path(run_dir))
    if not run.manifest_path.is_file():
        raise ConfigError(f"{run.root} is not a run folder (no manifest.json)")
    manifest = run.read_manifest()  # any schema version: a first-build run folder reads as well
    params = manifest.parameters
    catalog = load_catalog(run.config_dir, check_paths=False)
    pairs = expand_plan(
        catalog,
        models=params.get("models"),
        datasets=params.get("datasets"),
        max_samples=params.get("max_samples"),
    )
    done = Rescored(run, manifest, catalog, pairs)
    completed = manifest.completed_keys()
    for pair in pairs:  # plain calls, not a task per pair: a rescore of hundreds of pairs costs no API calls
        journal, predictions = run.journal(pair.key), run.predictions(pair.key)
        if journal.exists():
            PredictionJournal(journal).to_parquet(predictions)
        if not predictions.exists():
            continue
        if pair.judged:
            if not _to_judge(pair, manifest, ask_judges):
                continue
            if ask_judges:
                done.to_judge.append(pair)
            else:
                judged = score_judged_pair(pair, run, catalog, params.get("env"))
                done.no_verdict += judged.no_verdict
                done.rescored += 1
                if judged.failure:  # too few verdicts to stand: the pair fails, as in the benchmark
                    before = manifest.outcome(pair.key)
                    counts = {"requests": before.requests, "errors": before.errors} if before else {}
                    manifest.record(
                        PairOutcome.failed(pair.key, judged.failure, no_verdict=judged.no_verdict, **counts)
                    )
                    done.failed.append(f"{pair.key.label}: {judged.failure}")
            continue
        if pair.key not in completed:
            continue
        scored = score_one_pair(pair, predictions, run, params.get("env"))
        run.save_scored(pair.key, scored.scores, scored.summary, None)
        done.rescored += 1
    if done.failed:
        manifest.finish()
        run.save_manifest(manifest)
    return done


@flow(name="rescore")
def rescore(run_dir: str, ask_judges: str | None = None) -> dict:
    """Re-scores every pair of RUN_DIR that has predictions and rewrites the run's reports (as a flow run,
    with the report as its task and the run's artifacts); ASK_JUDGES (missing, all): ask the judges first,
    else only their journals are read."""
    logger = get_run_logger()
    warm_up()  # the report's imports, while the pairs are scored
    done = rescore_pairs(run_dir, ask_judges)
    run, manifest = done.run, done.manifest
    if done.to_judge:
        params = manifest.parameters
        outcomes = run_coro_as_sync(
            run_judges(
                config=str(run.config_dir),
                run=run,
                catalog=done.catalog,
                pairs=done.to_judge,
                manifest=manifest,
                params={k: params.get(k) for k in ("models", "datasets", "max_samples")},
                env=params.get("env"),
                ask=ask_judges,
                check_paths=False,
            )
        )
        for outcome in outcomes:
            manifest.record(outcome)
        manifest.finish()
        run.save_manifest(manifest)
        done.rescored += sum(o.status == PAIR_COMPLETED for o in outcomes)
    first, *rest = done.describe()
    logger.info(first, extra=TERMINAL)
    for line in rest:
        logger.warning(line, extra=TERMINAL)
    scores, summaries, performance = run.pair_results(done.completed())
    report(run, quote(manifest), scores, summaries, quote(performance))  # not walked (flows.benchmark)
    return {"run_dir": str(run.root), "rescored": done.rescored}


def rescore_here(run_dir: str) -> dict:
    """rescore without Prefect: where no PREFECT_API_URL names an API and no judge is to be asked, a temporary
    API would cost more than the rescore itself, and there is nothing to orchestrate (no request, no
    environment, one process)."""
    warm_up()
    done = rescore_pairs(run_dir)
    for line in done.describe()[1:]:
        print(f"warning: {line}", file=sys.stderr)
    write_report(done.run, done.manifest, *done.run.pair_results(done.completed()))
    return {"run_dir": str(done.run.root), "rescored": done.rescored}


PROG = "python -m flows.rescore"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line's parser (also `vlmhb rescore`'s, under PROG)."""
    parser = command_parser(
        prog,
        __doc__.split("\n\n")[0],
        "results/20261126-150434-746e   # after a metric fix: no request is sent",
        "results/20261126-150434-746e --ask-judges missing   # ask the verdicts the journals lack",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (OUTPUT/RUN_ID)").complete = FOLDER
    parser.add_argument(
        "--ask-judges",
        choices=[ASK_MISSING, ASK_ALL],
        default=None,
        help="start the judges and ask the verdicts their journals lack (missing) or every one again (all); "
        "without it no judge is asked",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Prefect's own records on the terminal too (they are always in RUN_DIR/logs/run.log)",
    )
    return parser


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    from prefect.settings import PREFECT_API_URL

    again = f"run `{prog} {args.run_dir}` again"
    try:
        if not PREFECT_API_URL.value() and not args.ask_judges:
            result = rescore_here(args.run_dir)
        else:
            with quiet_terminal(Path(args.run_dir), args.verbose), command_lifecycle(lambda: again) as life:
                try:
                    result = rescore(args.run_dir, args.ask_judges)
                except KeyboardInterrupt:
                    return life.end_interrupted()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: {again}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"re-scored {result['rescored']} pairs: {result['run_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

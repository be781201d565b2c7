"""python -m flows.rescore RUN_DIR [--ask-judges missing|all]: recomputes scores, summary and report from
stored predictions.

No request is sent and no dataset is read: predictions keep the references and task fields, and the
judges' verdict journals keep every verdict, which judged metrics reuse. A verdict the journal lacks (a
changed judge prompt, a new `METRIC|judge` threshold that sends other samples to the judge) is counted as
no verdict and reported; `--ask-judges missing` starts the judges to ask exactly those, `--ask-judges all`
asks every question again (a judge model changed behind its endpoint). Useful after a metric fix, or to
score a run that was interrupted before its report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.judge import ASK_ALL, ASK_MISSING, run_judges
from flows.lifecycle import command_lifecycle
from tasks.judging import score_judged_pair
from tasks.report import report
from tasks.scoring import score_one_pair
from vlmhyperbench.config import Pair, expand_plan, load_catalog
from vlmhyperbench.errors import ConfigError
from vlmhyperbench.inference import PredictionJournal
from vlmhyperbench.results import PAIR_COMPLETED, PAIR_PENDING, Manifest, RunFolder


def _to_judge(pair: Pair, manifest: Manifest, ask_judges: str | None) -> bool:
    """A judged pair whose model answered: completed, waiting for its judges, or (when the judges are to be
    asked) failed because a judge could not judge."""
    outcome = manifest.outcome(pair.key)
    if outcome is None or (outcome.status != PAIR_COMPLETED and not ask_judges):
        return False
    return outcome.status in (PAIR_COMPLETED, PAIR_PENDING) or (outcome.error or "").startswith("JudgeError")


@flow(name="rescore")
def rescore(run_dir: str, ask_judges: str | None = None) -> dict:
    """Re-scores every pair of RUN_DIR that has predictions and rewrites the run's reports; ASK_JUDGES
    (missing, all): ask the judges first, else only their journals are read."""
    logger = get_run_logger()
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
    completed = manifest.completed_keys()
    rescored = 0
    judged: list[Pair] = []
    for pair in pairs:  # plain calls, not a task per pair: a rescore of hundreds of pairs costs no API calls
        journal, predictions = run.journal(pair.key), run.predictions(pair.key)
        if journal.exists():
            PredictionJournal(journal).to_parquet(predictions)
        if not predictions.exists():
            continue
        if pair.judged:
            if _to_judge(pair, manifest, ask_judges):
                judged.append(pair)
            continue
        if pair.key not in completed:
            continue
        scored = score_one_pair(pair, predictions, run, params.get("env"))
        run.save_scored(pair.key, scored.scores, scored.summary, None)
        rescored += 1
    if judged and ask_judges:
        outcomes = run_coro_as_sync(
            run_judges(
                config=str(run.config_dir),
                run=run,
                catalog=catalog,
                pairs=judged,
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
        rescored += sum(o.status == PAIR_COMPLETED for o in outcomes)
    elif judged:
        missing = 0
        for pair in judged:
            counts = score_judged_pair(pair, run, catalog, params.get("env"))
            missing += int(counts["no_verdict"].sum()) if counts.height else 0
            rescored += 1
        if missing:
            logger.warning(
                "%d judged samples have no verdict in the journals (left out of their judged metric); "
                "`--ask-judges missing` asks the judges for them",
                missing,
            )
    logger.info("re-scored %d pairs of run %s", rescored, run.run_id)
    completed = manifest.completed_keys()
    scores, summaries, performance = run.pair_results([p.key for p in pairs if p.key in completed])
    report(run, manifest, scores, summaries, performance)
    return {"run_dir": str(run.root), "rescored": rescored}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.rescore", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument(
        "--ask-judges",
        choices=[ASK_MISSING, ASK_ALL],
        default=None,
        help="start the judges and ask the verdicts their journals lack (missing) or every one again (all); "
        "without it no judge is asked",
    )
    args = parser.parse_args(argv)
    with command_lifecycle(lambda: f"run `python -m flows.rescore {args.run_dir}` again") as life:
        try:
            result = rescore(args.run_dir, args.ask_judges)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return life.end_interrupted()
    print(f"re-scored {result['rescored']} pairs: {result['run_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""python -m flows.rescore RUN_DIR: recomputes scores, summary and report from stored predictions.

No request is sent and no dataset is read: predictions keep the references and task fields. Useful
after a metric fix, or to score a run that was interrupted before its report. With PREFECT_API_URL set it
runs as a Prefect flow (seen in the UI, with the run's artifacts); without, in this process alone, without
starting a temporary API.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prefect import flow, get_run_logger

from flows.lifecycle import EXIT_INTERRUPTED, command_lifecycle
from tasks.report import report
from tasks.scoring import score_one_pair
from vlmhyperbench.config import expand_plan, load_catalog
from vlmhyperbench.errors import ConfigError
from vlmhyperbench.inference import PredictionJournal
from vlmhyperbench.report import write_report
from vlmhyperbench.results import Manifest, PairKey, RunFolder


@flow(name="rescore")
def rescore(run_dir: str) -> dict:
    """Re-scores every pair of RUN_DIR that has predictions and rewrites the run's reports (as a flow run,
    with the report as its task and the run's artifacts)."""
    run, manifest, done, rescored = rescore_pairs(run_dir)
    get_run_logger().info("re-scored %d pairs of run %s", rescored, run.run_id)
    report(run, manifest, *run.pair_results(done))
    return {"run_dir": str(run.root), "rescored": rescored}


def rescore_here(run_dir: str) -> dict:
    """rescore without Prefect: where no PREFECT_API_URL names an API, a temporary one would cost more than
    the rescore itself, and there is nothing to orchestrate (no request, no environment, one process)."""
    run, manifest, done, rescored = rescore_pairs(run_dir)
    write_report(run, manifest, *run.pair_results(done))
    return {"run_dir": str(run.root), "rescored": rescored}


def rescore_pairs(run_dir: str) -> tuple[RunFolder, Manifest, list[PairKey], int]:
    """Scores every completed pair of RUN_DIR again from its stored predictions: (the run, its manifest,
    the completed pairs' keys, how many were scored)."""
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
    for pair in pairs:  # plain calls, not a task per pair: a rescore of hundreds of pairs costs no API calls
        journal, predictions = run.journal(pair.key), run.predictions(pair.key)
        if journal.exists():
            PredictionJournal(journal).to_parquet(predictions)
        if not predictions.exists() or pair.key not in completed:
            continue
        scored = score_one_pair(pair, predictions, run, params.get("env"))
        run.save_scored(pair.key, scored.scores, scored.summary, None)
        rescored += 1
    return run, manifest, [p.key for p in pairs if p.key in completed], rescored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.rescore", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    args = parser.parse_args(argv)
    from prefect.settings import PREFECT_API_URL

    try:
        if not PREFECT_API_URL.value():
            result = rescore_here(args.run_dir)
        else:
            with command_lifecycle(lambda: f"run `python -m flows.rescore {args.run_dir}` again") as life:
                try:
                    result = rescore(args.run_dir)
                except KeyboardInterrupt:
                    return life.end_interrupted()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: run `python -m flows.rescore {args.run_dir}` again", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"re-scored {result['rescored']} pairs: {result['run_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

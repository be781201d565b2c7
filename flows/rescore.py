"""python -m flows.rescore RUN_DIR: recomputes scores, summary and report from stored predictions.

No request is sent and no dataset is read: predictions keep the references and task fields. Useful
after a metric fix, or to score a run that was interrupted before its report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prefect import flow, get_run_logger

from flows.lifecycle import command_lifecycle
from tasks.report import report
from tasks.scoring import score_one_pair
from vlmhyperbench.config import expand_plan, load_catalog
from vlmhyperbench.console import FOLDER, usage_examples
from vlmhyperbench.errors import ConfigError
from vlmhyperbench.inference import PredictionJournal
from vlmhyperbench.results import RunFolder


@flow(name="rescore")
def rescore(run_dir: str) -> dict:
    """Re-scores every pair of RUN_DIR that has predictions and rewrites the run's reports."""
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
    for pair in pairs:  # plain calls, not a task per pair: a rescore of hundreds of pairs costs no API calls
        journal, predictions = run.journal(pair.key), run.predictions(pair.key)
        if journal.exists():
            PredictionJournal(journal).to_parquet(predictions)
        if not predictions.exists() or pair.key not in completed:
            continue
        scored = score_one_pair(pair, predictions, run, params.get("env"))
        run.save_scored(pair.key, scored.scores, scored.summary, None)
        rescored += 1
    logger.info("re-scored %d pairs of run %s", rescored, run.run_id)
    scores, summaries, performance = run.pair_results([p.key for p in pairs if p.key in completed])
    report(run, manifest, scores, summaries, performance)
    return {"run_dir": str(run.root), "rescored": rescored}


PROG = "python -m flows.rescore"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line's parser (also `vlmhb rescore`'s, under PROG)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=usage_examples(
            prog, "results/20261126-150434-746e   # after a metric fix: no request is sent"
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (OUTPUT/RUN_ID)").complete = FOLDER
    return parser


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    with command_lifecycle(lambda: f"run `{prog} {args.run_dir}` again") as life:
        try:
            result = rescore(args.run_dir)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return life.end_interrupted()
    print(f"re-scored {result['rescored']} pairs: {result['run_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

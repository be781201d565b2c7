"""python -m flows.rescore RUN_DIR: recomputes scores, summary and report from stored predictions.

No request is sent and no dataset is read: predictions keep the references and task fields. Useful
after a metric fix, or to score a run that was interrupted before its report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prefect import flow, get_run_logger

from flows.benchmark import collect_pair_results, pair_key
from flows.evaluate_model import pair_files, save_scored
from tasks.report import report
from tasks.scoring import scoring
from vlmhyperbench.catalog import expand_plan, load_catalog
from vlmhyperbench.errors import ConfigError
from vlmhyperbench.results import PAIR_COMPLETED, Manifest, RunFolder
from vlmhyperbench.store import PredictionStore


@flow(name="rescore")
def rescore(run_dir: str) -> dict:
    """Re-scores every pair of RUN_DIR that has predictions and rewrites the run's reports."""
    logger = get_run_logger()
    run = RunFolder(Path(run_dir))
    if not run.manifest_path.is_file():
        raise ConfigError(f"{run.root} is not a run folder (no manifest.json)")
    manifest = Manifest(run, run.read_manifest())
    params = manifest.data.get("parameters") or {}
    catalog = load_catalog(run.config_dir, check_paths=False)
    pairs = expand_plan(
        catalog,
        models=params.get("models"),
        datasets=params.get("datasets"),
        max_samples=params.get("max_samples"),
    )
    statuses = {
        (p["model"], p["dataset"], p.get("perturbation")): p["status"] for p in manifest.data["pairs"]
    }
    rescored = 0
    for pair in pairs:
        journal = run.journal(pair.model.name, pair.dataset_key)
        predictions = run.predictions(pair.model.name, pair.dataset_key)
        if journal.exists():
            PredictionStore(journal).to_parquet(predictions)
        if not predictions.exists() or statuses.get(pair_key(pair)) != PAIR_COMPLETED:
            continue
        scores, summary = scoring(pair, predictions)
        save_scored(run, pair, scores, summary, None)
        rescored += 1
    logger.info("re-scored %d pairs of run %s", rescored, run.run_id)
    scores, summaries, performance = collect_pair_results(
        run, [p for p in pairs if pair_files(run, p)["scores"].exists()], manifest
    )
    report(run, manifest.data, scores, summaries, performance)
    return {"run_dir": str(run.root), "rescored": rescored}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.rescore", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    args = parser.parse_args(argv)
    try:
        result = rescore(args.run_dir)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"re-scored {result['rescored']} pairs: {result['run_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

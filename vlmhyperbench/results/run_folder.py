"""A run folder, `OUTPUT/RUN_ID/`: every file name in it, and the copy of its config.

    manifest.json                          the run's record (results.records.Manifest)
    config/                                a copy of the config files the run started with
    predictions/MODEL/STEM.journal.jsonl   every answer as it arrived (append-only)
    predictions/MODEL/STEM.parquet         the answers, one row per sample, built from the journal
    pairs/MODEL/STEM.{scores,summary}.parquet, STEM.performance.json   one completed pair's results
    pairs/MODEL/job-outcome.json           a pool job's result (flows/dispatch.py)
    pairs/MODEL/owner.json                 the pool job that may write the model's files (results.fence)
    pairs/MODEL/STEM.scorer-NAME/          a scorer's work folder: request.json, input.jsonl, output.jsonl
                                           (and its own detail files)
    verdicts/JUDGE/MODEL/STEM.journal.jsonl   every answer of judge JUDGE about the pair (append-only)
    pairs/MODEL/STEM.{judging,agreement,disagreements,judge-performance,no-verdict}.parquet   a judged
                                           pair's figures (no-verdict: the samples without a verdict)
    logs/MODEL.build.log, MODEL.server.log, JUDGE.judge.build.log, JUDGE.judge.server.log
    scores.parquet, summary.{parquet,csv}, performance.{parquet,csv}, regressions.csv, gates.json,
    judging.{parquet,csv}, agreement.{parquet,csv}, judge_performance.{parquet,csv},
    leaderboard.md, report.html            the whole run's, written by the report

STEM is the pair's dataset, plus `~PERTURBATION` when there is one, plus `@cN` for a load curve's level
after the first (PairKey.stem). Every file is written
atomically (results.atomic). Only this module knows these names.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from vlmhb_core.atomic import atomic_write, atomic_write_json, write_parquet_atomic
from vlmhb_core.errors import ConfigError
from vlmhyperbench.results import fence
from vlmhyperbench.results.records import Manifest, ModelResult, PairKey
from vlmhyperbench.results.tables import write_table

MANIFEST = "manifest.json"
LEADERBOARD = "leaderboard.md"
REPORT = "report.html"
REGRESSIONS = "regressions.csv"
GATES = "gates.json"
SCORES, SUMMARY, PERFORMANCE = "scores", "summary", "performance"
"""The whole run's tables: STEM.parquet (and STEM.csv for summary and performance)."""
JUDGING, AGREEMENT, JUDGE_PERFORMANCE = "judging", "agreement", "judge_performance"
"""The whole run's judge tables (with a CSV copy): the samples each judged metric's judges saw, their
agreement with the rules and each other, and the judges' cost and speed."""


@dataclass(frozen=True)
class PairFiles:
    """One completed pair's results, written by its subflow and read back by the report."""

    scores: Path
    summary: Path
    performance: Path

    def all_exist(self) -> bool:
        return self.scores.exists() and self.summary.exists() and self.performance.exists()


@dataclass(frozen=True)
class JudgeFiles:
    """A judged pair's judge figures, written when it is scored (vlmhyperbench.judges.verdicts)."""

    judging: Path
    agreement: Path
    disagreements: Path
    performance: Path
    missing: Path
    """The judged samples without a verdict, with each judge's answer (judges.missing)."""

    def tables(self) -> dict[str, Path]:
        return {
            "judging": self.judging,
            "agreement": self.agreement,
            "disagreements": self.disagreements,
            "performance": self.performance,
            "missing": self.missing,
        }


@dataclass
class RunFolder:
    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def file(self, name: str) -> Path:
        """One of the whole run's files (MANIFEST, LEADERBOARD, REPORT, REGRESSIONS, GATES...)."""
        return self.root / name

    def table(self, stem: str) -> Path:
        """The whole run's table STEM (SCORES, SUMMARY, PERFORMANCE) as Parquet."""
        return self.root / f"{stem}.parquet"

    def predictions(self, key: PairKey) -> Path:
        return self.root / "predictions" / key.model / f"{key.stem}.parquet"

    def journal(self, key: PairKey) -> Path:
        return self.root / "predictions" / key.model / f"{key.stem}.journal.jsonl"

    def log(self, name: str) -> Path:
        return self.root / "logs" / name

    def pair_files(self, key: PairKey) -> PairFiles:
        base = self.root / "pairs" / key.model
        return PairFiles(
            scores=base / f"{key.stem}.scores.parquet",
            summary=base / f"{key.stem}.summary.parquet",
            performance=base / f"{key.stem}.performance.json",
        )

    def scorer_dir(self, key: PairKey, scorer: str) -> Path:
        """The work folder of scorer SCORER on the pair KEY (its inputs and outputs, kept as a record)."""
        return self.root / "pairs" / key.model / f"{key.stem}.scorer-{scorer}"

    def job_outcome(self, model: str) -> Path:
        return self.root / "pairs" / model / "job-outcome.json"

    def owner_file(self, model: str) -> Path:
        """Which per-model flow run may write MODEL's files (results.fence)."""
        return self.root / "pairs" / model / "owner.json"

    def verdicts(self, judge: str, key: PairKey) -> Path:
        """The append-only journal of judge JUDGE's answers about pair KEY."""
        return self.root / "verdicts" / judge / key.model / f"{key.stem}.journal.jsonl"

    def judge_files(self, key: PairKey) -> JudgeFiles:
        base = self.root / "pairs" / key.model
        return JudgeFiles(
            judging=base / f"{key.stem}.judging.parquet",
            agreement=base / f"{key.stem}.agreement.parquet",
            disagreements=base / f"{key.stem}.disagreements.parquet",
            performance=base / f"{key.stem}.judge-performance.parquet",
            missing=base / f"{key.stem}.no-verdict.parquet",
        )

    def judge_log(self, judge: str, what: str) -> Path:
        """logs/JUDGE.judge.WHAT.log (build, server): apart from the same model's logs as a candidate."""
        return self.log(f"{judge}.judge.{what}.log")

    # ---------------------------------------------------------------- creation

    @classmethod
    def create(cls, output: Path, run_id: str, config_files: list[Path]) -> RunFolder:
        root = Path(output) / run_id
        if root.exists():
            raise ConfigError(
                f"run folder {root} already exists: use --resume {run_id} to continue it, or another --run-id"
            )
        run = cls(root)
        run.config_dir.mkdir(parents=True)
        for path in config_files:
            if path.exists():
                shutil.copy2(path, run.config_dir / path.name)
        return run

    @classmethod
    def open(cls, output: Path, run_id: str) -> RunFolder:
        root = Path(output) / run_id
        if not (root / MANIFEST).is_file():
            raise ConfigError(f"cannot resume {run_id}: {root}/{MANIFEST} does not exist")
        return cls(root)

    # ---------------------------------------------------------------- the manifest

    def read_manifest(self) -> Manifest:
        return Manifest.load(self.manifest_path)

    def save_manifest(self, manifest: Manifest) -> None:
        atomic_write(self.manifest_path, manifest.to_json())

    # ---------------------------------------------------------------- one pair's results

    def save_scored(
        self, key: PairKey, scores: pl.DataFrame, summary: pl.DataFrame, performance: dict | None
    ) -> None:
        fence.check()
        files = self.pair_files(key)
        write_parquet_atomic(scores, files.scores, fsync=False)
        write_parquet_atomic(summary, files.summary, fsync=False)
        if performance is not None:
            atomic_write(files.performance, json.dumps(performance, default=str))

    def save_performance(self, key: PairKey, performance: dict) -> None:
        """A judged pair's performance row, written after its inference (its scores wait for the judges)."""
        fence.check()
        atomic_write(self.pair_files(key).performance, json.dumps(performance, default=str))

    def read_performance(self, key: PairKey) -> dict | None:
        path = self.pair_files(key).performance
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def save_judging(self, key: PairKey, tables: dict[str, pl.DataFrame]) -> None:
        """A judged pair's judge figures: TABLES by JudgeFiles name (judging, agreement, ...)."""
        fence.check()
        paths = self.judge_files(key).tables()
        for name, df in tables.items():
            write_parquet_atomic(df, paths[name], fsync=False)

    def judging_results(self, keys: list[PairKey]) -> dict[str, list[pl.DataFrame]]:
        """JudgeFiles name -> the frames of the pairs in KEYS that have that file (judged pairs)."""
        out: dict[str, list[pl.DataFrame]] = {}
        for key in keys:
            for name, path in self.judge_files(key).tables().items():
                if path.is_file():
                    out.setdefault(name, []).append(pl.read_parquet(path))
        return out

    def pair_results(self, keys: list[PairKey]) -> tuple[list[pl.DataFrame], list[pl.DataFrame], list[dict]]:
        """(scores, summaries, performance rows) of the pairs in KEYS whose files exist. The scores and the
        summaries come as one frame each, read in one lazy scan over all the pairs' files. A load curve's
        levels after the first give their performance row only: the run's quality is the first level's
        (a level whose answers differ keeps its own scores in its pair files: `level_summary`)."""
        done = [(k, files) for k, files in zip(keys, map(self.pair_files, keys)) if files.scores.exists()]
        performance = [
            json.loads(f.performance.read_text(encoding="utf-8")) for _, f in done if f.performance.exists()
        ]
        quality = [f for k, f in done if not k.is_level]
        return _scan_all([f.scores for f in quality]), _scan_all([f.summary for f in quality]), performance

    def level_summary(self, key: PairKey) -> pl.DataFrame | None:
        """A load-curve level's own summary rows (None when its answers equal the first level's)."""
        path = self.pair_files(key).summary
        if not path.is_file():
            return None
        df = pl.read_parquet(path)
        return df if df.height else None

    def save_job_outcome(self, model: str, result: ModelResult) -> None:
        fence.check()
        atomic_write(self.job_outcome(model), result.model_dump_json())

    def read_job_outcome(self, model: str) -> ModelResult | None:
        path = self.job_outcome(model)
        return ModelResult.model_validate_json(path.read_bytes()) if path.is_file() else None

    # ---------------------------------------------------------------- the whole run's files

    def write_table(self, df: pl.DataFrame, stem: str, *, csv: bool) -> None:
        write_table(df, self.root, stem, csv=csv)

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.root / name, text)

    def write_json(self, name: str, data) -> None:
        atomic_write_json(self.root / name, data)


def _scan_all(paths: list[Path]) -> list[pl.DataFrame]:
    """The parquet files at PATHS stacked (columns matched by name) in one frame: [] when there is none."""
    if not paths:
        return []
    return [pl.concat([pl.scan_parquet(p) for p in paths], how="diagonal_relaxed").collect()]

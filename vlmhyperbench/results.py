"""A run folder, `OUTPUT/RUN_ID/`: its layout, its manifest, and the copy of its config.

Layout (CONTRACT.md "Results"): manifest.json, config/, predictions/MODEL/DATASET.parquet (+ the
append-only journal each one is built from), logs/, scores.parquet, summary.*, performance.*,
leaderboard.md, report.html. Every file is written atomically (temp file, then rename).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConfigError

PAIR_PENDING, PAIR_COMPLETED, PAIR_FAILED = "pending", "completed", "failed"
REPO_ROOT = Path(__file__).resolve().parent.parent


def new_run_id() -> str:
    """Sortable and unique: UTC time to the second plus a short random suffix."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("vlmhyperbench", "prefect", "polars", "jiwer", "anls", "rapidfuzz", "aiohttp", "openai"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return found


@dataclass
class RunFolder:
    root: Path

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def predictions(self, model: str, dataset_key: str) -> Path:
        return self.root / "predictions" / model / f"{dataset_key}.parquet"

    def journal(self, model: str, dataset_key: str) -> Path:
        return self.root / "predictions" / model / f"{dataset_key}.journal.jsonl"

    def log(self, name: str) -> Path:
        return self.root / "logs" / name

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
        if not (root / "manifest.json").is_file():
            raise ConfigError(f"cannot resume {run_id}: {root}/manifest.json does not exist")
        return cls(root)

    # ---------------------------------------------------------------- manifest

    def read_manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def write_manifest(self, manifest: dict) -> None:
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False, default=str))


class Manifest:
    """The run's manifest.json, kept in memory and rewritten atomically after every change."""

    def __init__(self, run: RunFolder, data: dict):
        self.run, self.data = run, data

    @classmethod
    def start(
        cls, run: RunFolder, *, config_dir: Path, pairs: list[tuple[str, str, str | None]], parameters: dict
    ) -> Manifest:
        data = {
            "run_id": run.run_id,
            "status": "running",
            "started_at": now_iso(),
            "finished_at": None,
            "git_commit": git_commit(),
            "versions": versions(),
            "config": str(config_dir),
            "parameters": parameters,
            "argv": sys.argv,
            "environments": {},
            "pairs": [
                {"model": m, "dataset": d, "perturbation": p, "status": PAIR_PENDING, "error": None}
                for m, d, p in pairs
            ],
        }
        manifest = cls(run, data)
        manifest.save()
        return manifest

    @classmethod
    def resume(cls, run: RunFolder, pairs: list[tuple[str, str, str | None]]) -> Manifest:
        data = run.read_manifest()
        known = {(p["model"], p["dataset"], p.get("perturbation")) for p in data["pairs"]}
        data["pairs"].extend(
            {"model": m, "dataset": d, "perturbation": p, "status": PAIR_PENDING, "error": None}
            for m, d, p in pairs
            if (m, d, p) not in known
        )
        data.setdefault("resumed_at", []).append(now_iso())
        data["status"], data["finished_at"] = "running", None
        manifest = cls(run, data)
        manifest.save()
        return manifest

    def save(self) -> None:
        self.run.write_manifest(self.data)

    def set_pair(
        self,
        model: str,
        dataset: str,
        perturbation: str | None,
        status: str,
        error: str | None = None,
        **extra,
    ) -> None:
        for pair in self.data["pairs"]:
            if (pair["model"], pair["dataset"], pair.get("perturbation")) == (model, dataset, perturbation):
                pair.update(status=status, error=error, updated_at=now_iso(), **extra)
        self.save()

    def set_environment(self, model: str, info: dict) -> None:
        self.data["environments"][model] = info
        self.save()

    def finish(self) -> str:
        statuses = {p["status"] for p in self.data["pairs"]}
        self.data["status"] = (
            "completed"
            if statuses <= {PAIR_COMPLETED}
            else ("failed" if PAIR_COMPLETED not in statuses else "partial")
        )
        self.data["finished_at"] = now_iso()
        self.save()
        return self.data["status"]

    @property
    def failed_pairs(self) -> list[dict]:
        return [p for p in self.data["pairs"] if p["status"] != PAIR_COMPLETED]


def elapsed(start: float) -> float:
    return round(time.perf_counter() - start, 3)

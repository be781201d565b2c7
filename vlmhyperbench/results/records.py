"""The run's typed records: the key of a pair, what became of it, and manifest.json.

    key = PairKey(model="qwen", dataset="docs-vqa", perturbation="blur:2")
    key.stem                      -> "docs-vqa~blur-2"   (the pair's file stem in the run folder)
    PairKey(model="qwen", dataset="docs-vqa", concurrency=16).stem -> "docs-vqa@c16"  (a load-curve level)
    PairOutcome.completed(key, requests=36, errors=0)
    manifest = Manifest.load(path)  # any schema version this code has written, oldest included

manifest.json carries `schema_version`. Version 1 (the first build) had none; it reads as version 1 and
is written back as the current version, which adds fields and never removes one.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

SCHEMA_VERSION = 5
"""1: the first build's manifest (no schema_version); 2: schema_version, typed pairs and environments;
3: `benchmarks`, the data of each standard benchmark the run read (source, revision, sha256);
4: a pair records the page images it sent (`pages`), the DPI of rendered PDF pages (`dpi`) and the
scorers run out of process on it (`scorers`); 5: `judges`, each judge model's stage (status, environment,
server start, questions asked)."""

PairStatus = Literal["pending", "completed", "failed", "errored"]
PAIR_PENDING, PAIR_COMPLETED, PAIR_FAILED, PAIR_ERRORED = "pending", "completed", "failed", "errored"
"""`failed`: the model's or the data's fault. `errored`: the harness's (the Prefect API overloaded or
unreachable): not held against the model; `--resume` runs the pair again."""
RunStatus = Literal["running", "completed", "partial", "failed"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PairKey(BaseModel):
    """What names one unit of work of a run: a model, a dataset and the perturbation of its images."""

    model_config = ConfigDict(frozen=True)

    model: str
    dataset: str
    perturbation: str | None = None
    """None (or "" in tables) for the images as they are."""
    concurrency: int | None = None
    """A load curve's level after the first (None: the pair itself, the first level of a curve included);
    its files are STEM@cN, and its quality is the first level's unless its answers differ."""

    @field_validator("perturbation")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def stem(self) -> str:
        """The pair's file stem under its model's folder: DATASET, or DATASET~PERTURBATION with unsafe
        characters as '-', then `@cN` for a load-curve level."""
        return stem(self.dataset, self.perturbation) + (f"@c{self.concurrency}" if self.concurrency else "")

    @property
    def label(self) -> str:
        """`model/dataset`, `model/dataset ~perturbation`, and ` @cN` for a load-curve level, for people."""
        return (
            f"{self.model}/{self.dataset}"
            + (f" ~{self.perturbation}" if self.perturbation else "")
            + (f" @c{self.concurrency}" if self.concurrency else "")
        )

    @property
    def is_level(self) -> bool:
        return self.concurrency is not None

    @property
    def base(self) -> PairKey:
        """The key of the pair itself (a load curve's first level)."""
        return PairKey(model=self.model, dataset=self.dataset, perturbation=self.perturbation)

    def as_tuple(self) -> tuple[str, str, str]:
        """(model, dataset, perturbation) with "" for none: the key columns of every table."""
        return self.model, self.dataset, self.perturbation or ""


def stem(dataset: str, perturbation: str | None) -> str:
    """A pair's file stem: DATASET, or DATASET~PERTURBATION with unsafe characters as '-'."""
    if not perturbation:
        return dataset
    return f"{dataset}~{re.sub(r'[^A-Za-z0-9._-]+', '-', perturbation)}"


class PairOutcome(BaseModel):
    """What became of one pair: its status and, when it failed, why."""

    model_config = ConfigDict(extra="allow")

    model: str
    dataset: str
    perturbation: str | None = None
    concurrency: int | None = None
    """A load-curve level after the first (PairKey.concurrency); None otherwise."""
    status: PairStatus = PAIR_PENDING
    error: str | None = None
    requests: int | None = None
    errors: int | None = None
    pages: int | None = None
    """Page images of the pair's samples (schema 4; None in older manifests)."""
    dpi: int | None = None
    """The resolution PDF pages were rendered at (schema 4; None: image files, or an older manifest)."""
    scorers: list[dict[str, Any]] | None = None
    """Scorers run out of process on this pair (schema 4): environment key, provider, cache hit, build and
    job seconds, the environment's freeze, and what it could not score."""
    updated_at: str | None = None

    @property
    def key(self) -> PairKey:
        return PairKey(
            model=self.model,
            dataset=self.dataset,
            perturbation=self.perturbation,
            concurrency=self.concurrency,
        )

    @classmethod
    def of(cls, key: PairKey, status: PairStatus, error: str | None = None, **extra: Any) -> PairOutcome:
        return cls(**key.model_dump(), status=status, error=error, updated_at=now_iso(), **extra)

    @classmethod
    def completed(cls, key: PairKey, **extra: Any) -> PairOutcome:
        return cls.of(key, PAIR_COMPLETED, **extra)

    @classmethod
    def failed(cls, key: PairKey, error: str, **extra: Any) -> PairOutcome:
        return cls.of(key, PAIR_FAILED, error, **extra)

    @classmethod
    def errored(cls, key: PairKey, error: str, **extra: Any) -> PairOutcome:
        """The harness failed this pair (not the model): ERROR says how."""
        return cls.of(key, PAIR_ERRORED, error, **extra)


class EnvironmentRecord(BaseModel):
    """A model's environment as this run used it (more fields for pool runs: job_image, host...)."""

    model_config = ConfigDict(extra="allow")

    key: str
    provider: str
    location: str = ""
    cached: bool = False
    build_s: float | None = None
    ready_s: float | None = None
    freeze: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, spec, environment) -> EnvironmentRecord:
        """The record of ENVIRONMENT (environments.Environment) built from SPEC (environments.EnvSpec)."""
        return cls(
            key=spec.key,
            provider=spec.provider,
            location=environment.location,
            cached=environment.cached,
            build_s=round(environment.build_s, 2),
            ready_s=round(environment.ready_s, 3),
            freeze=environment.freeze,
        )


class BenchmarkData(BaseModel):
    """The data of one standard benchmark dataset as the run read it (vlmhyperbench.benchmarks)."""

    model_config = ConfigDict(extra="allow")

    benchmark: str
    source: str
    """The path as datasets.csv wrote it: a folder, `hf://ORG/NAME[@REVISION]`, or a bundle."""
    kind: str = "folder"
    """folder, hub or bundle."""
    path: str = ""
    split: str | None = None
    revision: str | None = None
    """The hub commit of the files, when known."""
    sha256: str | None = None
    """sha256 over the sorted sha256s of the files the split's questions were read from."""
    files: int | None = None
    samples: int | None = None
    synthetic: bool = False
    """Synthetic sample data (`vlmhb bundle sample`): its figures say nothing about a model."""


JUDGE_COMPLETED, JUDGE_FAILED = "completed", "failed"


class JudgeRecord(BaseModel):
    """One judge model's part of the run: whether it gave its verdicts, and what it cost to start and ask.
    A judge with nothing to ask (every verdict already journaled) is never started (`started` false)."""

    model_config = ConfigDict(extra="allow")

    name: str
    status: Literal["completed", "failed"] = JUDGE_COMPLETED
    error: str | None = None
    pairs: list[str] = Field(default_factory=list)
    """The pairs it judges (PairKey.label)."""
    model: str | None = None
    """Which model judged: its models.csv `model` (the official judge of a benchmark is a given model)."""
    backend: str | None = None
    sampling: dict[str, Any] = Field(default_factory=dict)
    """How it was asked: temperature, max_tokens and the row's extra_body (a seed, top_p)."""
    started: bool = False
    environment: EnvironmentRecord | None = None
    server_start_s: float | None = None
    asked: int = 0
    """Questions sent in this session (a re-ask after an unparseable answer counted again)."""
    request_errors: int = 0
    unparseable: int = 0
    reasked: int = 0
    updated_at: str | None = None


class ModelResult(BaseModel):
    """What one model's subflow returns (and a pool job writes to pairs/MODEL/job-outcome.json)."""

    environment: EnvironmentRecord | None = None
    pairs: list[PairOutcome] = Field(default_factory=list)
    flow_run_id: str | None = None
    """The pool job's flow run that wrote it: the benchmark reads only the outcome of the run it awaits."""

    @property
    def failed(self) -> list[PairOutcome]:
        """The pairs that did not complete, whoever's fault (failed or errored); a pair whose model answered
        and that waits for its judges (pending) has not failed."""
        return [p for p in self.pairs if p.status in (PAIR_FAILED, PAIR_ERRORED)]

    @property
    def errored(self) -> list[PairOutcome]:
        return [p for p in self.pairs if p.status == PAIR_ERRORED]


class Manifest(BaseModel):
    """manifest.json: the run's identity, provenance, parameters, environments, and every pair's outcome."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = 1
    run_id: str
    status: RunStatus = "running"
    started_at: str | None = None
    finished_at: str | None = None
    git_commit: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    config: str | None = None
    """The config folder the run started with (absolute): a resume reads it again."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    argv: list[str] = Field(default_factory=list)
    environments: dict[str, EnvironmentRecord] = Field(default_factory=dict)
    benchmarks: dict[str, BenchmarkData] = Field(default_factory=dict)
    """Dataset name -> the data of the standard benchmark it is (absent in older manifests)."""
    judges: dict[str, JudgeRecord] = Field(default_factory=dict)
    """Judge model name -> its judging stage (absent in older manifests)."""
    pairs: list[PairOutcome] = Field(default_factory=list)
    resumed_at: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    """Seconds spent in each stage: plan_s, models_s (every model's subflow), judges_s (the judging stage,
    judged runs only), report_s, gates_s."""
    _pair_index: dict[tuple, int] | None = PrivateAttr(default=None)

    @classmethod
    def start(
        cls,
        run_id: str,
        *,
        config_dir: Path,
        keys: list[PairKey],
        parameters: dict[str, Any],
        git_commit: str | None,
        versions: dict[str, str],
    ) -> Manifest:
        return cls(
            schema_version=SCHEMA_VERSION,
            run_id=run_id,
            started_at=now_iso(),
            git_commit=git_commit,
            versions=versions,
            config=str(config_dir),
            parameters=parameters,
            argv=list(sys.argv),
            pairs=[PairOutcome(**k.model_dump()) for k in keys],
        )

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls.model_validate_json(Path(path).read_bytes())

    def to_json(self) -> str:
        data = self.model_dump(mode="json", exclude_none=True)
        data["schema_version"] = SCHEMA_VERSION
        for name in ("finished_at", "git_commit", "config"):
            data.setdefault(name, None)
        for pair in data["pairs"]:  # the contract's keys, even when empty
            pair.setdefault("perturbation", None)
            pair.setdefault("error", None)
        return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"

    # ---------------------------------------------------------------- changing it

    def resume(self, keys: list[PairKey]) -> None:
        """A resumed run: pairs planned now but not before are added; the run is running again."""
        known = {p.key for p in self.pairs}
        self.pairs.extend(PairOutcome(**k.model_dump()) for k in keys if k not in known)
        self.resumed_at.append(now_iso())
        self.status, self.finished_at = "running", None

    def outcome(self, key: PairKey) -> PairOutcome | None:
        index = self._index().get(_identity(key))
        return None if index is None else self.pairs[index]

    def record(self, outcome: PairOutcome) -> None:
        index = self._index().get(_identity(outcome))
        if index is None:
            self.pairs.append(outcome)
        else:
            self.pairs[index] = outcome

    def __eq__(self, other: object) -> bool:  # by content: the private pair index is a cache
        return isinstance(other, Manifest) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]  # mutable, as every BaseModel

    def _index(self) -> dict[tuple, int]:
        """A pair's identity -> its position in `pairs`: recording a pair costs the same at the thousandth
        pair as at the first (rebuilt when `pairs` was changed by other means)."""
        index = self._pair_index
        if index is None or len(index) != len(self.pairs):
            index = {_identity(p): i for i, p in enumerate(self.pairs)}
            self._pair_index = index
        return index

    def finish(self) -> RunStatus:
        statuses = {p.status for p in self.pairs}
        if statuses <= {PAIR_COMPLETED}:
            self.status = "completed"
        else:
            self.status = "failed" if PAIR_COMPLETED not in statuses else "partial"
        self.finished_at = now_iso()
        return self.status

    def completed_keys(self) -> set[PairKey]:
        return {p.key for p in self.pairs if p.status == PAIR_COMPLETED}

    @property
    def failed_pairs(self) -> list[PairOutcome]:
        """The pairs that did not complete (failed, errored, or never run)."""
        return [p for p in self.pairs if p.status != PAIR_COMPLETED]

    @property
    def errored_pairs(self) -> list[PairOutcome]:
        """The pairs the harness failed (not the model): `--resume` runs them again."""
        return [p for p in self.pairs if p.status == PAIR_ERRORED]


def _identity(pair: PairKey | PairOutcome) -> tuple:
    """(model, dataset, perturbation, load-curve level): what tells two pairs of a run apart."""
    return pair.model, pair.dataset, pair.perturbation or "", pair.concurrency

"""Running a scorer: its environment through the EnvManager, its inputs and outputs as files.

    run = run_scorer("omnidocbench", predictions, ["omnidocbench_text_edit"], workdir=w, log=l)
    run.scores        # sample_id, metric, value (+ num, den, category, parts, detail where written)
    run.not_scored    # what the scorer could not score here, and why

The environment is built (or found in the cache) exactly as a model's: its EnvSpec is content-hashed
from the scorer's packages, Python, image and the runner's code, so a cache hit costs milliseconds and an
air-gapped machine builds it from a copied wheelhouse. The orchestrator never imports the scorer's
packages: it writes request.json and input.jsonl into the work folder, runs `python -m vlmhb_scorers`
there, and reads output.jsonl back, checking every row.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from environments.environment import Environment
from environments.jobs import run_job
from environments.spec import EnvSpec, server_digest
from metrics import METRICS
from vlmhb_core.errors import ScorerError
from vlmhyperbench.scorers._registry import SCORERS, Scorer

CODE = "vlmhb_scorers"
TASK_COLUMNS = ("label", "classes", "fields", "order")
EXTRA_COLUMNS = {"num": pl.Float64, "den": pl.Float64, "category": pl.String, "detail": pl.String}


@dataclass(frozen=True)
class NotScored:
    """A metric, or a part of one, that the scorer could not score where it ran, and why."""

    metric: str
    reason: str
    part: str = ""


@dataclass
class ScorerRun:
    scorer: str
    scores: pl.DataFrame
    not_scored: list[NotScored]
    environment: Environment
    job_s: float
    """Wall time of the job (start of the interpreter to its exit)."""
    timing: dict[str, Any] = field(default_factory=dict)
    """What the runner measured inside: import_s (the scorer's packages), score_s (its own work)."""

    def record(self) -> dict[str, Any]:
        """What the manifest keeps of this run (PairOutcome.scorers)."""
        env = self.environment
        return {
            "scorer": self.scorer,
            "key": env.spec.key,
            "provider": env.provider,
            "cached": env.cached,
            "ready_s": round(env.ready_s, 3),
            "build_s": round(env.build_s, 2),
            "job_s": round(self.job_s, 3),
            "freeze": env.freeze,
            "not_scored": [ns.__dict__ for ns in self.not_scored],
        }


def scorer_spec(scorer: Scorer, provider: str) -> EnvSpec:
    """The EnvSpec of SCORER's environment, built with PROVIDER (venv or docker)."""
    return EnvSpec(
        backend=f"scorer-{scorer.name}",
        provider=provider,  # type: ignore[arg-type]
        python=scorer.python or f"{sys.version_info.major}.{sys.version_info.minor}",
        packages=tuple(scorer.packages),
        base_image=scorer.image if provider == "docker" else None,
        env_vars=tuple(sorted(scorer.env_vars)),
        server_digest=server_digest(CODE),
        code=CODE,
        no_deps=tuple(scorer.no_deps),
    )


def provider_for(scorer: Scorer, override: str | None) -> str:
    """--env wins over the scorer's own `env`, which wins over VLMHB_ENV_PROVIDER (as for a model row)."""
    from vlmhb_core.settings import get_settings

    return override or scorer.env or get_settings().env_provider


def _records(table: pl.DataFrame) -> bytes:
    columns = [c for c in ("references", "error", "annotation", *TASK_COLUMNS) if c in table.columns]
    lines = []
    for row in table.select("sample_id", "prediction", *columns).iter_rows(named=True):
        if row.get("annotation") is not None:
            row["annotation"] = orjson.loads(row["annotation"])
        row["prediction"] = row["prediction"] or ""
        lines.append(orjson.dumps(row))
    return b"\n".join(lines) + (b"\n" if lines else b"")


def run_scorer(
    name: str,
    table: pl.DataFrame,
    metrics: list[str],
    *,
    workdir: Path,
    log: Path,
    env_override: str | None = None,
    manager=None,
) -> ScorerRun:
    """Scores TABLE (predictions: sample_id, prediction, references, annotation...) with scorer NAME's
    METRICS in its environment; ScorerError when its job fails or writes rows it may not."""
    from environments.manager import EnvManager

    scorer = SCORERS.get(name)
    manager = manager or EnvManager()
    spec = scorer_spec(scorer, provider_for(scorer, env_override))
    environment = manager.ensure(spec, log.with_name(log.stem + ".build.log"))
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("output.jsonl", "timing.json"):
        (workdir / stale).unlink(missing_ok=True)
    request = {"entry": scorer.entry, "scorer": name, "metrics": metrics, "options": scorer.options}
    (workdir / "request.json").write_bytes(orjson.dumps(request))
    (workdir / "input.jsonl").write_bytes(_records(table))
    started = time.perf_counter()
    result = run_job(
        environment,
        ["-m", CODE, "--workdir", "."],
        workdir=workdir,
        log=log,
        timeout_s=scorer.timeout_s,
    )
    if not result.ok:
        what = (
            f"timed out after {scorer.timeout_s:.0f} s" if result.timed_out else f"exited {result.returncode}"
        )
        raise ScorerError(f"scorer '{name}' {what}; log tail ({log}):\n{result.log_tail}")
    output = workdir / "output.jsonl"
    if not output.is_file():
        raise ScorerError(f"scorer '{name}' exited 0 but wrote no {output}")
    scores, not_scored = _read_output(
        output, name, metrics, set(table.get_column("sample_id").cast(pl.String))
    )
    timing_file = workdir / "timing.json"
    timing = orjson.loads(timing_file.read_bytes()) if timing_file.is_file() else {}
    return ScorerRun(name, scores, not_scored, environment, time.perf_counter() - started, timing)


def _read_output(
    path: Path, scorer: str, metrics: list[str], sample_ids: set[str]
) -> tuple[pl.DataFrame, list[NotScored]]:
    wanted = set(metrics)
    rows: list[dict[str, Any]] = []
    not_scored: list[NotScored] = []
    parts_len: int | None = None
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue

        def bad(what: str, n: int = n) -> ScorerError:
            return ScorerError(f"{path}:{n}: scorer '{scorer}' wrote {what}")

        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise bad(f"a line that is not JSON ({e})") from None
        if not isinstance(row, dict):
            raise bad(f"{type(row).__name__}, not an object")
        if "not_scored" in row:
            if row["not_scored"] not in wanted:
                raise bad(f"'not scored' for metric {row['not_scored']!r}, which it was not asked for")
            not_scored.append(
                NotScored(row["not_scored"], str(row.get("reason", "")), str(row.get("part") or ""))
            )
            continue
        metric, value, sid = row.get("metric"), row.get("value"), row.get("sample_id")
        if metric not in wanted:
            raise bad(f"metric {metric!r}, which it was not asked for (asked: {', '.join(metrics)})")
        if str(sid) not in sample_ids:
            raise bad(f"sample {sid!r}, which is not in its input")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise bad(f"value {value!r} for {metric}: not a finite number")
        out = {"sample_id": str(sid), "metric": metric, "value": float(value)}
        for column in EXTRA_COLUMNS:
            if row.get(column) is not None:
                out[column] = row[column]
        if "parts" in row:
            parts = row["parts"]
            if not isinstance(parts, list) or not all(isinstance(x, (int, float)) for x in parts):
                raise bad(f"parts {parts!r}: not a list of numbers")
            if parts_len is not None and len(parts) != parts_len:
                raise bad(f"parts of {len(parts)} numbers after rows of {parts_len}")
            parts_len = len(parts)
            out["parts"] = [float(x) for x in parts]
        rows.append(out)
    schema: dict[str, Any] = {"sample_id": pl.String, "metric": pl.String, "value": pl.Float64}
    for column, dtype in EXTRA_COLUMNS.items():
        if any(column in r for r in rows):
            schema[column] = dtype
    if any("parts" in r for r in rows):
        schema["parts"] = pl.List(pl.Float64)
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    for metric in wanted & set(frame.get_column("metric").unique().to_list()):
        METRICS.get(metric)  # a scorer's metric is registered with it: a typo here is a bug, say so early
    return frame, not_scored

"""The run folder: every file name in it, the typed records (PairKey, PairOutcome, Manifest), the
tables' schemas, and atomic writes."""

from vlmhyperbench.results.atomic import atomic_folder, atomic_write, atomic_write_json, write_parquet_atomic
from vlmhyperbench.results.provenance import git_commit, new_run_id, versions
from vlmhyperbench.results.records import (
    PAIR_COMPLETED,
    PAIR_FAILED,
    PAIR_PENDING,
    SCHEMA_VERSION,
    BenchmarkData,
    EnvironmentRecord,
    Manifest,
    ModelResult,
    PairKey,
    PairOutcome,
    now_iso,
    stem,
)
from vlmhyperbench.results.run_folder import (
    GATES,
    LEADERBOARD,
    MANIFEST,
    PERFORMANCE,
    REGRESSIONS,
    REPORT,
    SCORES,
    SUMMARY,
    PairFiles,
    RunFolder,
)

__all__ = [
    "GATES",
    "LEADERBOARD",
    "MANIFEST",
    "PERFORMANCE",
    "PAIR_COMPLETED",
    "PAIR_FAILED",
    "PAIR_PENDING",
    "REGRESSIONS",
    "REPORT",
    "SCORES",
    "SUMMARY",
    "SCHEMA_VERSION",
    "BenchmarkData",
    "EnvironmentRecord",
    "Manifest",
    "ModelResult",
    "PairFiles",
    "PairKey",
    "PairOutcome",
    "RunFolder",
    "atomic_folder",
    "atomic_write",
    "atomic_write_json",
    "git_commit",
    "new_run_id",
    "now_iso",
    "stem",
    "versions",
    "write_parquet_atomic",
]

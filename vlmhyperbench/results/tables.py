"""The run's tables (docs/reference/results.md): their columns and types, and how they are written.

scores.parquet, summary.parquet + .csv, performance.parquet + .csv are the whole run's, assembled from
every completed pair's files; a CSV copy flattens list columns to text and uses `;`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from metrics import SUMMARY_SCHEMA as AGGREGATE_SCHEMA
from vlmhb_core.atomic import atomic_write, write_parquet_atomic

KEY_COLUMNS = ["model", "dataset", "perturbation"]

PERFORMANCE_COLUMNS = [
    *KEY_COLUMNS,
    "requests",
    "errors",
    "left_out",
    "concurrency",
    "ttft_p50_s",
    "ttft_p90_s",
    "ttft_p99_s",
    "tpot_p50_s",
    "itl_p50_s",
    "latency_p50_s",
    "latency_p50_ci_low_s",
    "latency_p50_ci_high_s",
    "latency_p90_s",
    "latency_p99_s",
    "requests_per_s",
    "output_tokens_per_s",
    "peak_rss_mb",
    "peak_gpu_mb",
    "env_build_s",
    "server_start_s",
    # pages and cost (inference.performance)
    "pages",
    "pages_per_s",
    "s_per_page_p50",
    "input_tokens_per_page",
    "output_tokens_per_page",
    "gpu_hours",
    "usd_per_1k_pages",
    # load curves: a level's answers that differ from the first level's, and the saturation level
    "answers_differ",
    "saturation",
]
PERFORMANCE_BOOLEAN = {"saturation"}
PERFORMANCE_SCHEMA = {
    c: (pl.String if c in KEY_COLUMNS else pl.Boolean if c in PERFORMANCE_BOOLEAN else pl.Float64)
    for c in PERFORMANCE_COLUMNS
}
# judge_performance.parquet: one row per (judge, judged pair)
JUDGE_PERFORMANCE_COLUMNS = [
    "judge",
    "model",
    "dataset",
    "perturbation",
    "requests",
    "request_errors",
    "unparseable",
    "reasked",
    "verdicts",
    "concurrency",
    "ttft_p50_s",
    "latency_p50_s",
    "latency_p90_s",
    "latency_p99_s",
    "requests_per_s",
    "output_tokens_per_s",
    "window_s",
    "prompt_tokens",
    "output_tokens",
    "server_start_s",
    "env_build_s",
]
SUMMARY_SCHEMA = {
    **{c: pl.String for c in KEY_COLUMNS},
    **{c: t for c, t in AGGREGATE_SCHEMA.items() if c not in KEY_COLUMNS},
}
"""metrics' aggregate frame (metrics.SUMMARY_SCHEMA) with the pair's key: one owner for both."""
SUMMARY_COLUMNS = list(SUMMARY_SCHEMA)
SCORES_SCHEMA = {
    "model": pl.String,
    "dataset": pl.String,
    "perturbation": pl.String,
    "sample_id": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
}
SCORE_COLUMNS = list(SCORES_SCHEMA)


def frame(parts: list[pl.DataFrame], columns: list[str], schema: dict | None = None) -> pl.DataFrame:
    """PARTS stacked (columns matched by name), the contract's COLUMNS first; an empty SCHEMA'd frame
    when there is nothing."""
    parts = [p for p in parts if p is not None and p.height]
    if not parts:
        return pl.DataFrame(schema=schema or {c: pl.String for c in columns})
    df = pl.concat(parts, how="diagonal_relaxed")
    front = [c for c in columns if c in df.columns]
    return df.select(*front, pl.exclude(front))


def write_table(df: pl.DataFrame, folder: Path, stem: str, *, csv: bool) -> None:
    """FOLDER/STEM.parquet, and FOLDER/STEM.csv (`;`, list columns as text) when CSV."""
    write_parquet_atomic(df, Path(folder) / f"{stem}.parquet", fsync=False)
    if csv:
        flat = df.select(
            [pl.col(c).cast(pl.String) if df.schema[c] == pl.List else pl.col(c) for c in df.columns]
        )
        atomic_write(Path(folder) / f"{stem}.csv", flat.write_csv(separator=";"))

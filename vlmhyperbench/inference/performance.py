"""The request-side columns of performance.parquet, computed from a pair's predictions.

Percentiles are numpy's default (linear interpolation between closest ranks), as vLLM's benchmark
computes them, over the answered samples only; a failed request has no timing. TPOT is per request,
then its median; ITL's p50 is the median of the per-request median ITLs (vLLM pools every gap of
every request instead; the per-request median keeps the predictions one row per sample and differs
only when requests have very different lengths).

The median latency has a 95 % bootstrap interval (`latency_p50_ci_low_s`, `latency_p50_ci_high_s`: 1,000
resamples of the answered requests, seeded), as quality has: "fastest" is claimed only where they separate.

Throughput is answered requests (and their output tokens) over the measured window, from the first
send to the last completion. A resumed pair has several sessions (one per ``run_requests`` call, told
apart by ``session_start``); the window is the sum of each session's own window, so the hours between
a kill and the resume do not count, and neither do requests sent before the kill that never came back.

Pages and cost, as document pipelines are compared (olmOCR's dollars per million pages, marker's seconds
per page): `pages` is the page images of the requests sent; `pages_per_s` the pages of answered requests
over the window; `s_per_page_p50` the median over answered requests of latency / pages (the latency view;
1 / pages_per_s is the throughput view); `input_tokens_per_page` and `output_tokens_per_page` the usage's
token counts over the pages of the answered requests whose server reported usage (None without usage);
`gpu_hours` the window times the model's GPUs. With a price, `usd` is the pair's cost, either the hours
of the window at `cost_per_hour` (a rented server, an endpoint billed by the hour) or the usage's tokens
at `price_in` / `price_out` US dollars per million tokens (an API); `usd_per_1k_pages` is it per 1,000
answered pages.

Load curves: `saturation_level` is the concurrency past which throughput grows by less than 10 % while
the median latency keeps rising.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from metrics import percentile_interval

__all__ = [
    "left_out_mask",
    "left_out_reasons",
    "measured_window_s",
    "percentile",
    "performance_row",
    "saturation_level",
    "with_saturation",
]

SATURATION_GAIN = 0.10
"""A level is past saturation when the next one adds less than this share of throughput."""


def percentile(values: pl.Series | np.ndarray, q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation, nulls and NaNs left out; None if empty."""
    arr = values.drop_nulls().to_numpy() if isinstance(values, pl.Series) else np.asarray(values, float)
    arr = arr[~np.isnan(arr)] if arr.dtype.kind == "f" else arr
    return float(np.percentile(arr, q)) if arr.size else None


def measured_window_s(df: pl.DataFrame) -> float:
    """Sum over sessions of (last ``finished_at`` - first ``sent_at``), over requests that were sent."""
    if df.is_empty() or "sent_at" not in df.columns:
        return 0.0
    sent = df.filter(pl.col("sent_at").is_not_null() & pl.col("finished_at").is_not_null())
    if sent.is_empty():
        return 0.0
    key = "session_start" if "session_start" in sent.columns else None
    if key is None:
        return float(sent["finished_at"].max() - sent["sent_at"].min())
    windows = sent.group_by(pl.col(key).fill_null(-1.0)).agg(
        (pl.col("finished_at").max() - pl.col("sent_at").min()).alias("w")
    )
    return float(windows["w"].sum())


def left_out_mask(df: pl.DataFrame) -> pl.Series:
    """The samples never sent for a data reason (a missing, corrupt or escaping image): they failed with
    no attempt, say nothing about the model, and are left out of its scores and request counts."""
    if "attempts" not in df.columns:
        return pl.Series([False] * df.height, dtype=pl.Boolean)
    return df.select((pl.col("attempts").fill_null(1) == 0) & pl.col("error").is_not_null()).to_series()


def left_out_reasons(df: pl.DataFrame, top: int = 1) -> list[tuple[str, int]]:
    """The most frequent reasons samples were left out, with their counts."""
    errors = df.filter(left_out_mask(df))["error"]
    counts = errors.value_counts(sort=True).rows()
    return [(str(reason), int(n)) for reason, n in counts[:top]]


def performance_row(
    predictions: pl.DataFrame | str | Path,
    *,
    concurrency: int,
    window: float | tuple[float, float] | None = None,
    gpus: int = 0,
    cost_per_hour: float | None = None,
    price_in: float | None = None,
    price_out: float | None = None,
) -> dict[str, float | int | None]:
    """The request-side performance columns (docs/reference/results.md), and a few more, for one (model,
    dataset) pair.

    ``predictions``: the pair's predictions (a DataFrame or the parquet path, deduplicated as the
    store writes them). ``window``: seconds, or (start, end) epochs such as ``RunStats.started_at,
    RunStats.finished_at``; None computes it from the rows (see the module doc), which is right after a
    resume. GPUS and a price (COST_PER_HOUR, or PRICE_IN / PRICE_OUT in US dollars per million tokens)
    give gpu_hours and the cost columns. The rest of performance.parquet (model, dataset, peak memory,
    build and start times) is the caller's.
    """
    df = pl.read_parquet(predictions) if isinstance(predictions, (str, Path)) else predictions
    left_out = left_out_mask(df)
    sent = df.filter(~left_out)
    answered = df.filter(pl.col("error").is_null())
    if window is None:
        window_s = measured_window_s(df)
    elif isinstance(window, tuple):
        window_s = float(window[1] - window[0])
    else:
        window_s = float(window)
    tokens = int(answered["output_tokens"].fill_null(0).sum()) if "output_tokens" in df.columns else 0

    def pct(column: str, q: float) -> float | None:
        return percentile(answered[column], q) if column in answered.columns else None

    latency_low, latency_high = (
        percentile_interval(answered["latency_s"].drop_nulls().to_numpy(), 50)
        if "latency_s" in answered.columns
        else (None, None)
    )

    return {
        "requests": sent.height,
        "errors": sent.height - answered.height,
        "left_out": df.height - sent.height,
        "concurrency": concurrency,
        "ttft_p50_s": pct("ttft_s", 50),
        "ttft_p90_s": pct("ttft_s", 90),
        "ttft_p99_s": pct("ttft_s", 99),
        "tpot_p50_s": pct("tpot_s", 50),
        "itl_p50_s": pct("itl_s", 50),
        "latency_p50_s": pct("latency_s", 50),
        "latency_p50_ci_low_s": latency_low,
        "latency_p50_ci_high_s": latency_high,
        "latency_p90_s": pct("latency_s", 90),
        "latency_p99_s": pct("latency_s", 99),
        "requests_per_s": answered.height / window_s if window_s > 0 else None,
        "output_tokens_per_s": tokens / window_s if window_s > 0 else None,
        "queue_wait_p50_s": percentile(df["queue_wait_s"], 50) if "queue_wait_s" in df.columns else None,
        "window_s": window_s,
        "output_tokens": tokens,
        **_pages_and_cost(sent, answered, window_s, gpus, cost_per_hour, price_in, price_out),
    }


def _pages_and_cost(
    sent: pl.DataFrame,
    answered: pl.DataFrame,
    window_s: float,
    gpus: int,
    cost_per_hour: float | None,
    price_in: float | None,
    price_out: float | None,
) -> dict[str, float | int | None]:
    """The pages and cost columns (module doc)."""
    if "pages" not in sent.columns:  # predictions of a run from before pages were recorded
        pages = answered_pages = None
        paged = answered.clear()
    else:
        pages = int(sent["pages"].fill_null(0).sum())
        paged = answered.filter(pl.col("pages").fill_null(0) > 0)
        answered_pages = int(paged["pages"].sum()) if paged.height else 0
    with_usage = (
        paged.filter(pl.col("input_tokens").is_not_null()) if "input_tokens" in paged.columns else None
    )
    usage_pages = int(with_usage["pages"].sum()) if with_usage is not None and with_usage.height else 0

    def per_page(column: str) -> float | None:
        if not usage_pages or column not in with_usage.columns:
            return None
        return float(with_usage[column].fill_null(0).sum()) / usage_pages

    hours = window_s / 3600 if window_s > 0 else None
    if cost_per_hour is not None:
        usd = hours * cost_per_hour if hours is not None else None
    elif price_in is not None or price_out is not None:
        usage = (
            answered.filter(pl.col("input_tokens").is_not_null())
            if "input_tokens" in answered.columns
            else None
        )
        # priced by the token, the cost is known only when every answer's usage is
        usd = (
            (
                float(usage["input_tokens"].sum()) * (price_in or 0.0)
                + float(usage["output_tokens"].fill_null(0).sum()) * (price_out or 0.0)
            )
            / 1e6
            if usage is not None and usage.height == answered.height and answered.height
            else None
        )
    else:
        usd = None
    latencies = paged.select(pl.col("latency_s") / pl.col("pages")).to_series() if paged.height else None
    return {
        "pages": pages,
        "pages_per_s": answered_pages / window_s if answered_pages is not None and window_s > 0 else None,
        "s_per_page_p50": percentile(latencies, 50) if latencies is not None else None,
        "input_tokens_per_page": per_page("input_tokens"),
        "output_tokens_per_page": per_page("output_tokens"),
        "gpu_hours": hours * gpus if hours is not None and gpus else None,
        "usd": usd,
        "usd_per_1k_pages": usd / answered_pages * 1000 if usd is not None and answered_pages else None,
    }


def saturation_level(levels: list[tuple[int, float | None, float | None]]) -> int | None:
    """The concurrency past which throughput grows by less than SATURATION_GAIN while latency keeps rising.

    LEVELS: (concurrency, requests_per_s, latency_p50_s) of one load curve, in any order. None when the
    throughput still grows at the last step (the server did not saturate within the levels), or when a
    level has no figures."""
    points = sorted(levels)
    if len(points) < 2 or any(rps is None or lat is None for _, rps, lat in points):
        return None
    for (level, rps, lat), (_, next_rps, next_lat) in zip(points, points[1:]):
        if next_rps < rps * (1 + SATURATION_GAIN) and next_lat > lat:
            return level
    return None


def with_saturation(performance: pl.DataFrame) -> pl.DataFrame:
    """PERFORMANCE with `saturation`: on each load curve (several rows of one model, dataset and
    perturbation), True on its saturation level and False on the others; null outside load curves."""
    if not performance.height or "concurrency" not in performance.columns:
        return performance
    keys = ["model", "dataset", "perturbation"]
    marks: dict[tuple, int | None] = {}
    for key, group in performance.group_by(keys, maintain_order=True):
        if group.height > 1:
            marks[tuple(key)] = saturation_level(
                [
                    (int(r["concurrency"]), r.get("requests_per_s"), r.get("latency_p50_s"))
                    for r in group.iter_rows(named=True)
                ]
            )
    flags = [
        (None if key not in marks else marks[key] == int(c))
        for key, c in zip(performance.select(keys).iter_rows(), performance["concurrency"])
    ]
    return performance.with_columns(pl.Series("saturation", flags, dtype=pl.Boolean))

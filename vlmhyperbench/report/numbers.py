"""How a speed or size figure is shown, the same way in the terminal, leaderboard.md, report.html and the
Prefect artifacts: memory in MB without decimals (`1,087`), time to first token and between tokens in
milliseconds (`377`, `7.9`), other times in seconds. The files keep their units (performance.csv's columns
are in seconds and MB, with full precision); only what people read is rounded.

    figure("peak_rss_mb", 747.201)   -> "747"
    figure("ttft_p50_s", 0.3775)     -> "378"
    label("ttft_p50_s")              -> "TTFT p50 ms"
"""

from __future__ import annotations

import math

MISSING = "–"
_MS = ("ttft_", "itl_", "tpot_")
"""Columns in seconds that are shown in milliseconds."""
_NAMES = {
    "ttft": "TTFT",
    "itl": "ITL",
    "tpot": "TPOT",
    "latency": "latency",
    "queue_wait": "queue wait",
    "requests_per_s": "req/s",
    "output_tokens_per_s": "tok/s",
    "pages_per_s": "pages/s",
    "peak_rss_mb": "peak RSS MB",
    "peak_gpu_mb": "peak GPU MB",
    "usd_per_1k_pages": "$ / 1k pages",
    "s_per_page_p50": "s/page p50",
}


def in_ms(column: str) -> bool:
    return column.startswith(_MS) and column.endswith("_s")


def figure(column: str, value, digits: int = 3) -> str:
    """VALUE of the performance column COLUMN as shown to people (see the module docstring)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if column.endswith("_mb"):
        return f"{value:,.0f}"
    if in_ms(column):
        ms = value * 1000
        return f"{ms:,.0f}" if abs(ms) >= 10 else f"{ms:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def label(column: str) -> str:
    """The column's header as shown to people: `ttft_p50_s` -> `TTFT p50 ms`, `latency_p90_s` ->
    `latency p90 s`."""
    if column in _NAMES:
        return _NAMES[column]
    for stem, name in _NAMES.items():
        if column.startswith(stem + "_") and column.endswith("_s"):
            quantile = column[len(stem) + 1 : -2]
            return f"{name} {quantile} {'ms' if in_ms(column) else 's'}"
    return column

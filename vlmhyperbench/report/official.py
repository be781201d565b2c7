"""The official headline of each standard benchmark pair, in the benchmark's published scale (ANLS ×100,
OCRBench out of 1000...), with its interval and sub-splits, from the summary rows that name a benchmark."""

from __future__ import annotations

import polars as pl

from vlmhyperbench.benchmarks import BENCHMARKS


def _number(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def official_figures(summary: pl.DataFrame) -> dict[tuple[str, str, str], dict]:
    """(model, dataset, perturbation) -> {label, metric, value, ci_low, ci_high, n, scorer, scorer_version,
    text, subsplits: [(group, text)]} for every pair whose summary names a benchmark."""
    if not summary.height or "benchmark" not in summary.columns:
        return {}
    rows = summary.filter(pl.col("benchmark").is_not_null())
    if "perturbation" not in rows.columns:
        rows = rows.with_columns(pl.lit("", pl.String).alias("perturbation"))
    out: dict[tuple[str, str, str], dict] = {}
    for (model, dataset, pert, name), g in rows.group_by(
        ["model", "dataset", "perturbation", "benchmark"], maintain_order=True
    ):
        benchmark = BENCHMARKS.find(name)
        if benchmark is None:
            continue
        h = benchmark.headline
        main = g.filter((pl.col("metric") == h.metric) & (pl.col("aggregator") == "general"))
        if not main.height:
            continue
        rec = main.row(0, named=True)
        digits = 0 if h.scale >= 1000 and rec["n"] == h.scale else 1
        value, low, high = (h.figure(rec[c]) for c in ("value", "ci_low", "ci_high"))
        text = f"{_number(value, digits)}"
        if low is not None:
            text += f" [{_number(low, digits)}, {_number(high, digits)}]"
        subsplits = []
        if h.subsplits:
            parts = g.filter((pl.col("metric") == h.metric) & (pl.col("aggregator") == h.subsplits))
            for s in parts.sort("group").iter_rows(named=True):
                shown = (
                    f"{round(s['value'] * s['n'])}/{s['n']}"
                    if h.subsplit_counts
                    else _number(h.figure(s["value"]), 1)
                )
                subsplits.append((s["group"] or "(none)", shown))
        also = []
        for metric, label in h.also:
            other = g.filter((pl.col("metric") == metric) & (pl.col("aggregator") == "general"))
            if other.height:
                o = other.row(0, named=True)
                shown = _number(h.figure(o["value"]), digits)
                if o["ci_low"] is not None:
                    low, high = h.figure(o["ci_low"]), h.figure(o["ci_high"])
                    shown += f" [{_number(low, digits)}, {_number(high, digits)}]"
                also.append(f"{label} {shown}")
        out[(model, dataset, pert or "")] = {
            "benchmark": benchmark.name,
            "label": h.label,
            "metric": h.metric,
            "value": value,
            "ci_low": low,
            "ci_high": high,
            "n": rec["n"],
            "scorer": rec.get("scorer"),
            "scorer_version": rec.get("scorer_version"),
            "text": " · ".join([f"{text} {h.label}", *also]),
            "subsplits": subsplits,
        }
    return out

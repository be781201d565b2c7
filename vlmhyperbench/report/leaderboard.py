"""The leaderboard: one table per run, quality and speed side by side, as markdown, rich and rows."""

from __future__ import annotations

import polars as pl

from vlmhb_core.console import print_table
from vlmhyperbench.report.numbers import figure, label
from vlmhyperbench.report.official import official_figures
from vlmhyperbench.results.records import PairOutcome

PERF_COLUMNS = [
    (c, label(c)) for c in ("ttft_p50_s", "latency_p50_s", "requests_per_s", "pages_per_s", "peak_rss_mb")
]
COST_COLUMN = ("usd_per_1k_pages", label("usd_per_1k_pages"))
"""Shown when a model of the dataset has a price in models.csv."""
TERMINAL_ROWS = 20
"""Models shown per dataset in the terminal (the best on the main metric); leaderboard.md lists all."""
TERMINAL_FAILURES = 10


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def leaderboard_rows(
    summary: pl.DataFrame, performance: pl.DataFrame, pairs: list[PairOutcome]
) -> list[dict]:
    """One row per (dataset, perturbation, model): each metric's general value with its 95 % CI, the
    official headline of a standard benchmark (`official`, see report.official), the main speed figures,
    and the pair's status. Failed pairs are listed with their reason."""
    metrics: dict[tuple[str, str, str], dict[str, dict]] = {}
    if summary.height:
        for rec in summary.filter(pl.col("aggregator") == "general").iter_rows(named=True):
            key = (rec["model"], rec["dataset"], rec["perturbation"] or "")
            metrics.setdefault(key, {})[rec["metric"]] = rec
    perf: dict[tuple[str, str, str], dict] = {}
    # a load curve's rows: its first (lowest) level stands for the pair, as its quality does
    for rec in sorted(performance.iter_rows(named=True), key=lambda r: r.get("concurrency") or 0):
        perf.setdefault((rec["model"], rec["dataset"], rec["perturbation"] or ""), rec)
    official = official_figures(summary)
    rows: list[dict] = []
    for pair in pairs:
        if pair.key.is_level:  # shown with its load curve (load_curves)
            continue
        key = pair.key.as_tuple()
        rows.append(
            {
                "dataset": key[1],
                "perturbation": key[2],
                "model": key[0],
                "status": pair.status,
                "error": pair.error,
                "metrics": metrics.get(key, {}),
                "official": official.get(key),
                "perf": perf.get(key, {}),
            }
        )
    rows.sort(key=lambda r: (r["dataset"], r["perturbation"], r["status"] != "completed", r["model"]))
    return rows


def ranked(group: list[dict]) -> list[dict]:
    """GROUP's rows best first on their dataset's main metric (`main_metric`); rows without it, then
    failed pairs, follow by name."""

    def order(r: dict):
        rec = r["metrics"].get(r.get("main_metric") or "")
        if r["status"] != "completed" or rec is None or rec.get("value") is None:
            return (1 if r["status"] == "completed" else 2, 0.0, r["model"])
        value = float(rec["value"])
        return (0, -value if rec.get("higher_is_better", True) else value, r["model"])

    return sorted(group, key=order)


def metric_cell(rec: dict | None, with_ci: bool = True) -> str:
    if rec is None:
        return "–"
    if rec.get("value") is None and rec.get("note"):  # asked for, but not scorable where it ran
        return "not scored"
    arrow = "↑" if rec.get("higher_is_better") else "↓"
    if rec.get("ci_low") is None or not with_ci:
        return f"{_fmt(rec['value'])} {arrow}"
    return f"{_fmt(rec['value'])} [{_fmt(rec['ci_low'])}, {_fmt(rec['ci_high'])}] {arrow}"


def to_markdown(rows: list[dict], run_id: str) -> str:
    lines = [f"# Leaderboard — run {run_id}", ""]
    by_dataset: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_dataset.setdefault((row["dataset"], row["perturbation"]), []).append(row)
    for (dataset, perturbation), group in by_dataset.items():
        names = sorted({m for r in group for m in r["metrics"]})
        title = f"## {dataset}" + (f" (perturbation {perturbation})" if perturbation else "")
        official = any(r.get("official") for r in group)
        left_out = any(r["perf"].get("left_out") for r in group)
        perf_columns = PERF_COLUMNS + (
            [COST_COLUMN] if any(r["perf"].get(COST_COLUMN[0]) for r in group) else []
        )
        header = ["model", *(["official"] if official else []), *names]
        header += [*[label for _, label in perf_columns], *(["left out"] if left_out else []), "status"]
        lines += [title, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in ranked(group):
            cells = [
                r["model"],
                *([(r.get("official") or {}).get("text", "–")] if official else []),
                *[metric_cell(r["metrics"].get(n)) for n in names],
                *[figure(c, r["perf"].get(c)) for c, _ in perf_columns],
                *([_fmt(r["perf"].get("left_out"))] if left_out else []),
                r["status"] if r["status"] == "completed" else f"{r['status']}: {_md_escape(r['error'])}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines += _official_notes(group)
    lines.append("Values are fractions with 95 % bootstrap intervals; ↑ higher is better, ↓ lower is better.")
    if any(r["perf"].get("left_out") for r in rows):
        lines.append(
            "Left out: samples never sent for a data reason (a missing or broken image), not counted in "
            "the scores or the requests."
        )
    return "\n".join(lines) + "\n"


def load_curves(performance: pl.DataFrame, pairs: list[PairOutcome]) -> list[dict]:
    """One entry per load curve (a model, dataset and perturbation run at several concurrencies): each level's
    throughput and latency, whether its answers differ from the first level's, and the saturation level
    (inference.performance.saturation_level, marked by `with_saturation`). A level that did not complete is
    listed with its status."""
    status = {(p.model, p.dataset, p.perturbation or "", p.concurrency): p for p in pairs}
    curves: dict[tuple[str, str, str], dict] = {}
    for rec in performance.iter_rows(named=True):
        if rec.get("saturation") is None:  # not on a load curve
            continue
        key = (rec["model"], rec["dataset"], rec["perturbation"] or "")
        curve = curves.setdefault(
            key,
            {"model": key[0], "dataset": key[1], "perturbation": key[2], "levels": [], "saturation": None},
        )
        curve["levels"].append({**rec, "status": "completed"})
        if rec["saturation"]:
            curve["saturation"] = int(rec["concurrency"])
    for (model, dataset, pert, level), p in status.items():
        curve = curves.get((model, dataset, pert))
        if level is not None and p.status != "completed" and curve is not None:
            curve["levels"].append({"concurrency": level, "status": p.status, "error": p.error})
    for curve in curves.values():
        curve["levels"].sort(key=lambda r: r["concurrency"])
    return sorted(curves.values(), key=lambda c: (c["dataset"], c["perturbation"], c["model"]))


def curves_markdown(curves: list[dict]) -> str:
    """leaderboard.md's load-curve section (empty without load curves)."""
    if not curves:
        return ""
    lines = [
        "## Load curves",
        "",
        "Each level ran the same samples; ★ marks the saturation level: past it throughput grows by less "
        "than 10 % while the median latency keeps rising. Quality is the first level's unless a level's "
        "answers differ (its own scores are then in its pair files).",
        "",
        "| model | dataset | concurrency | req/s | pages/s | latency p50 s | latency p99 s | TTFT p50 ms "
        "| answers differing | status |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in curves:
        dataset = c["dataset"] + (f" ~{c['perturbation']}" if c["perturbation"] else "")
        for lv in c["levels"]:
            star = " ★" if lv.get("saturation") else ""
            cells = [
                _md_escape(c["model"]),
                _md_escape(dataset),
                f"{int(lv['concurrency'])}{star}",
                *[
                    figure(k, lv.get(k))
                    for k in ("requests_per_s", "pages_per_s", "latency_p50_s", "latency_p99_s", "ttft_p50_s")
                ],
                _fmt(lv.get("answers_differ"), 0) if lv.get("answers_differ") is not None else "–",
                lv["status"]
                if lv["status"] == "completed"
                else f"{lv['status']}: {_md_escape(lv.get('error'))}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, ""]) + "\n"


def _official_notes(group: list[dict]) -> list[str]:
    """Below a standard benchmark's table: its scorer, and each model's sub-splits in the official scale."""
    figures = [(r["model"], r["official"]) for r in group if r.get("official")]
    if not figures:
        return []
    first = figures[0][1]
    lines = [f"Official figure: {first['label']} by {first['scorer']} (version {first['scorer_version']})."]
    for model, f in figures:
        if f["subsplits"]:
            parts = " · ".join(f"{g} {v}" for g, v in f["subsplits"])
            lines.append(f"- {model}: {_md_escape(parts)}")
    return [*lines, ""]


def _md_escape(text: str | None) -> str:
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return first.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")[:200]


def print_leaderboard(rows: list[dict], run_id: str, console=None) -> None:
    """The leaderboard in the terminal, one table per dataset (a plain one in a log or a pipe), then each
    failed pair's reason."""
    from rich.console import Console
    from rich.markup import escape

    console = console or Console()
    console.print(f"VLMHyperBench — run {escape(run_id)}", highlight=False)
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["perturbation"]), []).append(row)
    for (dataset, perturbation), group in groups.items():
        names = sorted({m for r in group for m in r["metrics"]})
        official = any(r.get("official") for r in group)
        left_out = any(r["perf"].get("left_out") for r in group)
        headers = [
            "model",
            *(["official"] if official else []),
            *names,
            *[label for _, label in PERF_COLUMNS],
        ]
        headers += ["left out", "status"] if left_out else ["status"]
        shown = ranked(group)[:TERMINAL_ROWS]
        table = []
        for r in shown:
            cells = [r["model"], *([(r.get("official") or {}).get("text", "–")] if official else [])]
            cells += [metric_cell(r["metrics"].get(n), with_ci=False) for n in names]
            cells += [figure(c, r["perf"].get(c)) for c, _ in PERF_COLUMNS]
            cells += [_fmt(r["perf"].get("left_out"))] if left_out else []
            table.append([*cells, r["status"]])
        print_table(
            headers,
            table,
            title=dataset + (f" ~{perturbation}" if perturbation else ""),
            fold=("model",),
            styles=[None if r["status"] == "completed" else "red" for r in shown],
            console=console,
        )
        if len(group) > len(shown):
            console.print(
                f"… {len(group) - len(shown)} more models below these {len(shown)}: "
                "leaderboard.md and report.html list them all",
                highlight=False,
            )
    failed = [r for r in rows if r["status"] != "completed"]
    for r in failed[:TERMINAL_FAILURES]:
        pert = f" ~{r['perturbation']}" if r["perturbation"] else ""
        console.print(
            f"[red]✗ {escape(r['model'])} / {escape(r['dataset'] + pert)} ({r['status']}):[/] "
            f"{escape(str(r['error']))}",
            highlight=False,
        )
    if len(failed) > TERMINAL_FAILURES:
        console.print(
            f"[red]✗ … and {len(failed) - TERMINAL_FAILURES} more pairs that did not complete:[/] "
            "see leaderboard.md",
            highlight=False,
        )

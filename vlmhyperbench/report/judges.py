"""The judges in a run's report: how many samples each judged metric's judges saw, their agreement with the
rules and with each other, the samples where judge and rule disagree most (with their images), and the
judges' cost and speed, apart from the candidates'. Read from the judged pairs' files (pairs/MODEL/STEM.*);
nothing here for a run without judges."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from vlmhyperbench.report import data
from vlmhyperbench.results.records import PAIR_COMPLETED, Manifest
from vlmhyperbench.results.run_folder import AGREEMENT, JUDGE_PERFORMANCE, JUDGING, RunFolder
from vlmhyperbench.results.tables import JUDGE_PERFORMANCE_COLUMNS


@dataclass
class JudgeTables:
    judging: pl.DataFrame
    agreement: pl.DataFrame
    disagreements: pl.DataFrame
    performance: pl.DataFrame
    missing: pl.DataFrame = field(default_factory=pl.DataFrame)
    """The judged samples without a verdict, with each judge's answer, of every judged pair (a pair that
    failed for want of verdicts included: judges.missing)."""


def judge_tables(run: RunFolder, manifest: Manifest) -> JudgeTables | None:
    """The run's judge tables, from its completed judged pairs (the samples without a verdict: from every
    judged pair); None when no pair was judged."""
    keys = [p.key for p in manifest.pairs if p.status == PAIR_COMPLETED]
    found = run.judging_results(keys)
    missing = [
        df for df in run.judging_results([p.key for p in manifest.pairs]).get("missing", []) if df.height
    ]
    if not found.get("judging") and not missing:
        return None

    def stack(name: str) -> pl.DataFrame:
        parts = [df for df in found.get(name, []) if df.height]
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    performance = stack("performance")
    if performance.height:
        start = {n: j.server_start_s for n, j in manifest.judges.items()}
        build = {n: (j.environment.build_s if j.environment else None) for n, j in manifest.judges.items()}
        performance = performance.with_columns(
            pl.col("judge")
            .replace_strict(start, default=None, return_dtype=pl.Float64)
            .alias("server_start_s"),
            pl.col("judge").replace_strict(build, default=None, return_dtype=pl.Float64).alias("env_build_s"),
        )
        performance = performance.select([c for c in JUDGE_PERFORMANCE_COLUMNS if c in performance.columns])
    return JudgeTables(
        stack("judging"),
        stack("agreement"),
        stack("disagreements"),
        performance,
        pl.concat(missing, how="diagonal_relaxed") if missing else pl.DataFrame(),
    )


def write_judge_tables(run: RunFolder, tables: JudgeTables) -> None:
    """judging, agreement and judge_performance (.parquet and .csv) in the run folder."""
    run.write_table(tables.judging, JUDGING, csv=True)
    run.write_table(tables.agreement, AGREEMENT, csv=True)
    run.write_table(tables.performance, JUDGE_PERFORMANCE, csv=True)


MISSING_LISTED = 50
"""Rows of samples without a verdict listed in leaderboard.md and report.html; the rest are counted."""


def _missing_items(run: RunFolder, missing: pl.DataFrame) -> list[dict]:
    """The samples without a verdict, one entry per sample and kind with each judge's answer, and the
    candidate's answer and references (data.attach_predictions)."""
    if not missing.height:
        return []
    by_sample: dict[tuple, dict] = {}
    for r in missing.iter_rows(named=True):
        key = (r["model"], r["dataset"], r.get("perturbation") or "", r["sample_id"], r["kind"])
        item = by_sample.setdefault(
            key,
            {
                "model": key[0],
                "dataset": key[1],
                "perturbation": key[2],
                "sample_id": key[3],
                "kind": key[4],
                "judges": [],
            },
        )
        item["judges"].append(
            {
                "judge": r["judge"],
                "verdict": r["verdict"],
                "reason": r["reason"],
                "detail": r["detail"],
                "raw": r["raw"],
            }
        )
    items = list(by_sample.values())[:MISSING_LISTED]
    data.attach_predictions(run, items)
    return items


def _cell(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def judges_markdown(tables: JudgeTables) -> str:
    """leaderboard.md's section on the judges."""
    lines = ["", "## Judges", "", "How many samples each judged metric's judges saw:", ""]
    cols = ["model", "dataset", "metric", "judges", "samples", "rule_passed", "answer_failed", "judged"]
    cols += ["judged_correct", "judged_incorrect", "no_verdict", "value"]
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in tables.judging.iter_rows(named=True):
        label = r["dataset"] + (f" ~{r['perturbation']}" if r.get("perturbation") else "")
        r = {**r, "dataset": label}
        lines.append("| " + " | ".join(_cell(r.get(c)) for c in cols) + " |")
    if tables.agreement.height:
        lines += ["", "Agreement (share of the samples both rated, Cohen's kappa):", ""]
        cols = ["model", "dataset", "judge", "versus", "n", "agree", "kappa"]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in tables.agreement.iter_rows(named=True):
            lines.append("| " + " | ".join(_cell(r.get(c)) for c in cols) + " |")
    if tables.missing.height:
        n = tables.missing.select("model", "dataset", "perturbation", "sample_id", "kind").unique().height
        lines += [
            "",
            f"Samples without a verdict ({n}; left out of their judged metric), and what each judge said:",
            "",
        ]
        cols = ["model", "dataset", "sample_id", "judge", "reason", "raw"]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in tables.missing.head(MISSING_LISTED).iter_rows(named=True):
            r = {**r, "raw": _cell(r.get("raw"))[:200] if r.get("raw") is not None else "–"}
            lines.append("| " + " | ".join(_cell(r.get(c)) for c in cols) + " |")
        if tables.missing.height > MISSING_LISTED:
            lines.append(f"\n… and {tables.missing.height - MISSING_LISTED} more rows: see report.html")
    if tables.performance.height:
        lines += ["", "The judges' cost and speed (apart from the models'):", ""]
        cols = ["judge", "model", "dataset", "requests", "request_errors", "unparseable", "reasked"]
        cols += ["latency_p50_s", "requests_per_s", "prompt_tokens", "output_tokens", "server_start_s"]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in tables.performance.iter_rows(named=True):
            lines.append("| " + " | ".join(_cell(r.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def judge_section(run: RunFolder, manifest: Manifest, tables: JudgeTables) -> dict:
    """What report.html's Judges section shows; the disagreeing samples with their answers (their images are
    attached with the worst samples', data.attach_thumbnails)."""
    items = [
        {
            "model": r["model"],
            "dataset": r["dataset"],
            "perturbation": r.get("perturbation") or "",
            "sample_id": r["sample_id"],
            "judge": r["judge"],
            "metric": r["metric"],
            "rule_value": r["rule_value"],
            "rule_passed": r["rule_passed"],
            "verdict": r["verdict"],
            "gap": r["gap"],
        }
        for r in tables.disagreements.iter_rows(named=True)
    ]
    data.attach_predictions(run, items)
    missing = _missing_items(run, tables.missing)
    return {
        "missing": missing,
        "judging": tables.judging.to_dicts(),
        "agreement": tables.agreement.to_dicts(),
        "disagreements": items,
        "performance": tables.performance.to_dicts(),
        "records": {name: j.model_dump() for name, j in manifest.judges.items()},
    }

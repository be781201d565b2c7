"""The judges in a run's report: how many samples each judged metric's judges saw, their agreement with the
rules and with each other, the samples where judge and rule disagree most (with their images), and the
judges' cost and speed, apart from the candidates'. Read from the judged pairs' files (pairs/MODEL/STEM.*);
nothing here for a run without judges."""

from __future__ import annotations

from dataclasses import dataclass

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


def judge_tables(run: RunFolder, manifest: Manifest) -> JudgeTables | None:
    """The run's judge tables, from its completed judged pairs; None when no pair was judged."""
    keys = [p.key for p in manifest.pairs if p.status == PAIR_COMPLETED]
    found = run.judging_results(keys)
    if not found.get("judging"):
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
    return JudgeTables(stack("judging"), stack("agreement"), stack("disagreements"), performance)


def write_judge_tables(run: RunFolder, tables: JudgeTables) -> None:
    """judging, agreement and judge_performance (.parquet and .csv) in the run folder."""
    run.write_table(tables.judging, JUDGING, csv=True)
    run.write_table(tables.agreement, AGREEMENT, csv=True)
    run.write_table(tables.performance, JUDGE_PERFORMANCE, csv=True)


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
    return {
        "judging": tables.judging.to_dicts(),
        "agreement": tables.agreement.to_dicts(),
        "disagreements": items,
        "performance": tables.performance.to_dicts(),
        "records": {name: j.model_dump() for name, j in manifest.judges.items()},
    }

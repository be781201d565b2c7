"""Samples the judges gave no verdict on: what each judge answered instead, and when a judged pair fails.

`missing_verdicts`: one row per judge of each judged sample whose verdict (of the kind its metrics need:
grade or extract) is missing: the judge's own verdict when it gave one (a tie between judges), else why
not (`unparseable` twice, `request failed`, `not asked`: a rescore whose journal lacks the question) and
the judge's raw answer. The report shows them in its Judges section.

`judge_failure`: a judged metric scored on fewer than half of the samples sent to the judges is no figure
to report: when the judges gave no verdict on more than half of a judged metric's samples they were asked
about, the pair fails with a reason that names each judge and its counts ("judge j1: 8 of 8 answers
unparseable").
"""

from __future__ import annotations

import polars as pl

import metrics
from vlmhyperbench.config import Pair
from vlmhyperbench.judges.selection import PairJudging
from vlmhyperbench.judges.verdict_journal import KeyState

UNPARSEABLE, REQUEST_FAILED, NOT_ASKED, TIED = "unparseable", "request failed", "not asked", "tie"
MISSING_SCHEMA = {
    "model": pl.String,
    "dataset": pl.String,
    "perturbation": pl.String,
    "sample_id": pl.String,
    "kind": pl.String,
    "judge": pl.String,
    "verdict": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "raw": pl.String,
}


def missing_verdicts(
    pair: Pair,
    judging: PairJudging,
    verdicts: pl.DataFrame,
    states: dict[str, dict[str, KeyState]],
    lines: dict[str, pl.DataFrame],
) -> pl.DataFrame:
    """The judged samples without a verdict, one row per judge (see the module docstring). VERDICTS:
    verdict_columns; STATES and LINES: each judge's journal states and lines."""
    keys = dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple()))
    raw = {judge: _last_answers(lines[judge]) for judge in pair.judges}
    rows = []
    for kind, column in (("grade", metrics.JUDGE_GRADE), ("extract", metrics.JUDGE_EXTRACTION)):
        for sid in verdicts.filter(pl.col(column).is_null())["sample_id"].to_list():
            ask = judging.ask_of(sid, kind)
            if ask is None:  # never sent for this kind (passed by the rule, or not a judged metric of it)
                continue
            for judge in pair.judges:
                state = states[judge].get(ask.key)
                reason, detail = _why(state)
                answer, error = raw[judge].get(ask.key, (None, None))
                rows.append(
                    {
                        **keys,
                        "sample_id": sid,
                        "kind": kind,
                        "judge": judge,
                        "verdict": state.verdict if state is not None else None,
                        "reason": reason,
                        "detail": detail or error,
                        "raw": answer,
                    }
                )
    return pl.DataFrame(rows, schema=MISSING_SCHEMA)


def _why(state: KeyState | None) -> tuple[str, str | None]:
    if state is None:
        return NOT_ASKED, "the journal has no answer to this question"
    if state.verdict is not None:
        return TIED, "the judges' verdicts tie"
    if (state.last_error or "").startswith("request failed"):
        return REQUEST_FAILED, state.last_error
    return UNPARSEABLE, (state.last_error or "").removeprefix("unparseable: ") or None


def _last_answers(lines: pl.DataFrame) -> dict[str, tuple[str | None, str | None]]:
    """Each question's last answer in the journal: (raw text, request error)."""
    if not lines.height:
        return {}
    last = lines.select("key", "raw", "error").group_by("key", maintain_order=True).last()
    return {k: (r, e) for k, r, e in last.iter_rows()}


def judge_failure(pair: Pair, counts: pl.DataFrame, missing: pl.DataFrame) -> str | None:
    """Why PAIR fails when the judges were asked about more than half of a judged metric's judged samples
    and gave no verdict on them (COUNTS: judging_counts; MISSING: missing_verdicts); None when every judged
    metric has verdicts for at least half of its samples. A question the journal has no answer to (a rescore
    after a prompt change) is no judge's failure: rescore reports it, and `--ask-judges missing` asks it."""
    thin = []
    for r in counts.iter_rows(named=True):
        kind = "extract" if r["metric"].startswith("judge_extract:") else "grade"
        failed = (r["no_verdict"] or 0) - _never_asked(missing, kind)
        if r["judged"] and 2 * failed > r["judged"]:
            thin.append((failed, r, kind))
    if not thin:
        return None
    failed, worst, kind = max(thin, key=lambda t: t[0] / t[1]["judged"])
    parts = []
    for judge in pair.judges:
        mine = missing.filter((pl.col("judge") == judge) & (pl.col("kind") == kind))
        why = [
            f"{n} of {worst['judged']} {label}"
            for reason, label in ((UNPARSEABLE, "answers unparseable"), (REQUEST_FAILED, "requests failed"))
            if (n := mine.filter(pl.col("reason") == reason).height)
        ]
        if why:
            parts.append(f"judge {judge}: {', '.join(why)}")
    if not parts:  # every judge answered, and they tie
        parts.append(f"judges {', '.join(pair.judges)}: their verdicts tie")
    return (
        f"JudgeError: {'; '.join(parts)}; no verdict for {failed} of {worst['judged']} judged samples of "
        f"{worst['metric']} (more than half): the judges' answers are in the report's Judges section"
    )


def _never_asked(missing: pl.DataFrame, kind: str) -> int:
    """The samples of KIND without a verdict that no judge was asked about (its journal lacks them all)."""
    rows = missing.filter(pl.col("kind") == kind)
    if not rows.height:
        return 0
    asked = rows.group_by("sample_id").agg((pl.col("reason") != NOT_ASKED).any().alias("asked"))
    return asked.filter(~pl.col("asked")).height

"""When a judged pair fails for want of verdicts: more than half of a judged metric's samples that the judges
were asked about, without a verdict. Exactly half stands; a question the journal never had (a rescore after
a prompt change) is reported by rescore, not held against the judge."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl

from vlmhyperbench.judges import MISSING_SCHEMA, judge_failure

PAIR = SimpleNamespace(judges=("j1", "j2"))


def counts(judged: int, no_verdict: int, metric: str = "judge_correct") -> pl.DataFrame:
    return pl.DataFrame([{"metric": metric, "judged": judged, "no_verdict": no_verdict}])


def missing(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    """(sample_id, judge, reason) rows of grade questions."""
    return pl.DataFrame(
        [
            {"model": "m", "dataset": "d", "perturbation": "", "sample_id": s, "kind": "grade", "judge": j,
             "verdict": None, "reason": r, "detail": None, "raw": "?"}
            for s, j, r in rows
        ],
        schema=MISSING_SCHEMA,
    )  # fmt: skip


def test_more_than_half_without_a_verdict_fails_and_names_each_judge():
    rows = [(s, "j1", "unparseable") for s in "abc"] + [("a", "j2", "request failed")]
    rows += [(s, "j2", "unparseable") for s in "bc"]
    reason = judge_failure(PAIR, counts(4, 3), missing(rows))
    assert reason == (
        "JudgeError: judge j1: 3 of 4 answers unparseable; judge j2: 2 of 4 answers unparseable, 1 of 4 "
        "requests failed; no verdict for 3 of 4 judged samples of judge_correct (more than half): the "
        "judges' answers are in the report's Judges section"
    )


def test_exactly_half_stands():
    assert (
        judge_failure(
            PAIR, counts(4, 2), missing([(s, j, "unparseable") for s in "ab" for j in ("j1", "j2")])
        )
        is None
    )


def test_questions_never_asked_are_not_the_judges_failure():
    rows = [(s, j, "not asked") for s in "abcd" for j in ("j1", "j2")]
    assert judge_failure(PAIR, counts(4, 4), missing(rows)) is None

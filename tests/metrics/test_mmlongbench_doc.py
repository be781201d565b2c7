"""MMLongBench-Doc's scoring against its official code (mayubo2333/MMLongBench-Doc eval/eval_score.py, commit
d73f0dc, Apache-2.0). lmms-eval's mmlongbench_doc task re-implements the rules rather than carrying
eval_score.py (other cleaning, no "Failed to extract", an unanswerable question scored by its own rule), so
the reference here is figures recorded by running the official code on these inputs: eval_score with
run_lvlm.py's `except` (0 and the prediction "Failed to extract"), and eval_acc_and_f1 over each of
show_results' groups. The inputs and the recorded figures are in tests/data/official/
mmlongbench_doc_eval_score.json (the named cases below, 400 random answers of every format, the breakdowns
of SAMPLES); the official code itself is not in this repository. Fast: no environment."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import metrics
from metrics._mmlongbench import FAILED_TO_EXTRACT, eval_score, score_question, subsets

RECORDED = json.loads(
    (Path(__file__).parents[1] / "data" / "official" / "mmlongbench_doc_eval_score.json").read_text("utf-8")
)


def official_score(gt: str, pred: str, fmt: str) -> tuple[float, str]:
    """The official (score, prediction) recorded for a named case: eval_score, and on any error 0 with the
    prediction "Failed to extract" (run_lvlm.py)."""
    for r_gt, r_pred, r_fmt, score, counted in RECORDED["named_cases"]:
        if (r_gt, r_pred, r_fmt) == (gt, pred, fmt):
            return score, counted
    raise KeyError(f"no recorded official figure for {(gt, pred, fmt)}: record it from the official code")


CASES = [
    # (gold, extracted answer, answer format, expected score, why)
    ("5", "5", "Int", 1.0, "equal integers"),
    ("5", "5.9", "Int", 1.0, "a float answer truncates: int(float('5.9')) = 5"),
    ("5", "6", "Int", 0.0, "different integers"),
    ("10", "1e1", "Int", 1.0, "float('1e1') = 10.0"),
    ("1,000", "1000", "Int", 0.0, "int('1,000') fails: gt stays, pred becomes '': 0"),
    ("5", "five", "Int", 0.0, "no number"),
    ("42.5", "42.9", "Float", 1.0, "within 1 % (math.isclose rel_tol 0.01)"),
    ("42.5", "43.5", "Float", 0.0, "2.4 % off"),
    ("0.45", "45", "Float", 1.0, "the gold answer x100"),
    ("45%", "0.45", "Float", 1.0, "'45%' cleans to 45; 45 / 100 = 0.45"),
    ("0", "0.001", "Float", 1.0, "precision max(min(3, 1), 2) = 2: both round to 0.0"),
    (
        "1.5 million",
        "1.5",
        "Float",
        0.0,
        "rstrip('million') is a no-op: the gold answer is no float, scoring raises",
    ),
    ("$1,234", "1234", "Float", 0.0, "'1,234' is no float: scoring raises, 'Failed to extract'"),
    ("Paris", "paris", "Str", 1.0, "lower-cased"),
    ("Paris", "Pari", "Str", 0.8, "ANLS 1 - 1/5"),
    ("abcd", "ab", "Str", 0.0, "ANLS exactly 0.5 scores 0 (anls <= threshold)"),
    ("straße", "strasse", "Str", 1 - 2 / 7, "len(s.upper()): 'ß' counts 2"),
    ("https://a.example/c", "https://a.example/c/", "Str", 0.0, "a URL: exact match only"),
    ("2023-05-01", "2023-05-01", "Str", 1.0, "a date: exact"),
    ("2023-05", "2023-5", "Str", 0.0, "YYYY-MM: exact"),
    ("info@acme.example", "info@acme.exampl", "Str", 0.0, "an e-mail: exact"),
    ("12 34", "12 35", "Str", 0.0, "a phone or digit string: exact"),
    ("page 5", "page 6", "Str", 0.0, "starts with 'page': exact"),
    ("10 a.m.", "10 am", "Str", 0.0, "a time: exact"),
    ("run.py", "run.p", "Str", 0.0, "a code file: exact"),
    ('"Acme" (Inc)', "acme", "Str", 1.0, "quotes and parentheses removed"),
    ("5 miles", "5", "Str", 0.0, "rstrip('miles') is a no-op: '5 miles' against '5' by ANLS"),
    ("Not answerable", "Not answerable", "None", 1.0, "format None is scored as Str"),
    ("Not answerable", "Fail to answer", "None", 0.0, "ANLS of two different texts"),
    ("['Paris', 'Berlin']", "['berlin', 'paris']", "List", 1.0, "sorted, then the smallest element ANLS"),
    ("['Paris', 'Berlin']", "['Berlin', 'Pari']", "List", 0.8, "the smallest element-wise ANLS"),
    ("['1', '2']", "['2', '1']", "List", 1.0, "numbers: the sorted lists joined and compared"),
    ("['1', '2']", "['2', '1.0']", "List", 0.0, "numbers compare as text: '1' != '1.0'"),
    ("['a', 'b']", "['a']", "List", 0.0, "lengths differ"),
    ("['Paris', 'Berlin']", "Paris, Berlin", "List", 0.0, "not a list literal: one element, lengths differ"),
    ("['a', 'b']", "['a', 'b'", "List", 0.0, "a list that does not parse: scoring raises"),
    ("['x']", "[x]", "List", 0.0, "a name: eval raises NameError, literal_eval ValueError"),
    ("[]", "[]", "List", 0.0, "two empty lists: gt[0] raises"),
]


EXTRA = [("['2']", "[1+1]", "List", 0.0, "an expression: eval() computes it, literal_eval refuses it")]


@pytest.mark.parametrize(("gt", "pred", "fmt", "expected", "why"), CASES, ids=[c[4] for c in CASES])
def test_each_rule_scores_as_the_official_code(gt, pred, fmt, expected, why):
    ours = score_question(gt, pred, fmt)
    assert ours == tuple(official_score(gt, pred, fmt)), why
    assert ours[0] == pytest.approx(expected, abs=1e-12), why


def test_where_the_official_code_raises_the_prediction_is_failed_to_extract():
    assert score_question("1.5 million", "1.5", "Float") == (0.0, FAILED_TO_EXTRACT)
    assert official_score("1.5 million", "1.5", "Float") == (0.0, FAILED_TO_EXTRACT)
    with pytest.raises(ValueError):
        eval_score("1.5 million", "1.5", "Float")  # as the official eval_score raises


def test_an_expression_in_a_list_is_the_one_documented_difference():
    # eval() computes "[1+1]" (the official code evaluates the judge's text); literal_eval refuses it.
    assert official_score("['2']", "[1+1]", "List") == (1.0, "[1+1]")
    assert score_question("['2']", "[1+1]", "List") == (0.0, FAILED_TO_EXTRACT)


def test_random_answers_score_as_the_official_code():
    """400 random answers of every format (texts with quotes, parentheses, currency and percent signs, list
    literals, integers, floats), scored by the official code when recorded."""
    cases = RECORDED["random_cases"]
    assert len(cases) == 400 and {c[2] for c in cases} == {"Int", "Float", "Str", "None", "List"}
    for gt, pred, fmt, score, counted in cases:
        assert score_question(gt, pred, fmt) == (score, counted), (gt, pred, fmt)


SAMPLES = [
    # (answer, format, evidence pages, evidence sources, doc type, extraction)
    ("120", "Int", "[2]", "['Pure-text (Plain-text)']", "Report", "120"),
    ("42.5", "Float", "[2]", "['Pure-text (Plain-text)', 'Table']", "Report", "43.5"),
    ("Paris", "Str", "[3, 4]", "['Chart']", "Guide", "Pari"),
    ("Not answerable", "None", "[]", "[]", "Guide", "Not answerable"),
    ("Not answerable", "None", "[5]", "['Table']", "Report", "12"),
    ("['a', 'b']", "List", "[1, 2]", "['Table', 'Table']", "Report", "Not answerable"),
    ("7", "Int", "[9]", "['Figure']", "Guide", "7"),
]


def table_of(samples) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(len(samples))],
            "prediction": ["reply"] * len(samples),
            "references": [[s[0]] for s in samples],
            "annotation": [
                json.dumps(
                    {
                        "answer": a,
                        "answer_format": f,
                        "evidence_pages": p,
                        "evidence_sources": e,
                        "doc_type": d,
                    }
                )
                for a, f, p, e, d, _ in samples
            ],  # fmt: skip
            "error": [None] * len(samples),
            metrics.JUDGE_EXTRACTION: [s[5] for s in samples],
        }
    )


def summary_of(samples) -> dict[tuple[str, str, str], float]:
    table = table_of(samples)
    scores = pl.concat(
        [metrics.score(m, table) for m in ("mmlongbench_doc_acc", "mmlongbench_doc_f1")],
        how="diagonal_relaxed",
    )
    info = pl.DataFrame(
        {
            "sample_id": table["sample_id"],
            "doc_class": [s[4] for s in samples],
            "question_type": [s[1] for s in samples],
        }
    )
    summary = metrics.summarize(scores, info, ["general", "by_doc_class", "by_subset"], n_boot=0)
    return {(r["metric"], r["aggregator"], r["group"]): r["value"] for r in summary.iter_rows(named=True)}


def test_acc_f1_and_every_breakdown_equal_eval_acc_and_f1():
    """eval_acc_and_f1 over all SAMPLES and over each of show_results' groups ('Table' twice in one question
    is in its group twice, as there), recorded from the official code."""
    ours = summary_of(SAMPLES)
    recorded = RECORDED["samples_acc_f1"]
    assert len(recorded) == 10  # overall, 3 page groups, 4 evidence sources, 2 document types
    for group, (acc, f1) in recorded.items():
        if not group:
            key = ("general", "")
        elif group.startswith("Document Type: "):
            key = ("by_doc_class", group.removeprefix("Document Type: "))
        else:
            key = ("by_subset", group)
        assert ours[("mmlongbench_doc_acc", *key)] == pytest.approx(acc, abs=1e-9), group
        assert ours[("mmlongbench_doc_f1", *key)] == pytest.approx(f1, abs=1e-9), group


def test_f1_is_zero_where_the_official_division_fails():
    only_unanswerable = [s for s in SAMPLES if s[0] == "Not answerable"]
    assert RECORDED["only_unanswerable_acc_f1"][1] == 0.0
    assert summary_of(only_unanswerable)[("mmlongbench_doc_f1", "general", "")] == 0.0
    all_na = [(a, f, p, e, d, "Not answerable") for a, f, p, e, d, _ in SAMPLES]
    assert RECORDED["all_not_answerable_acc_f1"][1] == 0.0
    assert summary_of(all_na)[("mmlongbench_doc_f1", "general", "")] == 0.0


def test_a_failed_request_scores_zero_and_a_missing_verdict_is_left_out():
    table = table_of(SAMPLES[:3]).with_columns(
        pl.Series("error", [None, "timeout", None]), pl.Series(metrics.JUDGE_EXTRACTION, ["120", "", None])
    )
    rows = metrics.sample_rows(metrics.score("mmlongbench_doc_acc", table))
    assert dict(zip(rows["sample_id"], rows["value"])) == {"s0": 1.0, "s1": 0.0}


def test_subsets_follow_show_results():
    assert subsets({"answer": "x", "evidence_pages": "[3]", "evidence_sources": "['Chart', 'Chart']"}) == [
        "Single-page",
        "Evidence Sources: Chart",
        "Evidence Sources: Chart",
    ]
    assert subsets({"answer": "Not answerable", "evidence_pages": "[1]", "evidence_sources": "[]"}) == [
        "Single-page",
        "Unanswerable",
    ]
    assert subsets({"answer": "x", "evidence_pages": "[1, 2]", "evidence_sources": "[]"}) == ["Cross-page"]

"""From a pair's answers and three judges' journals to its judged scores, how many samples the judges saw,
their agreement with the rule and each other, and the disagreements: every figure against one computed by
hand from the definitions (vlmhyperbench/judges/verdicts.py, metrics/README.md)."""

from __future__ import annotations

import polars as pl
import pytest

from vlmhyperbench.config import expand_plan, load_catalog
from vlmhyperbench.inference import PREDICTION_SCHEMA, Answer
from vlmhyperbench.judges import (
    VerdictJournal,
    agreement_rows,
    disagreements,
    judge_performance,
    judging_counts,
    majority,
    plan_pair,
    verdict_columns,
)
from vlmhyperbench.scoring import score_pair_file

MODELS = """name;backend;model;base_url;env
cand;openai;c;http://127.0.0.1:9/v1;none
j1;openai;j;http://127.0.0.1:9/v1;none
j2;openai;j;http://127.0.0.1:9/v1;none
j3;openai;j;http://127.0.0.1:9/v1;none
"""
DATASETS = """name;task;path;metrics;judge
qa;vqa;qa;anls anls|judge judge_correct judge_extract:exact_match;j1 j2 j3
"""
PROMPTS = """collection;doc_class;question_type;template
judge;receipt;;"Receipt question {{ question }}; expected {{ references | join(' or ') }}; \
got {{ answer }}. GRADE?"
"""
# sample: (doc_class, raw answer, reference, request error)
ANSWERS = {
    "s1": ("invoice", "Acme", "Acme", None),  # anls 1: the rule passes
    "s2": ("invoice", "March 5, 2024", "05.03.2024", None),  # anls 0
    "s3": ("invoice", "<think>maybe red?</think>blue", "red", None),  # anls 0 ("blue", reasoning removed)
    "s4": ("receipt", "42 units", "42", None),  # anls 0 (NL 6/8); the receipt prompt
    "s5": ("invoice", None, "9", "HTTP 500: boom"),  # the request failed: never sent to a judge
    "s6": ("invoice", "Zeta", "Zeta", None),  # anls 1
}
# judge -> sample -> (grade answers in order, extraction answer); None: never answered
GRADES = {
    "j1": {
        "s1": ["GRADE: C"],
        "s2": ["GRADE: C"],
        "s3": ["GRADE: I"],
        "s4": ["GRADE: C"],
        "s6": ["GRADE: C"],
    },
    "j2": {
        "s1": ["GRADE: C"],
        "s2": ["GRADE: C"],
        "s3": ["GRADE: I"],
        "s4": [None, "GRADE: I"],
        "s6": ["GRADE: C"],
    },
    "j3": {"s1": ["GRADE: I"], "s2": ["GRADE: C"], "s3": ["hmm", "hmm again"], "s6": ["GRADE: C"]},
}
EXTRACTIONS = {
    "j1": {"s1": "ANSWER: Acme", "s2": "ANSWER: March 5, 2024", "s3": "ANSWER: blue", "s4": "ANSWER: 42",
           "s6": "ANSWER: Zeta"},
    "j2": {"s1": "ANSWER: Acme", "s2": "ANSWER: march 5,  2024", "s3": "ANSWER: blue",
           "s4": "ANSWER: 42 units", "s6": "ANSWER: Zeta"},
    "j3": {"s1": "ANSWER: Acme", "s2": "ANSWER: 05.03.2024", "s3": "ANSWER: blue", "s6": "ANSWER: Zeta"},
}  # fmt: skip


def predictions() -> pl.DataFrame:
    rows = []
    for sid, (doc_class, raw, ref, error) in ANSWERS.items():
        rows.append(
            {
                "sample_id": sid,
                "doc_class": doc_class,
                "question_type": "field",
                "prompt": f"Answer: what is {sid}?",
                "prediction": raw,
                "references": [ref],
                "error": error,
                "attempts": 3 if error else 1,
                "question": f"What is {sid}?",
            }
        )
    return pl.DataFrame(rows, schema_overrides=PREDICTION_SCHEMA)


@pytest.fixture
def judged(write_config, tmp_path):
    """(pair, plan, verdict columns, scores, summary, journals' lines) of the scenario above."""
    root = write_config({"models.csv": MODELS, "datasets.csv": DATASETS, "prompts.csv": PROMPTS})
    catalog = load_catalog(root, check_paths=False)
    (pair,) = expand_plan(catalog)
    preds = predictions()
    plan = plan_pair(pair, preds, catalog.prompts)
    states, lines = {}, {}
    for judge in ("j1", "j2", "j3"):
        journal = VerdictJournal(tmp_path / f"{judge}.jsonl")
        with journal:
            for ask in plan.asks:
                answers = (
                    GRADES[judge].get(ask.sample_id, [])
                    if ask.kind == "grade"
                    else [a for a in [EXTRACTIONS[judge].get(ask.sample_id)] if a]
                )
                for attempt, raw in enumerate(answers, 1):
                    write(journal, judge, ask, raw, attempt)
        lines[judge] = journal.load()
        states[judge] = journal.states(lines[judge])
    verdicts = verdict_columns(plan, ["j1", "j2", "j3"], states)
    keys = dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple()))
    scores, summary = score_pair_file(
        preds,
        keys,
        pair.metric_names(),
        ["general"],
        reasoning=pair.reasoning_tags,
        verdicts=verdicts.select("sample_id", "judge_grade", "judge_extraction"),
    )
    return pair, plan, verdicts, scores, summary, lines


def write(journal: VerdictJournal, judge: str, ask, raw: str | None, attempt: int) -> None:
    from vlmhyperbench.judges import Unparseable, read_verdict

    verdict = problem = None
    if raw is not None:
        try:
            verdict = read_verdict(ask.kind, raw)
        except Unparseable as exc:
            problem = str(exc)
    answer = Answer(
        ask.sample_id, raw, None if raw is not None else "HTTP 503: busy", 1, 0.05, 0.1, None, None, 4,
        0.0, 100.0 + attempt, 100.1 + attempt, 100.0, input_tokens=120,
    )  # fmt: skip
    journal.append(
        answer, key=ask.key, kind=ask.kind, attempt=1 if raw is None else attempt, prompt=ask.prompt,
        images=False, judge=judge, verdict=verdict, verdict_error=problem,
    )  # fmt: skip


def test_rules_first_decide_which_samples_the_judges_see(judged):
    pair, plan, *_ = judged
    grade = {a.sample_id for a in plan.asks if a.kind == "grade"}
    extract = {a.sample_id for a in plan.asks if a.kind == "extract"}
    # judge_correct asks every answered sample (anls|judge's misses s2, s3, s4 are among them); s5 failed
    assert grade == extract == {"s1", "s2", "s3", "s4", "s6"}
    receipt = plan.ask_of("s4", "grade").prompt
    assert (
        receipt == "Receipt question What is s4?; expected 42; got 42 units. GRADE?"
    )  # the collection's row
    invoice = plan.ask_of("s3", "grade").prompt
    assert "Submitted answer: blue\n" in invoice and "maybe red" not in invoice  # reasoning removed
    assert "Reference answer(s): red" in invoice and "Question: What is s3?" in invoice


def test_recall_alone_sends_only_the_rules_misses(write_config):
    root = write_config(
        {
            "models.csv": MODELS,
            "datasets.csv": DATASETS.replace(
                "anls anls|judge judge_correct judge_extract:exact_match", "anls|judge:0.5"
            ),
        }
    )  # fmt: skip
    catalog = load_catalog(root, check_paths=False)
    (pair,) = expand_plan(catalog)
    plan = plan_pair(pair, predictions(), catalog.prompts)
    assert {a.sample_id for a in plan.asks} == {"s2", "s3", "s4"} and {a.kind for a in plan.asks} == {"grade"}


def test_majority_of_several_judges():
    assert majority(["C", "C", "I"]) == "C"
    assert majority(["C", "I", None]) is None  # a tie is no verdict
    assert majority([None, None]) is None and majority([]) is None
    assert majority(["I", None, None]) == "I"
    import metrics

    assert majority(["March 5", "march  5", "05.03"], metrics.normalize) == "March 5"


def test_the_verdict_columns(judged):
    _, _, verdicts, *_ = judged
    got = {r["sample_id"]: r for r in verdicts.iter_rows(named=True)}
    # s1 C C I -> C; s2 C C C -> C; s3 I I (j3 unparseable twice) -> I; s4 C, I after a failed request,
    # j3 never answered -> tie; s5 failed -> 0 and ""; s6 C
    assert {s: r["judge_grade"] for s, r in got.items()} == {
        "s1": 1.0, "s2": 1.0, "s3": 0.0, "s4": None, "s5": 0.0, "s6": 1.0,
    }  # fmt: skip
    assert {s: r["judge_extraction"] for s, r in got.items()} == {
        "s1": "Acme", "s2": "March 5, 2024", "s3": "blue", "s4": None, "s5": "", "s6": "Zeta",
    }  # fmt: skip
    assert [got[s]["grade:j3"] for s in ("s1", "s2", "s3", "s4", "s5", "s6")] == [
        0.0,
        1.0,
        None,
        None,
        None,
        1.0,
    ]


def test_the_judged_scores_and_how_many_samples_the_judges_saw(judged):
    pair, plan, verdicts, scores, summary, _ = judged
    value = {r["metric"]: r["value"] for r in summary.iter_rows(named=True)}
    assert value["judge_correct"] == pytest.approx(3 / 5)  # s1 s2 s6 of s1 s2 s3 s5 s6 (s4: no verdict)
    assert value["anls|judge"] == pytest.approx(3 / 5)  # s1 s6 by rule, s2 C, s3 I, s5 failed; s4 out
    assert value["judge_extract:exact_match"] == pytest.approx(2 / 5)  # s1 s6 of s1 s2 s3 s5 s6
    assert value["anls"] == pytest.approx(2 / 6)
    counts = {r["metric"]: r for r in judging_counts(pair, plan, verdicts, scores).iter_rows(named=True)}
    cols = (
        "samples",
        "rule_passed",
        "answer_failed",
        "judged",
        "judged_correct",
        "judged_incorrect",
        "no_verdict",
    )
    assert tuple(counts["judge_correct"][c] for c in cols) == (6, 0, 1, 5, 3, 1, 1)
    assert tuple(counts["anls|judge"][c] for c in cols) == (6, 2, 1, 3, 1, 1, 1)
    assert tuple(counts["judge_extract:exact_match"][c] for c in cols) == (6, 0, 1, 5, None, None, 1)
    for name, row in counts.items():
        assert row["value"] == pytest.approx(value[name]) and row["judges"] == "j1 j2 j3"
    # the documented formula: (rule_passed + judged_correct) / (samples - no_verdict)
    r = counts["anls|judge"]
    assert r["value"] == pytest.approx(
        (r["rule_passed"] + r["judged_correct"]) / (r["samples"] - r["no_verdict"])
    )


def test_agreement_with_the_rule_and_between_judges(judged):
    pair, plan, verdicts, *_ = judged
    rows = {(r["judge"], r["versus"]): r for r in agreement_rows(pair, plan, verdicts).iter_rows(named=True)}
    # rule anls at full marks over the rated samples: s1 pass, s2 s3 s4 fail, s6 pass (s5 never rated)
    cols = ("n", "both_correct", "both_incorrect", "only_judge_correct", "only_versus_correct")
    expected = {
        ("j1", "anls"): ((5, 2, 1, 2, 0), 3 / 5, 2 / 7),  # j1: C C I C C
        ("j2", "anls"): ((5, 2, 2, 1, 0), 4 / 5, 8 / 13),  # j2: C C I I C
        ("j3", "anls"): ((3, 1, 0, 1, 1), 1 / 3, -0.5),  # j3: I C - - C
        ("majority", "anls"): ((4, 2, 1, 1, 0), 3 / 4, 0.5),  # C C I - C
        ("j1", "j2"): ((5, 3, 1, 1, 0), 4 / 5, 6 / 11),
        ("j1", "j3"): ((3, 2, 0, 1, 0), 2 / 3, 0.0),
        ("j2", "j3"): ((3, 2, 0, 1, 0), 2 / 3, 0.0),
    }
    assert set(rows) == set(expected)
    for key, (table, agree, kappa) in expected.items():
        r = rows[key]
        assert tuple(r[c] for c in cols) == table, key
        assert r["agree"] == pytest.approx(agree) and r["kappa"] == pytest.approx(kappa), key
    assert rows[("j1", "anls")]["threshold"] == 1.0 and rows[("j1", "j2")]["versus_kind"] == "judge"


def test_the_samples_where_judge_and_rule_disagree_most(judged):
    pair, plan, verdicts, *_ = judged
    (row,) = disagreements(pair, plan, verdicts).iter_rows(named=True)
    assert (row["judge"], row["metric"], row["sample_id"], row["verdict"]) == ("majority", "anls", "s2", "C")
    assert (row["rule_value"], row["rule_passed"], row["gap"]) == (0.0, False, 1.0)


def test_each_judges_cost_and_speed_from_its_journal(judged):
    pair, *_, lines = judged
    perf = judge_performance("j2", pair, lines["j2"], concurrency=4)
    # j2: 5 grade questions (s4 twice: a failed request, then I) + 5 extractions
    assert (perf["requests"], perf["request_errors"], perf["unparseable"], perf["verdicts"]) == (11, 1, 0, 10)
    assert perf["prompt_tokens"] == 10 * 120 and perf["output_tokens"] == 10 * 4
    assert perf["latency_p50_s"] == pytest.approx(0.1)
    perf = judge_performance("j3", pair, lines["j3"], concurrency=4)
    assert (perf["requests"], perf["unparseable"], perf["reasked"]) == (9, 2, 1)

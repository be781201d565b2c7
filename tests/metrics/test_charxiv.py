"""CharXiv on charts written in the hub's layout and read by our reader: the official categories, how a
judge's JSON answer is read (src/evaluate.py's reading), the batches, and the statistics against figures
recorded by running the official src/get_stats.py (princeton-nlp/CharXiv, commit 7ebe88f, Apache-2.0) on
these charts and grades: lmms-eval does not carry get_stats.py (its aggregate is a plain mean), so the
figures are recorded (tests/data/official/charxiv_get_stats.json); the official code is not in this
repository. The questions and grading prompts are compared with lmms-eval's copy of the official functions
in tests/metrics/test_lmms_eval_parity.py (slow). Fast: no environment."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import metrics
from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.benchmarks._starter import chart_png, write_charxiv
from vlmhyperbench.judges import Unparseable
from vlmhyperbench.judges._charxiv import plan, read, render

PNG = chart_png("t", {"a": [1.0, 2.0]})
CHARTS = [
    # figure id, category, year, subplots (n, row, col, loc), descriptive [(qid, answer)], reasoning
    (0, "cs", 20, (1, 0, 0, None), [(1, "Title A"), (2, "x"), (10, "2"), (19, "1")],
     ("Which line is highest?", "alpha", 1, 1)),
    (2, "physics", 21, (2, 1, 2, None), [(1, "Title B"), (13, "a, b"), (18, "1 by 2"), (11, "Yes")],
     ("What is the gap at t=3?", "0.12", 4, 3)),
    (3, "q-fin", 22, (3, None, None, "the bottom subplot"),
     [(1, "Not Applicable"), (17, "12"), (16, "increases"), (8, "0.5")], ("How many peaks?", "15", 4, 2)),
    (7, "stat", 23, (6, 2, 3, None), [(1, "T"), (3, "y"), (14, "8"), (15, "10")],
     ("Is the trend rising?", "Yes", 2, 2)),
    (9, "econ", 20, (1, 0, 0, None), [(1, "U"), (4, "0"), (12, "3"), (9, "2")],
     ("Which curve crosses 1?", "beta", 3, 3)),
    (11, "math", 21, (1, 0, 0, None), [(1, "V"), (5, "10"), (6, "-1"), (7, "5")],
     ("What is the peak?", "7.250", 4, 1)),
]  # fmt: skip


def hub_rows() -> list[dict]:
    rows = []
    for fid, category, year, (n, row, col, loc), descriptive, reasoning in CHARTS:
        rows.append(
            {
                "figure_id": fid,
                "image": PNG,
                "category": category,
                "year": year,
                "num_subplots": n,
                "subplot_row": row,
                "subplot_col": col,
                "subplot_loc": loc,
                "descriptive": descriptive,
                "reasoning": reasoning,
            }  # fmt: skip
        )
    return rows


def official_data() -> tuple[dict, dict, dict]:
    """The same charts as the official data files hold them (descriptive, reasoning, image metadata)."""
    descriptive, reasoning, meta = {}, {}, {}
    for fid, category, year, (n, row, col, loc), qs, (query, answer, inst, source) in CHARTS:
        key = str(fid)
        descriptive[key] = {"figure_id": fid, "num_subplots": n, "subplot_loc": loc or [row, col],
                            "qids": [q for q, _ in qs], "answers": [a for _, a in qs]}  # fmt: skip
        reasoning[key] = {
            "figure_id": fid,
            "query": query,
            "answer": answer,
            "inst_category": inst,
            "qa_source": source,
        }
        meta[key] = {"category": category, "year": str(year), "figure_path": f"images/{fid}.jpg"}
    return descriptive, reasoning, meta


RECORDED = Path(__file__).parents[1] / "data" / "official" / "charxiv_get_stats.json"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("charxiv")
    write_charxiv(folder, rows=hub_rows())
    return {s.id: s for s in BENCHMARKS.get("charxiv").read(Path(folder), "validation")}


def reply(sid: str) -> str:
    return f"The answer to {sid} is 42."


def test_questions_name_the_subplot_and_the_answers_precision(samples):
    assert samples["3_0"].question.startswith("For the bottom subplot, what is its title?")
    assert samples["0_0"].question.startswith("For the current plot, what is its title?")
    assert samples["7_1"].question.startswith("For the subplot at row 2 and column 3, what is the label")
    assert "with 3 decimal places" in samples["11"].question and "exact integer" in samples["3"].question
    assert samples["2_2"].question.startswith("What is the layout of the subplots?")  # no subplot prefix


def test_samples_carry_the_official_categories(samples):
    assert samples["0"].question_type == "Text-in-Chart" and samples["2"].question_type == "Number-in-General"
    assert samples["2_1"].question_type == "Enumeration" and samples["0_3"].question_type == "Counting"
    assert {s.doc_class for s in samples.values()} == {"descriptive", "reasoning"}
    assert samples["2"].annotation | {"order": 0} == {
        "subject": "Physics", "year": "2021", "subplot": "2-4 Subplots", "figure_id": "2",
        "mode": "reasoning", "inst_category": 4, "query": "What is the gap at t=3?",
        "source": "Completely Human", "order": 0,
    }  # fmt: skip


def rows_of(samples, failed: frozenset[str] = frozenset()) -> list[dict]:
    """The answer table's rows as a plan sees them, in an order other than the data's (as answers arrive)."""
    return [
        {
            "sample_id": sid,
            "prediction": reply(sid),
            "references": list(s.references),
            "annotation": json.dumps(s.annotation),
            "asked": sid not in failed,
        }  # fmt: skip
        for sid, s in sorted(samples.items(), reverse=True)
    ]


def test_descriptive_answers_are_graded_five_per_template_in_the_datas_order(samples):
    batches = [q.members for q in plan(rows_of(samples)) if q.batch]
    title = next(m for m in batches if "0_0" in m)
    assert title == ("0_0", "2_0", "3_0", "7_0", "9_0") and ("11_0",) in batches
    assert "\x07lpha" in next(render(q.context) for q in plan(rows_of(samples)) if "2_1" in q.members)


def test_a_failed_answer_leaves_its_batch_and_the_others_keep_their_places(samples):
    full = {q.members: q for q in plan(rows_of(samples)) if q.batch}
    title_batch = next(m for m in full if "0_0" in m)
    assert len(title_batch) == 5 and title_batch[0] == "0_0"
    cut = {q.members: q for q in plan(rows_of(samples, frozenset({"2_0"}))) if q.batch}
    assert tuple(m for m in title_batch if m != "2_0") in cut
    assert {m for m in cut if "0_0" not in m} == {m for m in full if "0_0" not in m}


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ('{"extracted_answer": "alpha", "score": 1}', "C"),
        ('{"extracted_answer": "beta", "score": 0}', "I"),
        ('{"extracted_answer": "alpha", "score": 1.0}', "C"),
        ('{"extracted_answer": "alpha", "score": true}', "C"),
        ('{"extracted_answer": "alpha", "score": "1"}', "I"),  # not in [0, 1]: get_stats counts it 0
        ('{"extracted_answer": "alpha", "score": 2}', "I"),
        ('{"extract_answer": "alpha", "score": 1}', Unparseable),  # the code reads extracted_answer
        ('```json\n{"extracted_answer": "a", "score": 1}\n```', Unparseable),  # json.loads refuses fences
        ("[1, 2]", Unparseable),
    ],
)
def test_a_reasoning_answer_is_read_as_evaluate_py_reads_it(answer, verdict):
    context = {"mode": "reasoning"}
    if verdict is Unparseable:
        with pytest.raises(Unparseable):
            read(answer, context)
    else:
        assert read(answer, context) == verdict


def test_a_descriptive_answer_needs_every_key_and_a_score_of_0_or_1():
    context = {"mode": "descriptive", "batch": [["r1", "a1"], ["r2", "a2"]]}
    good = {"extract_answer_T1": "x", "score_T1": 1, "extract_answer_T2": "y", "score_T2": 0}
    assert read(json.dumps(good), context) == ["C", "I"]
    for bad in (
        {**good, "score_T2": 2},
        {k: v for k, v in good.items() if k != "extract_answer_T2"},
        "just text",
    ):
        with pytest.raises(Unparseable):
            read(json.dumps(bad), context)


def grades_of(sample_ids) -> dict[str, int]:
    """The judge's grades: a mix of 0 and 1, and one -1 (the official judge gave up: get_stats counts 0)."""
    grades = {sid: i % 3 % 2 for i, sid in enumerate(sorted(sample_ids))}
    grades["9"] = -1
    return grades


def test_the_statistics_equal_get_stats(samples):
    """get_stats(get_reasoning_scores(...)) and get_stats(get_descriptive_scores(...)) on official_data() and
    grades_of(): each group rounded to 2 places as get_stats rounds it; an empty group (0 there) is no row."""
    grades = grades_of(samples)
    expected = json.loads(RECORDED.read_text("utf-8"))["stats"]
    assert expected["reasoning"]["N_invalid"] == 1 and expected["reasoning"]["N_valid"] == len(CHARTS)
    table = pl.DataFrame(
        {
            "sample_id": list(samples),
            "annotation": [json.dumps(s.annotation) for s in samples.values()],
            metrics.JUDGE_GRADE: [float(grades[sid] == 1) for sid in samples],
        }
    )
    info = pl.DataFrame(
        {
            "sample_id": list(samples),
            "doc_class": [s.doc_class for s in samples.values()],
            "question_type": [s.question_type for s in samples.values()],
        }  # fmt: skip
    )
    for mode in ("reasoning", "descriptive"):
        name = f"charxiv_{mode}"
        summary = metrics.summarize(
            metrics.score(name, table), info, ["general", "by_question_type", "by_subset"], n_boot=0
        )
        ours = {
            r["group"] or "Overall Score": round(100 * r["value"], 2) for r in summary.iter_rows(named=True)
        }
        official_groups = {"Overall Score": expected[mode]["Overall Score"]}
        for key, groups in expected[mode].items():
            if isinstance(groups, dict):
                categories = key in ("By Answer Type", "By Category")  # our question_type groups
                official_groups |= {(g if categories else f"{key}: {g}"): v for g, v in groups.items()}
        present = {g: v for g, v in official_groups.items() if g in ours}
        assert ours == present, mode
        assert set(official_groups) - set(present) == {
            g for g, v in official_groups.items() if v == 0 and g not in ours
        }

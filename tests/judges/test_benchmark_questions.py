"""A judge-graded benchmark's pairs ask their judges the benchmark's official questions: MMLongBench-Doc's
extraction (two messages, its own parser) and CharXiv's grading (reasoning one by one, descriptive answers
five per template); a batch's verdict is split among its samples, several judges vote per sample, and the
counts of what the judges saw are per metric."""

from __future__ import annotations

import json

import polars as pl
import pytest

from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.benchmarks._mmlongbench_texts import EXTRACTION_PROMPT
from vlmhyperbench.benchmarks._samples import sample_chart, sample_charxiv, sample_mmlongbench_doc
from vlmhyperbench.benchmarks._starter import write_charxiv
from vlmhyperbench.config import expand_plan, load_catalog
from vlmhyperbench.inference import PREDICTION_SCHEMA, Answer
from vlmhyperbench.judges import (
    Unparseable,
    VerdictJournal,
    judging_counts,
    plan_pair,
    read_verdict,
    verdict_columns,
)
from vlmhyperbench.scoring import score_pair_file

MODELS = """name;backend;model;base_url;env
cand;openai;c;http://127.0.0.1:9/v1;none
j1;openai;gpt-4o-2024-05-13;http://127.0.0.1:9/v1;none
j2;openai;gpt-4o-2024-05-13;http://127.0.0.1:9/v1;none
"""


def predictions(samples, failed: frozenset[str] = frozenset()) -> pl.DataFrame:
    rows = [
        {
            "sample_id": s.id,
            "doc_class": s.doc_class,
            "question_type": s.question_type,
            "prompt": s.question,
            "question": s.question,
            "prediction": None if s.id in failed else f"reply {s.id}",
            "references": list(s.references),
            "error": "HTTP 500" if s.id in failed else None,
            "attempts": 1,
            "annotation": json.dumps(s.annotation),
        }  # fmt: skip
        for s in reversed(samples)  # as answers arrive: not the data's order
    ]
    return pl.DataFrame(rows, schema_overrides=PREDICTION_SCHEMA)


@pytest.fixture
def charxiv(write_config, tmp_path):
    sample_charxiv(tmp_path / "cx", samples=7)
    root = write_config(
        {"models.csv": MODELS, "datasets.csv": "name;benchmark;path;judge\ncx;charxiv;cx;j1 j2\n"}
    )
    (pair,) = expand_plan(load_catalog(root, check_paths=False), models=["cand"])
    return pair, BENCHMARKS.get("charxiv").read(tmp_path / "cx")


def test_charxiv_pairs_ask_the_official_questions(charxiv):
    pair, samples = charxiv
    plan = plan_pair(pair, predictions(samples, frozenset({"1001_0"})), {})
    assert {a.kind for a in plan.asks} == {"charxiv"} and not any(a.images for a in plan.asks)
    batches = [a for a in plan.asks if a.members]
    titles = sorted(len(a.members) for a in batches if a.context["qid"] == 1)
    assert titles == [2, 4]  # 7 titles: 5 + 2, one of the first five failed
    assert "1001_0" not in {m for a in batches for m in a.members}
    first = next(a for a in batches if a.context["qid"] == 1 and len(a.members) == 4)
    assert first.members == ("1000_0", "1002_0", "1003_0", "1004_0")  # the data's order, its place kept
    assert first.prompt.startswith("\nYou will be given 4 pairs of ground truth answers")
    assert "T2:\nResponse 2: reply 1002_0\nGround Truth 2: Synthetic series 2\n" in first.prompt
    assert first.spec.body == {"response_format": {"type": "json_object"}}
    reasoning = plan.ask_of("1000", "grade")
    assert reasoning.members == () and "* Response: reply 1000\n" in reasoning.prompt


def journal(tmp_path, name, plan, answer_of) -> dict:
    j = VerdictJournal(tmp_path / f"{name}.jsonl")
    with j:
        for ask in plan.asks:
            raw = answer_of(ask)
            try:
                verdict, problem = read_verdict(ask.kind, raw, ask.context), None
            except Unparseable as exc:
                verdict, problem = None, str(exc)
            j.append(
                Answer(ask.sample_id, raw, None, 1, 0.1, 0.2), key=ask.key, kind=ask.kind, attempt=1,
                prompt=ask.prompt, images=False, judge=name, verdict=verdict, verdict_error=problem,
            )  # fmt: skip
    return j.states()


def grades(ask, flip: bool = False) -> str:
    if not ask.members:
        return json.dumps({"extracted_answer": "x", "score": int(ask.sample_id) % 2})
    scores = {f"score_T{i + 1}": (i + flip) % 2 for i in range(len(ask.members))}
    return json.dumps(scores | {f"extract_answer_T{i + 1}": "x" for i in range(len(ask.members))})


def test_a_batch_verdict_is_split_among_its_samples_and_judges_vote(charxiv, tmp_path):
    pair, samples = charxiv
    preds = predictions(samples, frozenset({"1001_0"}))
    plan = plan_pair(pair, preds, {})
    states = {
        "j1": journal(tmp_path, "j1", plan, grades),
        "j2": journal(tmp_path, "j2", plan, lambda a: grades(a, flip=a.context.get("qid") == 2)),
    }
    verdicts = verdict_columns(plan, ["j1", "j2"], states)
    grade = dict(zip(verdicts["sample_id"], verdicts["judge_grade"]))
    batch = next(a for a in plan.asks if a.members and a.context["qid"] == 1 and len(a.members) == 4)
    assert [grade[m] for m in batch.members] == [0.0, 1.0, 0.0, 1.0]  # T1..T4, as both judges say
    assert grade["1001_0"] == 0.0  # the failed request: 0, never asked
    assert grade["1000_1"] is None  # template 2: the judges disagree, a tie is no verdict
    assert grade["1000"] == 0.0 and grade["1001"] == 1.0
    keys = dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple()))
    scores, summary = score_pair_file(
        preds,
        keys,
        pair.metric_names(),
        ["general"],
        verdicts=verdicts.select("sample_id", "judge_grade", "judge_extraction"),
    )
    counts = {r["metric"]: r for r in judging_counts(pair, plan, verdicts, scores).iter_rows(named=True)}
    assert counts["charxiv_reasoning"]["samples"] == 7 and counts["charxiv_reasoning"]["judged"] == 7
    descriptive = counts["charxiv_descriptive"]
    assert (descriptive["samples"], descriptive["answer_failed"], descriptive["no_verdict"]) == (28, 1, 7)
    value = dict(zip(summary["metric"], summary["value"]))
    assert value["charxiv_reasoning"] == pytest.approx(3 / 7)


def test_a_test_split_asks_nothing(charxiv, tmp_path):
    pair, _ = charxiv
    write_charxiv(tmp_path / "test", [sample_chart(i) for i in range(2)], split="test")
    samples = BENCHMARKS.get("charxiv").read(tmp_path / "test", "test")
    assert all(not s.references for s in samples)
    assert plan_pair(pair, predictions(samples), {}).asks == []


@pytest.fixture
def mmlongbench(write_config, tmp_path):
    sample_mmlongbench_doc(tmp_path / "mm", samples=4)
    root = write_config(
        {"models.csv": MODELS, "datasets.csv": "name;benchmark;path;judge\nmm;mmlongbench_doc;mm;j1\n"}
    )
    (pair,) = expand_plan(load_catalog(root, check_paths=False), models=["cand"])
    return pair, BENCHMARKS.get("mmlongbench_doc").read(tmp_path / "mm")


def test_mmlongbench_doc_asks_with_the_prompt_file_and_an_assistant_message(mmlongbench):
    pair, samples = mmlongbench
    plan = plan_pair(pair, predictions(samples), {})
    ask = plan.ask_of("train-00001", "extract")
    assert ask.kind == "mmlongbench_doc" and ask.prompt == EXTRACTION_PROMPT
    question = samples[1].question
    assert ask.followups == (("assistant", f"\n\nQuestion:{question}\nAnalysis:reply train-00001\n"),)
    assert ask.transcript(ask.prompt).endswith(
        f"[assistant]\n\n\nQuestion:{question}\nAnalysis:reply train-00001\n"
    )


@pytest.mark.parametrize(
    ("answer", "extracted"),
    [
        ("Extracted answer: 120\nAnswer format: Integer", "120"),
        ("```\nExtracted answer: ['a', 'b']\nAnswer format: List\n```", "['a', 'b']"),
        ("Extracted answer: 5", "5"),  # no "Answer format:": the rest of the text
        ("Extracted answer: 1 Extracted answer: 2\nAnswer format: Integer", "1"),  # split(...)[1]
        ("Answer format: Integer\nExtracted answer: 5", Unparseable),  # nothing before "Answer format:"
        ("The answer is 5.", Unparseable),
    ],
)
def test_the_extraction_is_read_as_the_official_split_reads_it(answer, extracted):
    if extracted is Unparseable:
        with pytest.raises(Unparseable):
            read_verdict("mmlongbench_doc", answer, {})
    else:
        assert read_verdict("mmlongbench_doc", answer, {}) == extracted

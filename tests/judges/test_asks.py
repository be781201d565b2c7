"""What a judge is asked and how strictly its answer is read; the verdict journal read back per question."""

from __future__ import annotations

import pytest

from vlmhyperbench.inference import Answer
from vlmhyperbench.judges import (
    EXTRACT_TEMPLATE,
    GRADE_TEMPLATE,
    JUDGE_ASKS,
    Unparseable,
    VerdictJournal,
    ask_key,
    parse_extraction,
    parse_grade,
    read_verdict,
)


@pytest.mark.parametrize(
    ("raw", "verdict"),
    [
        ("GRADE: C", "C"),
        ("The dates match.\nGRADE: C", "C"),
        ("GRADE: **I**", "I"),
        ("GRADE:I", "I"),
        ("First thought GRADE: I, but on reflection\nGRADE: C", "C"),  # the last one is the verdict
        ("<think>GRADE: I</think>\nGRADE: C", "C"),  # the judge's own reasoning never counts
    ],
)
def test_a_grade_is_read_strictly(raw, verdict):
    assert read_verdict("grade", raw) == verdict


@pytest.mark.parametrize(
    "raw",
    ["Correct", "GRADE: B", "grade: c", "GRADE: Correct", "", "<think>GRADE: C</think>", "GRADE C"],
)
def test_anything_else_is_unparseable(raw):
    with pytest.raises(Unparseable):
        read_verdict("grade", raw)
    with pytest.raises(Unparseable):
        read_verdict("grade", None)


@pytest.mark.parametrize(
    ("raw", "extracted"),
    [
        ("The reply says the total is 42.\nANSWER: 42", "42"),
        ("ANSWER: March 5, 2024  ", "March 5, 2024"),
        ("**ANSWER:** Acme Inc.", "Acme Inc."),
        ("ANSWER:", ""),  # the reply gives no answer: an empty extraction, not an error
        ("ANSWER: first\nANSWER: second", "second"),
    ],
)
def test_an_extraction_is_the_last_answer_line(raw, extracted):
    assert parse_extraction(raw) == extracted


def test_an_answer_without_an_answer_line_is_unparseable():
    with pytest.raises(Unparseable):
        parse_extraction("It is 42.")
    with pytest.raises(Unparseable):
        parse_grade("It is correct.")


def test_the_asks_and_their_prompts_collections():
    assert (
        JUDGE_ASKS.get("grade").collection == "judge" and JUDGE_ASKS.get("grade").template == GRADE_TEMPLATE
    )
    assert JUDGE_ASKS.get("extract").collection == "judge_extract"
    assert "GRADE: C" in GRADE_TEMPLATE and "ANSWER:" in EXTRACT_TEMPLATE
    context = {"answer": "42", "references": ["42"], "question": "total?"}
    key = ask_key("grade", "T {{ answer }}", context, False)
    assert key == ask_key("grade", "T {{ answer }}", dict(reversed(context.items())), False)  # order-free
    assert key != ask_key("grade", "T {{ answer }}", context, True)  # with the images: another question
    assert key != ask_key("extract", "T {{ answer }}", context, False)
    assert key != ask_key("grade", "U {{ answer }}", context, False)  # another template
    assert key != ask_key("grade", "T {{ answer }}", {**context, "answer": "41"}, False)


def answered(sid: str, raw: str | None, error: str | None = None) -> Answer:
    return Answer(sid, raw, error, 1, 0.1, 0.2, None, None, 3, 0.0, 1.0, 1.2, 1.0, input_tokens=50)


def test_the_journal_keeps_every_answer_and_reads_each_question_back(tmp_path):
    journal = VerdictJournal(tmp_path / "v" / "j.journal.jsonl")
    steps = [  # (key, attempt, raw, request error)
        ("once", 1, "hmm", None),  # unparseable once: asked again as attempt 2
        ("twice", 1, "hmm", None),
        ("twice", 2, "still hmm", None),  # unparseable twice: final, a judge error
        ("ok", 1, "GRADE: C", None),
        ("failed", 1, None, "HTTP 503: busy"),  # a failed request teaches nothing
        ("kept", 1, "GRADE: I", None),
        ("kept", 1, None, "timeout"),  # a failed re-ask keeps the verdict
        ("redone", 1, "GRADE: C", None),
        ("redone", 1, "hmm", None),  # asked afresh (--ask-judges all): the new answer counts
    ]
    with journal:
        for key, attempt, raw, error in steps:
            verdict = problem = None
            if error is None:
                try:
                    verdict = read_verdict("grade", raw)
                except Unparseable as exc:
                    problem = str(exc)
            journal.append(
                answered(key, raw, error),
                key=key,
                kind="grade",
                attempt=attempt,
                prompt=f"prompt of {key}",
                images=False,
                judge="j",
                verdict=verdict,
                verdict_error=problem,
            )
    lines = journal.load()
    assert lines.height == len(steps)
    row = lines.row(3, named=True)
    assert (row["raw"], row["verdict"], row["prompt"], row["judge"]) == ("GRADE: C", "C", "prompt of ok", "j")
    assert lines["prompt_tokens"].to_list() == [50] * len(steps) and lines["latency_s"][0] == 0.2
    states = journal.states(lines)
    assert (states["once"].final, states["once"].next_attempt) == (False, 2)
    assert (states["twice"].final, states["twice"].verdict, states["twice"].unparseable) == (True, None, 2)
    assert states["ok"].verdict == "C" and states["ok"].final
    assert (states["failed"].final, states["failed"].next_attempt) == (False, 1)
    assert "503" in states["failed"].last_error
    assert states["kept"].verdict == "I"
    assert (states["redone"].verdict, states["redone"].final) == (None, False)


def test_a_line_cut_by_a_kill_never_happened(tmp_path):
    path = tmp_path / "j.journal.jsonl"
    journal = VerdictJournal(path)
    with journal:
        journal.append(
            answered("s", "GRADE: C"), key="k", kind="grade", attempt=1, prompt="p", images=False,
            judge="j", verdict="C", verdict_error=None,
        )  # fmt: skip
    with open(path, "ab") as f:
        f.write(b'{"key": "k2", "sample_id": "s2", "verd')
    assert journal.load().height == 1 and set(journal.states()) == {"k"}

"""CharXiv's grading, asked as the official code asks it (princeton-nlp/CharXiv src/evaluate.py,
reasoning_utils.py and descriptive_utils.py, Apache-2.0; the prompts, word for word, are the tables of
vlmhyperbench.benchmarks._charxiv_texts, which names their source).

Reasoning: one question per answer. The prompt is REASONING_GRADING_PREFIX + REASONING_GRADING_INST[answer
type] with `<|question|>` (the question without its instruction), `<|ground_truth|>` and `<|response|>`
replaced in that order. The answer must be a JSON object with `extracted_answer` and `score` (the prompt
says `extract_answer`; the code reads `extracted_answer`, as its examples write it).

Descriptive: the answers are grouped by question template (1..19) in the order of the data (figure by figure,
question by question), five per request: DESCRIPTIVE_GRADING_PREFIX with the number of answers, the
template's overarching question and the JSON keys, then the template's rubric with its worked example, then
`T1: Response 1: ... Ground Truth 1: ...` for each. The answer must be a JSON object with
`extract_answer_T<i>` and `score_T<i>` for every answer, each score 0 or 1; its grades are the batch's
verdicts. An answer whose request failed is left out of its batch (the batches around it keep their places).

Each request carries `response_format: {"type": "json_object"}`; the official client also sends model
gpt-4o-2024-05-13, temperature 0, top_p 1, seed 42, max_tokens 256 (the judge row's settings here). A score
outside {0, 1} in a reasoning answer counts 0, as get_stats.py counts it. What the official code retries up
to ten times (an answer that is not JSON or lacks a key; doubling max_tokens when the JSON is cut) is asked
once more here, then left out as no verdict (the official code would count 0).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from vlmhyperbench.benchmarks import _charxiv_texts as official
from vlmhyperbench.judges.asks import JudgeAsk, Question, Unparseable

REASONING_PREFIX = official.REASONING_GRADING_PREFIX
REASONING_INST = official.REASONING_GRADING_INST
DESCRIPTIVE_PREFIX = official.DESCRIPTIVE_GRADING_PREFIX
DESCRIPTIVE_QMAP = official.DESCRIPTIVE_GRADING_QMAP
DESCRIPTIVE_ICL = official.DESCRIPTIVE_GRADING_ICL
PER_QUERY = 5
"""Descriptive answers graded per request (build_descriptive_grading_queries' nq_per_query)."""
IDENTITY = (
    "charxiv grading "
    + hashlib.sha256(
        json.dumps(
            [
                REASONING_PREFIX,
                REASONING_INST,
                DESCRIPTIVE_PREFIX,
                DESCRIPTIVE_QMAP,
                DESCRIPTIVE_ICL,
                PER_QUERY,
            ],
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]
)


def rubric(qid: int) -> str:
    """get_rubric: the template's rubric and worked example."""
    for names, key in (
        ((1,), "title"),
        ((2, 3, 4, 5, 6, 7), "ocr"),
        ((8, 9, 10, 12, 14, 15, 17, 19), "quant"),
        ((11,), "bool"),
        ((13,), "enum"),
        ((16,), "trend"),
        ((18,), "layout"),
    ):
        if qid in names:
            return DESCRIPTIVE_ICL[key]
    raise ValueError(f"Instruction for qid {qid} is not found.")


def json_keys(length: int) -> str:
    """build_json_keys: the keys the judge must answer with, as Python prints the list."""
    return str([key for i in range(1, length + 1) for key in (f"extract_answer_T{i}", f"score_T{i}")])


def reasoning_prompt(context: dict[str, Any]) -> str:
    return REASONING_PREFIX + (
        REASONING_INST[context["inst_category"]]
        .replace("<|question|>", context["question"])
        .replace("<|ground_truth|>", context["ground_truth"])
        .replace("<|response|>", context["response"])
    )


def descriptive_prompt(context: dict[str, Any]) -> str:
    batch = context["batch"]
    prefix = (
        DESCRIPTIVE_PREFIX.replace("<|NUM_TRIPLETS|>", str(len(batch)))
        .replace("<|OVERARCHING_QUESTION|>", DESCRIPTIVE_QMAP[context["qid"]])
        .replace("<|JSON_KEYS|>", json_keys(len(batch)))
    )
    inputs = "".join(
        f"T{i + 1}:\nResponse {i + 1}: {response}\nGround Truth {i + 1}: {answer}\n\n"
        for i, (response, answer) in enumerate(batch)
    )
    return prefix + rubric(context["qid"]) + inputs


def render(context: dict[str, Any]) -> str:
    return reasoning_prompt(context) if context["mode"] == "reasoning" else descriptive_prompt(context)


def _valid(score: Any) -> bool:
    """`score in [0, 1]`, as the official code tests it (True and 1.0 are 1; "1" is not)."""
    try:
        return score in [0, 1]
    except Exception:
        return False


def read(text: str, context: dict[str, Any]) -> str | list[str]:
    """The grade(s) in a judge's answer: C for a score of 1, I for 0 (reasoning: for anything else too)."""
    try:
        content = json.loads(text)
    except ValueError as exc:
        raise Unparseable(f"the answer is not JSON ({exc})") from None
    if context["mode"] == "reasoning":
        try:  # the official code reads both: either missing is an answer to ask again
            _extracted, score = content["extracted_answer"], content["score"]
        except Exception:
            raise Unparseable("the JSON has no 'extracted_answer' and 'score'") from None
        return "C" if _valid(score) and score == 1 else "I"
    grades = []
    for i in range(1, len(context["batch"]) + 1):
        try:
            present = f"extract_answer_T{i}" in content and f"score_T{i}" in content
            score = content[f"score_T{i}"] if present else None
        except Exception:
            present = False
        if not present or not _valid(score):
            raise Unparseable(f"the JSON lacks extract_answer_T{i} or a score_T{i} of 0 or 1")
        grades.append("C" if score == 1 else "I")
    return grades


def plan(rows: list[dict[str, Any]]) -> list[Question]:
    """The reasoning answers one by one; the descriptive ones by template, five per question, in the order
    of the data (the annotation's `order`). Only answered samples with a gold answer are asked."""
    annotated = []
    for row in rows:
        raw = row.get("annotation")
        annotation = json.loads(raw) if isinstance(raw, str) else (raw or {})
        annotated.append((annotation.get("order", 0), row, annotation))
    annotated.sort(key=lambda item: item[0])
    questions = []
    groups: dict[int, list[tuple[dict, dict]]] = {}
    for _, row, annotation in annotated:
        if not row.get("references"):
            continue  # a test split: its answers are withheld, nothing to grade against
        if annotation.get("mode") == "descriptive":
            groups.setdefault(int(annotation["qid"]), []).append((row, annotation))
        elif row["asked"]:
            context = {
                "mode": "reasoning",
                "inst_category": int(annotation["inst_category"]),
                "question": annotation["query"],
                "ground_truth": row["references"][0],
                "response": row["prediction"],
            }
            questions.append(Question((row["sample_id"],), context))
    for qid in sorted(groups):
        group = groups[qid]
        for start in range(0, len(group), PER_QUERY):
            asked = [row for row, _ in group[start : start + PER_QUERY] if row["asked"]]
            if asked:
                batch = [[row["prediction"], row["references"][0]] for row in asked]
                context = {"mode": "descriptive", "qid": qid, "batch": batch}
                questions.append(Question(tuple(r["sample_id"] for r in asked), context, batch=True))
    return questions


GRADE_ASK = JudgeAsk(
    "charxiv",
    None,
    IDENTITY,
    None,
    "CharXiv's official grading: reasoning one by one, descriptive five per template (src/evaluate.py)",
    verdict="grade",
    render=render,
    body={"response_format": {"type": "json_object"}},
    plan=plan,
    read=read,
    images=False,
)

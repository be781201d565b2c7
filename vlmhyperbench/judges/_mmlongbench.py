"""MMLongBench-Doc's answer extraction, asked as the official code asks it (mayubo2333/MMLongBench-Doc,
eval/extract_answer.py and eval/prompt_for_answer_extraction.md, Apache-2.0; the prompt, word for word, is
vlmhyperbench.benchmarks._mmlongbench_texts.EXTRACTION_PROMPT, which names its source).

Two messages: the user message is the whole prompt file; then an assistant message
`"\\n\\nQuestion:{question}\\nAnalysis:{reply}\\n"` that hands the judge the question and the model's reply
(the official client sends temperature 0, max_tokens 256, top_p 1, no penalties: the judge row's settings
here). The extracted answer is the judge's text after the first "Extracted answer:" and before the first
"Answer format:" (`split("Answer format:")[0].split("Extracted answer:")[1].strip()`); an answer without
"Extracted answer:" there is unparseable (the official run scores it 0 as "Failed to extract": here it is
asked once more, then left out as no verdict). The judge's own answer format is not used: the score follows
the dataset's answer_format (metrics._mmlongbench).
"""

from __future__ import annotations

import hashlib
from typing import Any

from vlmhyperbench.benchmarks._mmlongbench_texts import EXTRACTION_PROMPT as PROMPT
from vlmhyperbench.judges.asks import JudgeAsk, Question, Unparseable

IDENTITY = "mmlongbench_doc extraction " + hashlib.sha256(PROMPT.encode()).hexdigest()[:16]


def render(context: dict[str, Any]) -> str:
    return PROMPT


def followups(context: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return (("assistant", "\n\nQuestion:{}\nAnalysis:{}\n".format(context["question"], context["answer"])),)


def parse(text: str) -> str:
    parts = text.split("Answer format:")[0].split("Extracted answer:")
    if len(parts) < 2:
        raise Unparseable("no 'Extracted answer:' before 'Answer format:' in the answer")
    return parts[1].strip()


def plan(rows: list[dict[str, Any]]) -> list[Question]:
    """One question per answered sample that has a gold answer: the benchmark's question and the reply."""
    return [
        Question((row["sample_id"],), {"question": row.get("question") or "", "answer": row["prediction"]})
        for row in rows
        if row["asked"] and row.get("references")
    ]


EXTRACT_ASK = JudgeAsk(
    "mmlongbench_doc",
    None,
    IDENTITY,
    parse,
    "MMLongBench-Doc's official answer extraction (eval/prompt_for_answer_extraction.md)",
    verdict="extract",
    render=render,
    followups=followups,
    plan=plan,
    images=False,
)

"""What a judge is asked, and how its answer is read: `grade` (is the answer correct?) and `extract` (what is
the final answer?). Each has its prompts.csv collection, a built-in prompt, and a strict parser.

    grade    collection `judge`          the last `GRADE: C` (correct) or `GRADE: I` (incorrect) of the answer
    extract  collection `judge_extract`  the last line `ANSWER: <text>` of the answer (the text, stripped)

The judge's own reasoning blocks (`<think>...</think>`) are removed before parsing, so a verdict it
considered while thinking never counts. Anything else (`Correct`, `GRADE: B`, no line at all) is
unparseable: the judging stage asks once more, then records a judge error, which is never a wrong answer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

try:  # orjson keys the many questions of a rescore fast; prefect already depends on it
    from orjson import OPT_SORT_KEYS
    from orjson import dumps as _orjson_dumps

    def _dumps(obj) -> bytes:
        return _orjson_dumps(obj, option=OPT_SORT_KEYS)
except ImportError:  # pragma: no cover
    import json as _json

    def _dumps(obj) -> bytes:
        return _json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


from metrics import strip_reasoning
from vlmhb_core.registry import Registry

GRADE_TEMPLATE = """\
You are grading an answer to a question about a document against the reference answer(s).

Question: {{ question }}
Reference answer(s): {{ references | join(' | ') }}
Submitted answer: {{ answer }}

The submitted answer is correct if it gives the same information as any one of the reference answers. \
Ignore differences of letter case, spacing, punctuation and formatting, and of how dates, numbers, amounts \
and units are written (for example "March 5, 2024" and "05.03.2024" are the same date). Words around the \
answer are fine. An answer that is missing, partial, contradicts the references or gives several different \
answers is incorrect.

Think briefly if you need to, then end your reply with one line: "GRADE: C" if the submitted answer is \
correct, or "GRADE: I" if it is incorrect."""

EXTRACT_TEMPLATE = """\
Below are a question about a document and a model's reply to it. Extract the final answer that the reply \
gives to the question: the shortest span that answers it, copied exactly as the reply writes it, without \
explanation.

Question: {{ question }}
Reply: {{ answer }}

End your reply with one line: "ANSWER: " followed by the extracted answer (nothing after "ANSWER:" if the \
reply gives no answer)."""

_GRADE = re.compile(r"\bGRADE\s*:\s*[*_`]*\s*([CI])\b")
_ANSWER_LINE = re.compile(r"^[ \t*_>#-]*ANSWER\s*:[*_]*[ \t]*(.*?)\s*$", re.MULTILINE)


class Unparseable(ValueError):
    """A judge's answer that gives no verdict in the asked form; the message says what was missing."""


@dataclass(frozen=True)
class JudgeAsk:
    """One kind of question to a judge: its prompts.csv collection, built-in prompt and answer parser."""

    name: str
    collection: str
    template: str
    parse: Callable[[str], str]
    """The verdict in an answer (reasoning already removed), or Unparseable."""
    description: str = ""


def parse_grade(text: str) -> str:
    """`C` or `I`: the last `GRADE: C` / `GRADE: I` of TEXT (markdown emphasis around the letter allowed)."""
    found = _GRADE.findall(text)
    if not found:
        raise Unparseable("no 'GRADE: C' or 'GRADE: I' in the answer")
    return found[-1]


def parse_extraction(text: str) -> str:
    """The text after the last line `ANSWER:` of TEXT, stripped ("" when the judge found no answer)."""
    found = _ANSWER_LINE.findall(text)
    if not found:
        raise Unparseable("no line 'ANSWER: ...' in the answer")
    return found[-1].strip().strip("*_`").strip()


JUDGE_ASKS: Registry[JudgeAsk] = Registry(
    "judge_asks",
    kind="judge question",
    accept=lambda obj: obj if isinstance(obj, JudgeAsk) else None,
    describe=lambda ask: ask.description,
    load_plugins=False,
)
JUDGE_ASKS.add(
    "grade",
    JudgeAsk("grade", "judge", GRADE_TEMPLATE, parse_grade, "correct or incorrect against the references"),
)
JUDGE_ASKS.add(
    "extract",
    JudgeAsk("extract", "judge_extract", EXTRACT_TEMPLATE, parse_extraction, "the final short answer"),
)


def read_verdict(kind: str, raw: str | None) -> str:
    """The verdict of the judge's RAW answer to a question of KIND, its reasoning removed; Unparseable."""
    if raw is None:
        raise Unparseable("the judge gave no answer")
    return JUDGE_ASKS.get(kind).parse(strip_reasoning(raw) or "")


def ask_key(kind: str, template: str, context: dict, images: bool) -> str:
    """The identity of one question to a judge: its kind, its prompt's template and everything the template
    is rendered over (the answer, the references, the question...), and whether the images go with it. A
    stored verdict answers exactly this question; a changed answer, reference or template is a new one. (The
    rendered prompt is a function of these, so it need not be rendered to find a stored verdict.)"""
    data = _dumps([kind, bool(images), template, context])
    return hashlib.blake2b(data, digest_size=12).hexdigest()

"""What a judge is asked, and how its answer is read: `grade` (is the answer correct?) and `extract` (what is
the final answer?). Each has its prompts.csv collection, a built-in prompt, and a strict parser.

    grade    collection `judge`          the last `GRADE: C` (correct) or `GRADE: I` (incorrect) of the answer
    extract  collection `judge_extract`  the last line `ANSWER: <text>` of the answer (the text, stripped)

The judge's own reasoning blocks (`<think>...</think>`) are removed before parsing, so a verdict it
considered while thinking never counts. Anything else (`Correct`, `GRADE: B`, no line at all) is
unparseable: the judging stage asks once more, then records a judge error, which is never a wrong answer.

A judge-graded benchmark brings its official questions (Benchmark.judge_asks maps `grade` or `extract` to
one): its questions planned by its own code over the pair's answers (`plan`), each prompt rendered from the
question's context (no prompts.csv collection), messages after the user message (`followups`), request
fields (`body`), and its reader of the answer (`read`, given the context), possibly for a batch: one
question about several samples (CharXiv grades five descriptive answers per request), whose verdict is a
JSON list with one verdict per sample.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
class Question:
    """One question a benchmark's plan asks: the samples it is about, and what its prompt is made from."""

    members: tuple[str, ...]
    context: dict[str, Any]
    batch: bool = False
    """A question about several samples at once: its verdict is a list, one per member, in order."""


Plan = Callable[[list[dict[str, Any]]], list[Question]]


@dataclass(frozen=True)
class JudgeAsk:
    """One kind of question to a judge: its prompts.csv collection, built-in prompt and answer parser."""

    name: str
    collection: str | None
    """The prompts.csv collection whose templates replace the built-in one (None: its own prompt only)."""
    template: str
    """The built-in Jinja2 template; for an ask that renders its own prompt, the identity of its prompt
    text (a stored verdict answers that text only)."""
    parse: Callable[[str], str] | None
    """The verdict in an answer (reasoning already removed), or Unparseable (None: `read` reads it)."""
    description: str = ""
    verdict: str = "grade"
    """What its verdicts are: `grade` (C or I, the judge_grade column) or `extract` (a text)."""
    render: Callable[[dict[str, Any]], str] | None = None
    """The user message from a question's context (None: the template rendered in the Jinja2 sandbox)."""
    followups: Callable[[dict[str, Any]], tuple[tuple[str, str], ...]] | None = None
    """(role, text) messages sent after the user message."""
    body: dict[str, Any] = field(default_factory=dict)
    """Request fields sent with each question (CharXiv's `response_format`)."""
    plan: Plan | None = None
    """The questions about a pair's answers: rows (the answer table's, as dicts, each with `asked`: whether
    it is to be judged) -> Questions (None: one question per asked row, its context the sample's fields)."""
    read: Callable[[str, dict[str, Any]], str | list[str]] | None = None
    """The verdict in an answer to the question of that context (a list for a batch); Unparseable."""
    images: bool = True
    """Whether the document's pages may go with it (`judge_images`)."""


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
    JudgeAsk(
        "extract",
        "judge_extract",
        EXTRACT_TEMPLATE,
        parse_extraction,
        "the final short answer",
        verdict="extract",
    ),
)
JUDGE_ASKS.add_lazy("mmlongbench_doc", "vlmhyperbench.judges._mmlongbench:EXTRACT_ASK")
JUDGE_ASKS.add_lazy("charxiv", "vlmhyperbench.judges._charxiv:GRADE_ASK")


def read_verdict(kind: str, raw: str | None, context: dict[str, Any] | None = None) -> str:
    """The verdict of the judge's RAW answer to a question of KIND (about CONTEXT), its reasoning removed;
    Unparseable. A batched question's verdict is the JSON list of its samples' verdicts."""
    if raw is None:
        raise Unparseable("the judge gave no answer")
    ask = JUDGE_ASKS.get(kind)
    text = strip_reasoning(raw) or ""
    if ask.read is not None:
        verdict = ask.read(text, context or {})
        return json.dumps(verdict) if isinstance(verdict, list) else verdict
    assert ask.parse is not None
    return ask.parse(text)


def member_verdict(verdict: str | None, index: int) -> str | None:
    """The verdict of a batched question's INDEXth sample (None: no verdict)."""
    if verdict is None:
        return None
    return json.loads(verdict)[index]


def ask_key(kind: str, template: str, context: dict, images: bool) -> str:
    """The identity of one question to a judge: its kind, its prompt's template and everything the template
    is rendered over (the answer, the references, the question...), and whether the images go with it. A
    stored verdict answers exactly this question; a changed answer, reference or template is a new one. (The
    rendered prompt is a function of these, so it need not be rendered to find a stored verdict.)"""
    data = _dumps([kind, bool(images), template, context])
    return hashlib.blake2b(data, digest_size=12).hexdigest()

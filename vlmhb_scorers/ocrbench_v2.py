"""OCRBench v2, scored by type as its official eval.py does, and averaged as its get_score.py does.

Each record's annotation is the question as the official OCRBench_v2.json holds it: `type`, `question`,
`answers`, `eval` (only where the question has one), `bbox` and `content` (grounding, VQA with position and
spotting). The dispatch by type, and which measure each type uses, is eval.py's (see ocrbench_v2_text and
ocrbench_v2_layout for the measures). A question eval.py marks `ignore` (a translation whose reference is
empty) gets no row, as get_score.py skips it. Where the official code raises on an answer (it then stops
and scores nothing at all), the question scores 0, and `detail` says why.

Rows: metric `ocrbench_v2_en` or `ocrbench_v2_cn` by the type's language, value = the question's score,
num = value, den = 1, category = get_score.py's category (8 English, 5 Chinese). The figure of each is the
mean over its categories that have questions of each one's mean (aggregation category_mean): get_score.py's
English and Chinese overall.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from vlmhb_scorers import ocrbench_v2_layout as layout
from vlmhb_scorers import ocrbench_v2_text as text
from vlmhb_scorers.protocol import Context, score_row

EN, CN = "ocrbench_v2_en", "ocrbench_v2_cn"

# get_score.py: type -> category
CATEGORIES = {
    "text recognition en": "text_recognition",
    "fine-grained text recognition en": "text_recognition",
    "full-page OCR en": "text_recognition",
    "text grounding en": "text_detection",
    "VQA with position en": "text_detection",
    "text spotting en": "text_spotting",
    "key information extraction en": "relationship_extraction",
    "key information mapping en": "relationship_extraction",
    "document parsing en": "element_parsing",
    "chart parsing en": "element_parsing",
    "table parsing en": "element_parsing",
    "formula recognition en": "element_parsing",
    "math QA en": "mathematical_calculation",
    "text counting en": "mathematical_calculation",
    "document classification en": "visual_text_understanding",
    "cognition VQA en": "visual_text_understanding",
    "diagram QA en": "visual_text_understanding",
    "reasoning VQA en": "knowledge_reasoning",
    "science QA en": "knowledge_reasoning",
    "APP agent en": "knowledge_reasoning",
    "ASCII art classification en": "knowledge_reasoning",
    "full-page OCR cn": "text_recognition",
    "key information extraction cn": "relationship_extraction",
    "handwritten answer extraction cn": "relationship_extraction",
    "document parsing cn": "element_parsing",
    "table parsing cn": "element_parsing",
    "formula recognition cn": "element_parsing",
    "cognition VQA cn": "visual_text_understanding",
    "reasoning VQA cn": "knowledge_reasoning",
    "text translation cn": "knowledge_reasoning",
}
EN_VQA = {
    "APP agent en",
    "ASCII art classification en",
    "math QA en",
    "reasoning VQA en",
    "science QA en",
    "text recognition en",
    "document classification en",
    "cognition VQA en",
    "diagram QA en",
}
IGNORE = None  # what score() returns for a question get_score.py leaves out


def _vqa_by_eval(item: dict, predict: Any, default) -> float:
    method = item.get("eval")
    if "eval" not in item:
        return default(predict, item["answers"])
    if method == "multiple choice":
        answers = item["answers"] if isinstance(item["answers"], list) else [item["answers"]]
        if len(answers) != 1:
            raise ValueError("a multiple-choice question with more than one answer")
        return text.multiple_choice(predict, answers)
    if method == "case sensitive":
        return text.vqa(predict, item["answers"], lower=False)
    raise ValueError(f"no such evaluation method: {method!r}")


def _kie_answers(item: dict) -> Any:
    if len(item["answers"]) != 1:
        raise ValueError("a KIE question with more than one answer")
    if item["type"] == "key information extraction cn":
        answer = ast.literal_eval(item["answers"][0])
        return text.combinations({k: v if isinstance(v, list) else [v] for k, v in answer.items()})
    return text.combinations(item["answers"][0])


def _page(predict: Any, answers: list, *, strict: bool) -> float:
    return text.page_score(predict, answers[0], zero_for_none=not strict)


def score(item: dict, predict: str) -> float | None:
    """The official score of one question (None: left out, as eval.py marks it `ignore`)."""
    kind, answers = item["type"], item["answers"]
    if kind in EN_VQA:
        return _vqa_by_eval(item, predict, text.vqa)
    if kind in ("cognition VQA cn", "reasoning VQA cn"):
        return _vqa_by_eval(item, predict, text.cn_vqa)
    if kind == "handwritten answer extraction cn":
        if "简答" in item["question"]:
            return _page(predict, answers, strict=False)
        if len(answers) != 1:
            raise ValueError("a handwritten answer with more than one answer")
        return text.handwritten_choice(predict, answers[0])
    if kind == "formula recognition cn":
        return text.cn_formula(predict, answers)
    if kind == "text counting en":
        return text.counting(predict, answers, item.get("eval"))
    if kind == "formula recognition en":
        return text.formula(predict, answers)
    if kind == "table parsing en":
        if not (isinstance(answers, list) and len(answers) == 1):
            raise ValueError("a table question with more than one answer")
        if not isinstance(item["question"], str):
            return IGNORE
        question = item["question"].lower()
        if "html" in question:
            return layout.html_table_score(predict, answers[0])
        if "markdown" in question:
            return layout.teds(layout.markdown_table(predict), layout.markdown_table(answers[0]))
        raise ValueError("a table question that asks for neither HTML nor Markdown has no score")
    if kind == "table parsing cn":
        return layout.html_table_score(predict, answers[0])
    if kind == "chart parsing en":
        if not predict:
            return 0.0
        chart = layout.str_to_multi_dict(predict)
        if not chart:
            return 0.0
        return layout.teds(layout.dict_table(chart), layout.dict_table(answers[0]))
    if kind in ("document parsing en", "document parsing cn"):
        if len(answers) != 1:
            raise ValueError("a document question with more than one answer")
        return text.doc_parsing(predict, answers[0])
    if kind in (
        "key information extraction en",
        "key information mapping en",
        "key information extraction cn",
    ):
        return text.kie(predict, _kie_answers(item))
    if kind == "VQA with position en":
        return layout.position_vqa(text.str_to_dict(predict), answers, item.get("bbox"), text.vqa)
    if kind == "text translation cn":
        if len(predict) == 0:
            return 0.0
        if len(answers[0]) == 0:
            return IGNORE
        return _page(predict, answers, strict=True)
    if kind == "fine-grained text recognition en":
        return 0.0 if len(predict) == 0 else _page(predict, answers, strict=False)
    if kind == "full-page OCR en":
        return 0.0 if not predict else _page(predict, answers, strict=False)
    if kind == "full-page OCR cn":
        return 0.0 if len(predict) == 0 else _page(predict, answers, strict=True)
    if kind == "text grounding en":
        box = layout.last_box(predict)
        return 0.0 if not box else layout.iou(box, answers)
    if kind == "text spotting en":
        boxes = layout.spotted_boxes(predict)
        if not boxes:
            return 0.0
        texts = item.get("content") or []
        if any("\n" in t for t in texts):
            raise ValueError("a ground-truth transcription with a line break breaks the RRC file")
        return layout.spotting(boxes, item.get("bbox") or [], texts)
    raise ValueError(f"unknown OCRBench v2 type {kind!r}")


def score_records(records: list[dict[str, Any]], ctx: Context) -> Iterator[dict[str, Any]]:
    text.wordnet(ctx.workdir)
    for record in records:
        item = record.get("annotation") or {}
        kind = item.get("type", "")
        metric = EN if kind.endswith(" en") else CN
        if kind not in CATEGORIES or not ctx.wants(metric):
            continue
        detail = None
        try:
            value = score(item, record.get("prediction") or "")
        except Exception as exc:  # the official code stops here; this question alone scores 0
            value, detail = 0.0, f"official code raises {type(exc).__name__}: {exc}"[:300]
        if value is IGNORE:
            continue
        yield score_row(
            record["sample_id"], metric, value, num=float(value), den=1.0, category=CATEGORIES[kind],
            **({"detail": detail} if detail else {}),
        )  # fmt: skip

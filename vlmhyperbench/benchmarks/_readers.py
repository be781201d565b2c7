"""The readers of the standard benchmarks: fn(path, split) -> list[Sample], each over its published
layout (see _layout). Sub-splits become the sample's question_type or doc_class, so that the summary's
`by_question_type` and `by_doc_class` rows report them apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmhyperbench.benchmarks._layout import Layout, answers, build_samples, first
from vlmhyperbench.datasets import Sample
from vlmhyperbench.datasets._common import as_text

# lmms-lab/DocVQA, config DocVQA: questionId, question, question_types, image, docId, ucsf_document_id,
# ucsf_document_page_no, answers, data_split.
DOCVQA = Layout(
    config="DocVQA",
    columns=(("questionId",), ("question",), ("answers",), ("question_types",)),
)
# lmms-lab/DocVQA, config InfographicVQA: questionId, question, answers, answer_type, image, image_url,
# operation/reasoning, ocr, data_split.
INFOVQA = Layout(
    config="InfographicVQA",
    columns=(("questionId",), ("question",), ("answers",), ("answer_type",)),
)
# lmms-lab/ChartQA: type (human_test / augmented_test), question, answer, image. Also read: the layouts of
# HuggingFaceM4/ChartQA (query, label, human_or_machine) and ahmed-masry/ChartQA (query, label, type).
CHARTQA = Layout(
    config=None,
    columns=(("question", "query"), ("answer", "label"), ("type",), ("human_or_machine",)),
)
# lmms-lab/textvqa (the layout of facebook/textvqa): image_id, question_id, question, question_tokens,
# image, image_width, image_height, flickr_original_url, flickr_300k_url, answers, image_classes,
# set_name, ocr_tokens.
TEXTVQA = Layout(config=None, columns=(("question_id",), ("question",), ("answers",)))
# echo840/OCRBench: dataset, question, question_type, answer (list), image; 1000 rows, split test.
OCRBENCH = Layout(
    config=None,
    columns=(("id",), ("dataset",), ("question",), ("question_type",), ("answer", "answers")),
    required=("question", "question_type", "dataset"),
)


def _vqa(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "question": as_text(obj.get("question")),
        "references": answers(obj.get("answers")),
        "question_type": first(obj.get(kind)),
    }


def read_docvqa(path: Path, split: str | None = None) -> list[Sample]:
    """DocVQA (single page): question_type = the first of the question's question_types."""
    return build_samples(
        path, DOCVQA, split or "validation", lambda o: _vqa(o, "question_types"), "questionId"
    )


def read_infographicvqa(path: Path, split: str | None = None) -> list[Sample]:
    """InfographicVQA: question_type = the first of the question's answer types."""
    return build_samples(path, INFOVQA, split or "validation", lambda o: _vqa(o, "answer_type"), "questionId")


def chartqa_subsplit(obj: dict[str, Any]) -> str:
    """`human` or `augmented`: ChartQA's two test sets, whichever way a layout spells it."""
    kind = obj.get("type")
    if kind is not None:
        text = as_text(kind).lower()
        return "human" if text.startswith("human") else "augmented" if text.startswith("aug") else text
    machine = obj.get("human_or_machine")
    if machine is not None:
        return "augmented" if int(machine) == 1 else "human"
    return ""


def read_chartqa(path: Path, split: str | None = None) -> list[Sample]:
    """ChartQA: question_type = `human` or `augmented` (the two sets ChartQA reports apart)."""

    def make(obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "question": as_text(obj.get("question")),
            "references": answers(obj.get("answer")),
            "question_type": chartqa_subsplit(obj),
        }

    return build_samples(path, CHARTQA, split or "test", make, None)


def read_textvqa(path: Path, split: str | None = None) -> list[Sample]:
    """TextVQA: the 10 human answers are the references (the metric needs every one, duplicates kept)."""

    def make(obj: dict[str, Any]) -> dict[str, Any]:
        return {"question": as_text(obj.get("question")), "references": answers(obj.get("answers"))}

    return build_samples(path, TEXTVQA, split or "validation", make, "question_id")


def read_ocrbench(path: Path, split: str | None = None) -> list[Sample]:
    """OCRBench: question_type = the category (Regular Text Recognition, ...), doc_class = the source
    dataset (IIIT5K, HME100k, ...): the official rules and per-category scores need both."""

    def make(obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "question": as_text(obj.get("question")),
            "references": answers(obj.get("answer")),
            "question_type": as_text(obj.get("question_type")),
            "doc_class": as_text(obj.get("dataset")),
        }

    return build_samples(path, OCRBENCH, split or "test", make, "id")

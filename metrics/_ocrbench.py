"""`ocrbench_accuracy`: OCRBench's rule, as its official evaluation (Yuliang-Liu/MultimodalOCR,
OCRBench/scripts) scores each question.

A question is right (1) when one of its gold answers occurs as a substring of the prediction, after:
- questions from the HME100k source dataset (handwritten mathematical expressions): both sides stripped,
  newlines made spaces, then every space removed; case is kept (case- and space-insensitive to layout,
  but case-sensitive);
- every other question: both sides lower-cased, stripped, newlines made spaces (case-insensitive, spaces
  kept).
The source dataset is the sample's `doc_class` (the `dataset` column of the published layout). The
benchmark's score is the number of right answers out of its 1000 questions.
"""

from __future__ import annotations

import polars as pl

from metrics._registry import metric
from metrics._table import predictions, references, rows

SCORER = "OCRBench (MultimodalOCR substring rules, HME100k case- and space-sensitive)"
VERSION = "1"
CASE_SENSITIVE_DATASETS = frozenset({"HME100k"})


def _math(text: str) -> str:
    return text.strip().replace("\n", " ").replace(" ", "")


def _text(text: str) -> str:
    return text.lower().strip().replace("\n", " ")


def ocrbench_correct(prediction: str, answers: list[str], dataset: str) -> float:
    norm = _math if dataset in CASE_SENSITIVE_DATASETS else _text
    pred = norm(prediction)
    return float(any(norm(a) in pred for a in answers))


@metric(
    "ocrbench_accuracy",
    higher_is_better=True,
    tasks=("vqa", "ocr"),
    columns=("prediction", "references", "doc_class"),
    scorer=SCORER,
    version=VERSION,
)
def ocrbench_accuracy(table: pl.DataFrame) -> pl.DataFrame:
    """OCRBench: a gold answer as a substring of the answer (HME100k: case-sensitive, spaces removed)."""
    datasets = table.get_column("doc_class").cast(pl.String).fill_null("").to_list()
    value = [
        ocrbench_correct(p, refs, d)
        for p, refs, d in zip(predictions(table).to_list(), references(table).to_list(), datasets)
    ]
    return rows(table, value)

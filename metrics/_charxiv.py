"""CharXiv's official figures: `charxiv_reasoning` and `charxiv_descriptive`, from the judge's grades.

The official pipeline (princeton-nlp/CharXiv, Apache-2.0) has GPT-4o grade each answer 0 or 1
(src/evaluate.py; vlmhyperbench.judges asks the same questions: `charxiv`), then src/get_stats.py averages
the grades: a grade outside {0, 1} (the official judge gave up: -1) counts 0. Each figure has four
descriptive questions and one reasoning question; a sample's annotation says which (`mode`) and carries
the groups of the official breakdowns, named as get_stats names them:

    reasoning     by answer type (the sample's question_type: Text-in-Chart, Text-in-General,
                  Number-in-Chart, Number-in-General), and as subsets: By Source, By Subject, By Year,
                  By Subplot
    descriptive   by category (question_type: Information Extraction, Enumeration, Pattern Recognition,
                  Counting, Compositionality), and as subsets: By Question (Q1..Q19), By Subject, By Year,
                  By Subplot

The value of a question is its grade (1 or 0); a question without a verdict is left out (the official code
would count 0: see metrics/README.md); a question whose request failed scores 0.
"""

from __future__ import annotations

import json

import polars as pl

from metrics._judged import JUDGE_GRADE
from metrics._registry import metric

SCORER = "CharXiv src/get_stats.py over the judge's grades (src/evaluate.py prompts)"
VERSION = "1"
SUBSET_KEYS = {
    "reasoning": (
        ("By Source", "source"),
        ("By Subject", "subject"),
        ("By Year", "year"),
        ("By Subplot", "subplot"),
    ),
    "descriptive": (
        ("By Question", "question"),
        ("By Subject", "subject"),
        ("By Year", "year"),
        ("By Subplot", "subplot"),
    ),
}


def _graded(table: pl.DataFrame, mode: str) -> pl.DataFrame:
    rows = []
    judged = table.filter(pl.col(JUDGE_GRADE).is_not_null())
    for sid, grade, raw in judged.select("sample_id", JUDGE_GRADE, "annotation").iter_rows():
        annotation = json.loads(raw) if isinstance(raw, str) else (raw or {})
        if annotation.get("mode") != mode:
            continue
        rows.append((sid, float(grade), None))
        for label, key in SUBSET_KEYS[mode]:
            if annotation.get(key) not in (None, ""):
                rows.append((sid, float(grade), f"{label}: {annotation[key]}"))
    return pl.DataFrame(
        rows, schema={"sample_id": pl.String, "value": pl.Float64, "subset": pl.String}, orient="row"
    )


@metric(
    "charxiv_reasoning",
    higher_is_better=True,
    tasks=("vqa",),
    columns=("annotation", JUDGE_GRADE),
    scorer=SCORER,
    version=VERSION,
    judge="grade",
)
def charxiv_reasoning(table: pl.DataFrame) -> pl.DataFrame:
    """CharXiv reasoning accuracy: the judge's 0/1 grade of each reasoning question, mean (get_stats)."""
    return _graded(table, "reasoning")


@metric(
    "charxiv_descriptive",
    higher_is_better=True,
    tasks=("vqa",),
    columns=("annotation", JUDGE_GRADE),
    scorer=SCORER,
    version=VERSION,
    judge="grade",
)
def charxiv_descriptive(table: pl.DataFrame) -> pl.DataFrame:
    """CharXiv descriptive accuracy: the judge's 0/1 grade of each descriptive question, mean (get_stats)."""
    return _graded(table, "descriptive")

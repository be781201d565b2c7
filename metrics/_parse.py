"""Document parsing (page -> Markdown) and order-free OCR metrics: parse_edit, teds, teds_s, token_f1,
char_f1, reading_order.

- `parse_edit`: the page's normalised edit distance, Levenshtein(prediction, reference) / the longer
  length, both with whitespace runs collapsed to one space (0 when both are empty); OmniDocBench's Edit
  over the whole page. Mean over pages.
- `teds`, `teds_s`: the page's tables (HTML `<table>` or Markdown pipe tables, in either answer) paired
  one to one, each reference table with the prediction table whose cell text is closest (greedily, best
  pair first); a reference table left without a partner scores 0, an extra predicted one is ignored.
  Pooled over tables (sum of TEDS / number of reference tables); a page without a reference table has no
  row. TEDS itself is PubTabNet's (_teds.py).
- `token_f1`, `char_f1`: CC-OCR's order-free F1 (its evaluator.ocr_evaluator): whitespace runs to one
  space, lower case, tokens are words (`token_f1`) or characters without spaces (`char_f1`, CC-OCR's
  setting for Chinese, Japanese, Korean, Arabic); matches are the multiset intersection;
  recall = matches / (gt tokens + 1e-9), precision = matches / (pred tokens + 1e-9),
  F1 = 2 r p / (r + p + 1e-9). Mean over samples (CC-OCR's macro F1).
- `reading_order`: 1 - OmniDocBench's reading-order edit. The reference's blocks (its non-empty lines
  outside tables) are found in the prediction by fuzzy alignment (rapidfuzz partial_ratio_alignment,
  score >= 60, on normalised text); the blocks found, ordered by where they start in the prediction,
  give a sequence of block numbers, compared with 0..n-1 by Levenshtein distance over the longer length.
  A block not found counts as a deletion. A reference of fewer than two blocks has no row.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import polars as pl

from metrics._registry import metric
from metrics._table import first_reference, predictions, rows

_WS = re.compile(r"\s+")
_HTML_TABLE = re.compile(r"<table\b.*?</table\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_MD_MARKUP = re.compile(r"^\s{0,3}(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*)|[*_`]+")
MIN_BLOCK_SCORE = 60.0


def _norm_ws(text: str) -> str:
    return _WS.sub(" ", text).strip()


# ---------------------------------------------------------------- parse_edit


@metric("parse_edit", higher_is_better=False, tasks=("parse",))
def parse_edit(table: pl.DataFrame) -> pl.DataFrame:
    """Normalised edit distance of the page's Markdown (whitespace collapsed), 0 = identical."""
    from rapidfuzz.distance import Levenshtein

    out = []
    for p, r in zip(predictions(table).to_list(), first_reference(table).to_list()):
        p, r = _norm_ws(p), _norm_ws(r)
        longest = max(len(p), len(r))
        out.append(Levenshtein.distance(p, r) / longest if longest else 0.0)
    return rows(table, out)


# ---------------------------------------------------------------- tables


def split_tables(markdown: str) -> tuple[list[str], str]:
    """(the tables of a Markdown answer as HTML strings in reading order, the text without them).

    HTML tables are taken as they are; Markdown pipe tables are turned into HTML by markdown-it (GFM
    tables), so the two forms compare as equals after normalisation."""
    found: list[tuple[int, str]] = []
    rest = []
    last = 0
    for m in _HTML_TABLE.finditer(markdown):
        found.append((m.start(), m.group(0)))
        rest.append(markdown[last : m.start()])
        rest.append("\n\n")
        last = m.end()
    rest.append(markdown[last:])
    text = "".join(rest)
    if "|" in text:
        tables, text = _markdown_tables(text)
        # a Markdown table's place: the offset of its first line in the text without HTML tables
        found += tables
    found.sort(key=lambda t: t[0])
    return [t for _, t in found], text


def _markdown_tables(text: str) -> tuple[list[tuple[int, str]], str]:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    lines = text.split("\n")
    offsets = np.cumsum([0] + [len(line) + 1 for line in lines])
    tables, drop = [], set()
    depth, start = 0, None
    for i, tok in enumerate(tokens):
        if tok.type == "table_open":
            depth += 1
            if depth == 1:
                start = i
        elif tok.type == "table_close":
            depth -= 1
            if depth == 0 and start is not None:
                html = md.renderer.render(tokens[start : i + 1], md.options, {})
                first, end = tokens[start].map or (0, 0)
                tables.append((int(offsets[first]), html))
                drop.update(range(first, end))
    kept = "\n".join(line for n, line in enumerate(lines) if n not in drop)
    return tables, kept


def _cell_text(html: str) -> str:
    return _norm_ws(_TAG.sub(" ", html))


def match_tables(pred: list[str], true: list[str]) -> list[tuple[str, str | None]]:
    """Each reference table with its prediction table (or None): greedy, most similar cell text first."""
    from rapidfuzz import fuzz

    if not pred:
        return [(t, None) for t in true]
    pt, tt = [_cell_text(p) for p in pred], [_cell_text(t) for t in true]
    scores = sorted(
        ((fuzz.ratio(tt[j], pt[i]), -abs(i - j), j, i) for j in range(len(true)) for i in range(len(pred))),
        reverse=True,
    )
    partner: dict[int, int] = {}
    used: set[int] = set()
    for _, _, j, i in scores:
        if j not in partner and i not in used:
            partner[j] = i
            used.add(i)
    return [(t, pred[partner[j]] if j in partner else None) for j, t in enumerate(true)]


def _teds_rows(table: pl.DataFrame, structure_only: bool) -> pl.DataFrame:
    from metrics._teds import teds

    ids, value, num, den = [], [], [], []
    for sid, p, r in zip(
        table.get_column("sample_id").cast(pl.String).to_list(),
        predictions(table).to_list(),
        first_reference(table).to_list(),
    ):
        true_tables, _ = split_tables(r)
        if not true_tables:
            continue
        pred_tables, _ = split_tables(p)
        scores = [
            teds(pt, tt, structure_only=structure_only) if pt is not None else 0.0
            for tt, pt in match_tables(pred_tables, true_tables)
        ]
        ids.append(sid)
        num.append(float(sum(scores)))
        den.append(float(len(scores)))
        value.append(num[-1] / den[-1])
    return pl.DataFrame(
        {
            "sample_id": pl.Series(ids, dtype=pl.String),
            "value": pl.Series(value, dtype=pl.Float64),
            "num": pl.Series(num, dtype=pl.Float64),
            "den": pl.Series(den, dtype=pl.Float64),
        }
    )


@metric("teds", higher_is_better=True, aggregation="ratio", tasks=("parse",))
def teds_metric(table: pl.DataFrame) -> pl.DataFrame:
    """PubTabNet TEDS of the page's tables (structure and content), pooled over reference tables."""
    return _teds_rows(table, structure_only=False)


@metric("teds_s", higher_is_better=True, aggregation="ratio", tasks=("parse",))
def teds_s_metric(table: pl.DataFrame) -> pl.DataFrame:
    """PubTabNet TEDS-S (structure only) of the page's tables, pooled over reference tables."""
    return _teds_rows(table, structure_only=True)


# ---------------------------------------------------------------- CC-OCR token F1


def cc_ocr_tokens(text: str, *, word_level: bool = True) -> list[str]:
    """CC-OCR's text_normalize_and_tokenize (lower case, alphanumerics and punctuation kept)."""
    text = text.replace("\t", " ").replace("\n", " ").replace("###", "").replace("***", "")
    text = re.sub(r"\s+", " ", text)
    if not word_level:
        text = text.replace(" ", "")
    tokens = text.split(" ") if word_level else list(text)
    return [t for t in (tok.lower() for tok in tokens) if t]


def cc_ocr_f1(pred: list[str], true: list[str]) -> float:
    """CC-OCR's per-sample F1 of two token lists (their 1e-9 terms included)."""
    gt, pd = Counter(true), Counter(pred)
    right = sum(min(n, pd.get(tok, 0)) for tok, n in gt.items())
    recall = right / (len(true) + 1e-9)
    precision = right / (len(pred) + 1e-9)
    return 2 * recall * precision / (recall + precision + 1e-9)


def _f1_rows(table: pl.DataFrame, word_level: bool) -> pl.DataFrame:
    value = [
        cc_ocr_f1(
            cc_ocr_tokens(p.strip(), word_level=word_level), cc_ocr_tokens(r.strip(), word_level=word_level)
        )
        for p, r in zip(predictions(table).to_list(), first_reference(table).to_list())
    ]
    return rows(table, value)


@metric("token_f1", higher_is_better=True, tasks=("ocr", "parse"))
def token_f1(table: pl.DataFrame) -> pl.DataFrame:
    """CC-OCR order-free word F1 (lower-cased; the mean is CC-OCR's macro F1)."""
    return _f1_rows(table, word_level=True)


@metric("char_f1", higher_is_better=True, tasks=("ocr", "parse"))
def char_f1(table: pl.DataFrame) -> pl.DataFrame:
    """CC-OCR order-free character F1 (its setting for Chinese, Japanese, Korean and Arabic)."""
    return _f1_rows(table, word_level=False)


# ---------------------------------------------------------------- reading order


def reference_blocks(reference: str) -> list[str]:
    """The blocks whose order is scored: the reference's non-empty lines outside tables, markup removed."""
    _, text = split_tables(reference)
    blocks = []
    for line in text.split("\n"):
        plain = _norm_ws(_MD_MARKUP.sub("", _TAG.sub(" ", line)))
        if plain:
            blocks.append(plain.lower())
    return blocks


def block_order(blocks: list[str], prediction: str) -> list[int]:
    """The numbers of the blocks found in PREDICTION, in the order they appear there."""
    from rapidfuzz import fuzz

    _, text = split_tables(prediction)
    target = _norm_ws(_MD_MARKUP.sub("", _TAG.sub(" ", text.replace("\n", " \n ")))).lower()
    found = []
    for n, block in enumerate(blocks):
        if not target:
            break
        hit = fuzz.partial_ratio_alignment(block, target)
        if hit is not None and hit.score >= MIN_BLOCK_SCORE:
            found.append((hit.dest_start, n))
    return [n for _, n in sorted(found)]


def reading_order_score(prediction: str, reference: str) -> float | None:
    """1 - normalised edit distance of the blocks' order (None: fewer than two reference blocks)."""
    from rapidfuzz.distance import Levenshtein

    blocks = reference_blocks(reference)
    if len(blocks) < 2:
        return None
    order = block_order(blocks, prediction)
    truth = list(range(len(blocks)))
    return 1.0 - Levenshtein.distance(truth, order) / max(len(truth), len(order))


@metric("reading_order", higher_is_better=True, tasks=("parse", "ocr"))
def reading_order(table: pl.DataFrame) -> pl.DataFrame:
    """1 - OmniDocBench's reading-order edit: the reference's lines, found in the answer, in order."""
    ids, value = [], []
    for sid, p, r in zip(
        table.get_column("sample_id").cast(pl.String).to_list(),
        predictions(table).to_list(),
        first_reference(table).to_list(),
    ):
        score = reading_order_score(p, r)
        if score is not None:
            ids.append(sid)
            value.append(score)
    return pl.DataFrame(
        {"sample_id": pl.Series(ids, dtype=pl.String), "value": pl.Series(value, dtype=pl.Float64)}
    )

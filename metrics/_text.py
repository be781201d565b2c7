"""Text metrics: anls, cer, wer, exact_match, relaxed_accuracy, bleu."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from metrics import _edit
from metrics._registry import metric
from metrics._table import first_reference, pairs, predictions, references, rows
from metrics._unicode import normalize, normalize_series


@metric("anls", higher_is_better=True, tasks=("vqa",))
def anls(table: pl.DataFrame) -> pl.DataFrame:
    """ANLS as the anls package's anls_score (threshold 0.5, best over the references)."""
    row, p, r = pairs(table)
    return rows(table, _edit.anls(p, r, row, len(table)))


def _rate(table: pl.DataFrame, counts) -> pl.DataFrame:
    edits, ref_len, hyp_empty = counts(predictions(table), first_reference(table))
    return rows(
        table,
        _edit.error_rate(edits, ref_len, hyp_empty),
        num=edits.astype(np.float64),
        den=ref_len.astype(np.float64),
    )


@metric("cer", higher_is_better=False, aggregation="ratio", tasks=("ocr",))
def cer(table: pl.DataFrame) -> pl.DataFrame:
    """jiwer.cer against the first reference (empty reference: 0 if the prediction is empty, else 1)."""
    return _rate(table, _edit.char_edits)


@metric("wer", higher_is_better=False, aggregation="ratio", tasks=("ocr",))
def wer(table: pl.DataFrame) -> pl.DataFrame:
    """jiwer.wer against the first reference (empty reference: 0 if the prediction is empty, else 1)."""
    return _rate(table, _edit.word_edits)


@metric("exact_match", higher_is_better=True, tasks=("vqa", "ocr"))
def exact_match(table: pl.DataFrame) -> pl.DataFrame:
    """1 if the normalised prediction equals a normalised reference (normalised as for ANLS)."""
    row, p, r = pairs(table)
    hit = (normalize_series(p) == normalize_series(r)).to_numpy().astype(np.float64)
    best = np.zeros(len(table))
    np.maximum.at(best, row, hit)
    return rows(table, best)


def _number(text: str) -> float | None:
    """ChartQA's `_to_float`: float(text), or a percentage as a fraction; finite numbers only."""
    text = text.strip()
    try:
        value = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def relaxed_match(prediction: str, reference: str, tolerance: float = 0.05) -> bool:
    """ChartQA's relaxed correctness: within 5 % of a non-zero numeric reference, else exact match."""
    p, r = _number(prediction), _number(reference)
    if p is not None and r:
        return abs(p - r) / abs(r) <= tolerance
    return normalize(prediction) == normalize(reference)


@metric("relaxed_accuracy", higher_is_better=True, tasks=("vqa",))
def relaxed_accuracy(table: pl.DataFrame) -> pl.DataFrame:
    """ChartQA relaxed accuracy: numbers within 5 % relative, else exact_match; best over references."""
    value = [
        float(any(relaxed_match(p, r) for r in refs))
        for p, refs in zip(predictions(table).to_list(), references(table).to_list())
    ]
    return rows(table, value)


def _bleu(effective_order: bool):
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=effective_order)


@metric("bleu", higher_is_better=True, aggregation="corpus_bleu", tasks=("ocr", "vqa"))
def bleu(table: pl.DataFrame) -> pl.DataFrame:
    """sacrebleu sentence BLEU per sample (as a fraction); the aggregate is corpus BLEU."""
    sentence = _bleu(effective_order=True)
    stats, value = [], []
    for p, refs in zip(predictions(table).to_list(), references(table).to_list()):
        s = sentence._extract_corpus_statistics([p], [[r] for r in (refs or [""])])[0]
        stats.append([float(x) for x in s])
        value.append(sentence._compute_score_from_stats(list(s)).score / 100.0)
    return rows(table, value, stats=pl.Series(stats, dtype=pl.List(pl.Float64)))


def corpus_bleu(stats: np.ndarray) -> float:
    """sacrebleu's corpus BLEU (as a fraction) of summed sentence statistics."""
    total = [int(round(x)) for x in stats]
    return _bleu(effective_order=False)._compute_score_from_stats(total).score / 100.0


def corpus_bleu_many(stats: np.ndarray, order: int = 4) -> np.ndarray:
    """corpus_bleu of each row of summed statistics (B, 2 + 2 * order), vectorised for resampling."""
    sys_len, ref_len = stats[:, 0], stats[:, 1]
    correct, total = stats[:, 2 : 2 + order], stats[:, 2 + order :]
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / sys_len), 0.0), 1.0)
        log_sum = np.zeros(len(stats))
        smooth = np.ones(len(stats))
        active = np.ones(len(stats), bool)
        for n in range(order):
            active &= total[:, n] > 0
            zero = correct[:, n] == 0
            smooth = np.where(active & zero, smooth * 2, smooth)
            precision = np.where(zero, 100.0 / (smooth * total[:, n]), 100.0 * correct[:, n] / total[:, n])
            log_sum += np.where(active, np.log(np.where(active, precision, 1.0)), -9999999999.0)
        score = bp * np.exp(log_sum / order)
    return np.where(correct.sum(axis=1) == 0, 0.0, score) / 100.0

"""Pooling per-sample rows into one figure, and its seeded, vectorised bootstrap interval.

Every aggregation is a function of column sums: the mean of value, sum num / sum den, macro F1
from summed confusion indicators, corpus BLEU from summed n-gram statistics. So a resample only
needs how many times it draws each distinct row. With few distinct rows (0/1 scores, class
pairs, short texts) those counts come straight from one multinomial draw per resample, which is
exactly the distribution of drawing n rows with replacement; otherwise from an (n_resamples, n)
matrix of drawn row indices, a batch at a time. Ratio metrics thus resample numerator and
denominator together; macro F1 and BLEU are recomputed from each resample's counts.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import polars as pl

from metrics._classification import confusion_columns, macro_f1
from metrics._errors import MetricError
from metrics._text import corpus_bleu, corpus_bleu_many

# Elements of one index batch (resamples x rows): bounds the memory of a bootstrap.
_BATCH = 4_000_000

Finish = Callable[[np.ndarray], np.ndarray]


def _need(rows: pl.DataFrame, aggregation: str, *columns: str) -> None:
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise MetricError(
            f"aggregation '{aggregation}' needs the score column(s) {', '.join(missing)} "
            "that score() writes; keep them in the scores"
        )


def class_codes(*columns: list[str | None]) -> dict[str, int]:
    """Class name -> code 0..K-1, in first-seen order over the columns."""
    codes: dict[str, int] = {}
    for column in columns:
        for c in column:
            if c is not None:
                codes.setdefault(c, len(codes))
    return codes


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Corpus error rate; with no reference at all, 0 if there is no edit either, else 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, (num > 0).astype(np.float64))


def design(
    aggregation: str, rows: pl.DataFrame, codes: dict[str, int] | None = None, finish: Finish | None = None
) -> tuple[np.ndarray, Finish]:
    """(X, finish): per-row columns whose sums determine the aggregate, and sums -> aggregate.

    `codes` numbers the classes (or categories) when two tables must share them (paired differences);
    `finish` is the metric's own for the `parts` aggregation.
    """
    n = rows.height
    if aggregation == "mean":
        return rows.get_column("value").cast(pl.Float64).to_numpy()[:, None], lambda s: s[:, 0] / n
    if aggregation == "ratio":
        _need(rows, aggregation, "num", "den")
        x = rows.select(pl.col("num", "den").cast(pl.Float64)).to_numpy()
        return x, lambda s: _ratio(s[:, 0], s[:, 1])
    if aggregation == "f1_macro":
        _need(rows, aggregation, "pred_class", "label")
        pred, label = rows.get_column("pred_class").to_list(), rows.get_column("label").to_list()
        codes = codes if codes is not None else class_codes(label, pred)
        k = max(
            int(rows.get_column("n_classes").max() or 0) if "n_classes" in rows.columns else 0, len(codes), 1
        )
        x = confusion_columns(
            np.array([codes[p] if p is not None else -1 for p in pred], np.int64),
            np.array([codes[y] for y in label], np.int64),
            k,
        )
        return x, lambda s: macro_f1(s, k)
    if aggregation == "corpus_bleu":
        _need(rows, aggregation, "stats")
        x = np.array(rows.get_column("stats").to_list(), np.float64).reshape(n, -1)
        return x, corpus_bleu_many
    if aggregation == "category_mean":
        _need(rows, aggregation, "num", "den", "category")
        categories = rows.get_column("category").fill_null("").to_list()
        codes = codes if codes is not None else class_codes(categories)
        k = max(len(codes), 1)
        onehot = np.zeros((n, k))
        onehot[np.arange(n), [codes[c] for c in categories]] = 1.0
        num = rows.get_column("num").cast(pl.Float64).to_numpy()[:, None]
        den = rows.get_column("den").cast(pl.Float64).to_numpy()[:, None]
        return np.hstack([onehot * num, onehot * den]), lambda s: _category_mean(s, k)
    if aggregation == "parts":
        _need(rows, aggregation, "parts")
        if finish is None:
            raise MetricError("aggregation 'parts' needs the metric's own finish function")
        x = np.array(rows.get_column("parts").to_list(), np.float64).reshape(n, -1)
        return x, finish
    raise MetricError(f"unknown aggregation '{aggregation}'")


def _category_mean(sums: np.ndarray, k: int) -> np.ndarray:
    """The mean over categories of passed / total; a category a resample never drew is left out."""
    num, den = sums[:, :k], sums[:, k:]
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(den > 0, num / den, np.nan)
    seen = (den > 0).sum(axis=1)
    return np.where(seen > 0, np.nansum(rates, axis=1) / np.maximum(seen, 1), 0.0)


def point(aggregation: str, x: np.ndarray, finish: Finish) -> float:
    """The aggregate of all rows (corpus BLEU straight from sacrebleu)."""
    if aggregation == "corpus_bleu":
        return corpus_bleu(x.sum(axis=0))
    return float(finish(x.sum(axis=0)[None, :])[0])


def rng_for(seed: int, *key: object) -> np.random.Generator:
    """A generator fixed by the seed and the group's key alone (not by which other groups exist)."""
    return np.random.default_rng([seed, zlib.crc32("\x1f".join(map(str, key)).encode())])


def resampled_sums(x: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Column sums of x over n_boot resamples of its n rows drawn with replacement: (n_boot, d)."""
    n = len(x)
    if x.shape[1] == 1:  # a 1-D sort is much faster than a sort of rows
        cells, inverse, counts = np.unique(x[:, 0], return_inverse=True, return_counts=True)
        cells = cells[:, None]
    else:
        cells, inverse, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    k = len(cells)
    if k <= n // 16:  # a binomial draw costs some 10-40 index draws: worth it for few distinct rows
        return rng.multinomial(n, counts / n, size=n_boot) @ cells
    batch = max(1, _BATCH // n)
    out = []
    for start in range(0, n_boot, batch):
        b = min(batch, n_boot - start)
        drawn = inverse[rng.integers(0, n, size=(b, n))] + (np.arange(b) * k)[:, None]
        out.append(np.bincount(drawn.ravel(), minlength=b * k).reshape(b, k) @ cells)
    return np.concatenate(out)


def interval(
    x: np.ndarray, finish: Finish, value: float, rng: np.random.Generator, n_boot: int
) -> tuple[float | None, float | None]:
    """95 % percentile bootstrap interval of finish(sums), widened to hold the point value when
    the resamples all fall on one side of it; (None, None) without resamples or rows."""
    if n_boot <= 0 or len(x) == 0:
        return None, None
    low, high = np.percentile(finish(resampled_sums(x, rng, n_boot)), [2.5, 97.5])
    return float(min(low, value)), float(max(high, value))


def percentile_interval(
    values: np.ndarray, q: float, *, seed: int = 0, n_boot: int = 1000
) -> tuple[float | None, float | None]:
    """95 % percentile bootstrap interval of the q-th percentile (0-100, linear interpolation as numpy's
    default) of VALUES, over n_boot resamples of its n values drawn with replacement, seeded by (seed, n)
    so a pair's interval is the same on every run; widened to hold the point value. (None, None) without
    values or resamples. A latency's median is what it serves (inference.performance).

    A resample's percentile needs only two of its order statistics, and the k-th smallest of n draws from
    the values is the value at quantile U of them, U ~ Beta(k, n - k + 1) (the k-th of n uniforms); the next
    one lies above it by (1 - U) Beta(1, n - k). So each resample costs two beta draws, not n draws and a
    sort: the same distribution as resampling the values, at any n."""
    x = np.sort(np.asarray(values, np.float64))
    x = x[~np.isnan(x)]
    n = x.size
    if n_boot <= 0 or n == 0:
        return None, None
    rng = rng_for(seed, "percentile", q, n)
    h = (n - 1) * q / 100  # numpy's linear rule: between the k-th and (k+1)-th smallest, k = floor(h) + 1
    k, frac = int(h) + 1, h - int(h)
    u = rng.beta(k, n - k + 1, size=n_boot)
    stat = x[np.clip(np.ceil(n * u).astype(np.int64) - 1, 0, n - 1)]
    if frac > 0 and k < n:
        u_next = u + (1 - u) * rng.beta(1, n - k, size=n_boot)
        upper = x[np.clip(np.ceil(n * u_next).astype(np.int64) - 1, 0, n - 1)]
        stat = stat + frac * (upper - stat)
    low, high = np.percentile(stat, [2.5, 97.5])
    value = float(np.percentile(x, q))
    return float(min(low, value)), float(max(high, value))

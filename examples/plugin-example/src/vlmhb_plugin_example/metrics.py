"""word_f1: bag-of-words F1 of an OCR transcription, blind to reading order."""

from __future__ import annotations

from collections import Counter

import polars as pl

from metrics import metric


def _words(text: str) -> Counter:
    return Counter(text.casefold().split())


@metric("word_f1", higher_is_better=True, tasks=("ocr",))
def word_f1(table: pl.DataFrame) -> pl.DataFrame:
    """Bag-of-words F1 against the first reference (case-folded; reading order ignored)."""
    values = []
    for prediction, refs in zip(table["prediction"].fill_null("").to_list(), table["references"].to_list()):
        pred, ref = _words(prediction), _words(refs[0] if refs else "")
        common = sum((pred & ref).values())
        if not pred and not ref:
            values.append(1.0)
        elif not common:
            values.append(0.0)
        else:
            precision, recall = common / sum(pred.values()), common / sum(ref.values())
            values.append(2 * precision * recall / (precision + recall))
    return pl.DataFrame(
        {"sample_id": table["sample_id"].cast(pl.String), "value": pl.Series(values, dtype=pl.Float64)}
    )

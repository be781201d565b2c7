"""Key information extraction: field_f1 (with per-field correctness rows) and field_cer."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from metrics import _edit
from metrics._errors import MetricError
from metrics._registry import metric
from metrics._table import predictions, references, rows
from metrics._unicode import normalize

_DECODER = json.JSONDecoder()


def first_json_object(text: str) -> dict | None:
    """The first `{...}` in the text that parses as a JSON object (code fences around it are fine)."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def field_text(value) -> str:
    """A field value as text: strings as they are, null as '', anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _reference_fields(table: pl.DataFrame) -> list[dict[str, str]]:
    if "fields" in table.columns:
        raw = table.get_column("fields").cast(pl.String).fill_null("{}").to_list()
    else:  # the reference object as the first reference
        raw = [refs[0] if refs else "{}" for refs in references(table).to_list()]
    out = []
    for sample_id, text in zip(table.get_column("sample_id").to_list(), raw):
        try:
            fields = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as e:
            raise MetricError(
                f"sample '{sample_id}': reference fields are not JSON ({e}): {text[:80]!r}"
            ) from None
        if not isinstance(fields, dict):
            raise MetricError(
                f"sample '{sample_id}': reference fields must be a JSON object, got {type(fields).__name__}"
            )
        out.append({str(k): field_text(v) for k, v in fields.items()})
    return out


def _answers(table: pl.DataFrame) -> list[dict[str, str] | None]:
    out = []
    for text in predictions(table).to_list():
        found = first_json_object(text)
        out.append(None if found is None else {str(k): field_text(v) for k, v in found.items()})
    return out


def _non_empty(fields: dict[str, str]) -> dict[str, str]:
    return {k: normalize(v) for k, v in fields.items() if normalize(v)}


@metric("field_f1", higher_is_better=True, tasks=("kie",), columns=("prediction",))
def field_f1(table: pl.DataFrame) -> pl.DataFrame:
    """Per-sample F1 of the answer's fields against the reference's; rows with `field` F say whether
    F (non-empty in the reference) was extracted correctly."""
    ids = table.get_column("sample_id").cast(pl.String).to_list()
    sample_id, field, value = [], [], []
    for sid, ref, ans in zip(ids, _reference_fields(table), _answers(table)):
        ref_n = _non_empty(ref)
        pred_n = _non_empty(ans) if ans is not None else {}
        correct = {k for k, v in ref_n.items() if pred_n.get(k) == v}
        if ans is None:
            f1 = 0.0
        elif not ref_n and not pred_n:
            f1 = 1.0
        else:
            precision = len(correct) / len(pred_n) if pred_n else 0.0
            recall = len(correct) / len(ref_n) if ref_n else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        sample_id.append(sid), field.append(None), value.append(f1)
        for k in ref_n:
            sample_id.append(sid), field.append(k), value.append(float(k in correct))
    return pl.DataFrame(
        {
            "sample_id": sample_id,
            "value": pl.Series(value, dtype=pl.Float64),
            "field": pl.Series(field, dtype=pl.String),
        }
    )


@metric("field_cer", higher_is_better=False, aggregation="ratio", tasks=("kie",), columns=("prediction",))
def field_cer(table: pl.DataFrame) -> pl.DataFrame:
    """CER (jiwer, case-sensitive) of each non-empty reference field against the answer's value
    ('' when missing); the sample's row pools its fields' edits over their lengths."""
    row, field, hyp, ref = [], [], [], []
    for i, (r, a) in enumerate(zip(_reference_fields(table), _answers(table))):
        for k, v in r.items():
            if v.strip():
                row.append(i), field.append(k), ref.append(v), hyp.append((a or {}).get(k, ""))
    edits, ref_len, hyp_empty = _edit.char_edits(hyp, ref)
    ids = table.get_column("sample_id").cast(pl.String)
    per_field = pl.DataFrame(
        {
            "sample_id": ids.gather(row) if row else pl.Series([], dtype=pl.String),
            "value": _edit.error_rate(edits, ref_len, hyp_empty),
            "field": pl.Series(field, dtype=pl.String),
            "num": edits.astype(np.float64),
            "den": ref_len.astype(np.float64),
        }
    )
    num = np.bincount(row, weights=edits, minlength=len(table)).astype(np.float64)
    den = np.bincount(row, weights=ref_len, minlength=len(table)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den > 0, num / den, 0.0)
    per_sample = rows(table, value, field=pl.Series([None] * len(table), dtype=pl.String), num=num, den=den)
    return pl.concat([per_sample, per_field])

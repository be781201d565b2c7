"""score(): one metric over a table of predictions, as long rows."""

from __future__ import annotations

import polars as pl

from metrics._errors import MetricError
from metrics._registry import get_metric


def score(metric: str, table: pl.DataFrame) -> pl.DataFrame:
    """Rows sample_id, metric, value (Float64), then the metric's extra columns.

    Extra columns: num, den (Float64; cer, wer, field_cer: edits and reference length, pooled as
    sum(num) / sum(den)); field (String; field_f1, field_cer: null on the sample's own row, the
    field's name on its per-field rows); pred_class, label (String), n_classes (Int64)
    (accuracy, f1_macro: the mapped class, null when unmapped); stats (List[Float64]; bleu:
    sacrebleu's sufficient statistics, summed for corpus BLEU).
    """
    spec = get_metric(metric)
    if spec.scorer_env is not None:
        raise MetricError(
            f"metric '{metric}' is computed by the scorer '{spec.scorer_env}' in its own environment "
            "(vlmhyperbench.scorers.run_scorer), not in this process"
        )
    missing = [c for c in ("sample_id", *spec.columns) if c not in table.columns]
    if missing:
        raise MetricError(
            f"metric '{metric}' needs the column(s) {', '.join(missing)}; "
            f"the table has {', '.join(table.columns) or 'none'}"
        )
    out = spec.fn(table)
    extra = [c for c in out.columns if c not in ("sample_id", "value")]
    return out.select(
        pl.col("sample_id").cast(pl.String),
        pl.lit(metric, pl.String).alias("metric"),
        pl.col("value").cast(pl.Float64),
        *extra,
    )

"""Reading the score table: the columns every metric shares, with their defaults."""

from __future__ import annotations

import numpy as np
import polars as pl


def predictions(table: pl.DataFrame) -> pl.Series:
    """The prediction column as strings, '' where missing (a failed sample)."""
    return table.get_column("prediction").cast(pl.String).fill_null("")


def references(table: pl.DataFrame) -> pl.Series:
    """The references column as list[str], [] where missing."""
    refs = table.get_column("references")
    if refs.dtype == pl.String:  # a single reference per sample is accepted too
        return refs.map_elements(lambda r: [r], return_dtype=pl.List(pl.String))
    return refs.cast(pl.List(pl.String)).fill_null([])


def first_reference(table: pl.DataFrame) -> pl.Series:
    """The first reference of each sample, '' when it has none."""
    return references(table).list.first().fill_null("")


def pairs(table: pl.DataFrame) -> tuple[np.ndarray, pl.Series, pl.Series]:
    """(sample row, prediction, reference) for every reference of every sample."""
    refs = references(table)
    if (refs.list.len() == 1).all():  # the common case, without the explode
        return np.arange(len(table)), predictions(table), refs.list.first()
    long = (
        pl.DataFrame({"row": np.arange(len(table)), "p": predictions(table), "r": references(table)})
        .explode("r")
        .drop_nulls("r")
    )
    return long.get_column("row").to_numpy(), long.get_column("p"), long.get_column("r")


def rows(table: pl.DataFrame, value, **extra) -> pl.DataFrame:
    """One output row per sample: sample_id, value (Float64) and the extra columns."""
    return pl.DataFrame(
        {
            "sample_id": table.get_column("sample_id").cast(pl.String),
            "value": pl.Series(value, dtype=pl.Float64),
            **extra,
        }
    )

"""The prediction journal of one pair: append-only, it survives kill -9.

Each answer is one JSON line, written with a single ``os.write`` on an ``O_APPEND`` descriptor as it
arrives: once ``append`` returns, the line is in the kernel's page cache, so killing the process at
any moment loses at most the requests still in flight. ``fsync=True`` also survives a power cut or
an OS crash, at the cost of one disk flush per answer, taken on the event loop that times the
other requests (bench/bench_inference.py --store: 3.6 us per append without, 145 us with fsync on the
development VM, and milliseconds on a busy disk). It is off by default, and the journal is fsynced
once on close: a benchmark whose machine died is rerun with --resume anyway.

The journal may hold several lines for one sample (a resume re-asks failed samples, a kill can cut the
last line). Reading it back: a last line without its newline is ignored (and cut off before the next
append), and per ``sample_id`` the last answered line wins; an error line never overrides an answered
one, so a sample is answered once in ``predictions/MODEL/DATASET.parquet`` whatever happened.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from vlmhb_core.atomic import write_parquet_atomic
from vlmhyperbench.inference.chat import Answer
from vlmhyperbench.results import fence

try:
    from orjson import OPT_SERIALIZE_NUMPY
    from orjson import dumps as _orjson_dumps
    from orjson import loads as _loads

    def _dumps(obj: Any) -> bytes:
        return _orjson_dumps(obj, option=OPT_SERIALIZE_NUMPY)
except ImportError:  # pragma: no cover
    import json as _json

    _loads = _json.loads

    def _dumps(obj: Any) -> bytes:
        return _json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str).encode()


__all__ = ["PredictionJournal", "PREDICTION_SCHEMA"]

PREDICTION_SCHEMA: dict[str, pl.DataType] = {
    # docs/reference/results.md: predictions/MODEL/DATASET.parquet, in its order
    "sample_id": pl.String,
    "doc_class": pl.String,
    "question_type": pl.String,
    "prompt": pl.String,
    "prediction": pl.String,
    "references": pl.List(pl.String),
    "error": pl.String,
    "attempts": pl.Int64,
    "ttft_s": pl.Float64,
    "latency_s": pl.Float64,
    "output_tokens": pl.Int64,
    # extensions: the rest of the per-sample timing, and what a throughput window is built from
    "tpot_s": pl.Float64,
    "itl_s": pl.Float64,
    "queue_wait_s": pl.Float64,
    "sent_at": pl.Float64,
    "finished_at": pl.Float64,
    "session_start": pl.Float64,
    # the sample's page images, and the DPI of rendered PDF pages (null: image files)
    "pages": pl.Int64,
    "dpi": pl.Int64,
    # usage.prompt_tokens, where the server reports usage (text and image tokens of the request)
    "input_tokens": pl.Int64,
}
_ANSWER_FIELDS = (
    "sample_id",
    "prediction",
    "error",
    "attempts",
    "ttft_s",
    "latency_s",
    "tpot_s",
    "itl_s",
    "output_tokens",
    "queue_wait_s",
    "sent_at",
    "finished_at",
    "session_start",
    "input_tokens",
)


class PredictionJournal:
    """Append answers to ``journal_path`` (JSONL) as they arrive; read them back deduplicated."""

    def __init__(self, journal_path: str | Path, *, fsync: bool = False):
        self.path = Path(journal_path)
        self.fsync = fsync
        self._fd: int | None = None

    # writing

    def open(self) -> PredictionJournal:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            _cut_partial_line(fd)
            self._fd = fd
        return self

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def __enter__(self) -> PredictionJournal:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, answer: Answer, **row: Any) -> None:
        """Journal one answer with its row fields (``answer.meta``, then ``row`` over it; no row field
        can replace an answer field).

        The row fields the predictions need are doc_class, question_type, prompt and references; pass
        them in ``RequestItem.meta`` and ``on_answer=store.append`` does the rest.
        """
        record = dict(answer.meta) if answer.meta else {}
        if row:
            record.update(row)
        for name in _ANSWER_FIELDS:  # the answer's own fields win over same-named row fields
            record[name] = getattr(answer, name)
        self.write_record(record)

    def write_record(self, record: dict[str, Any]) -> None:
        fence.check()  # a pool job taken for dead writes nothing more (results.fence)
        if self._fd is None:
            self.open()
        line = _dumps(record) + b"\n"
        written = os.write(self._fd, line)
        while written < len(line):  # a regular file takes it whole unless the disk is full
            written += os.write(self._fd, line[written:])
        if self.fsync:
            os.fsync(self._fd)

    # reading

    def load(self) -> pl.DataFrame:
        """One row per sample (PREDICTION_SCHEMA columns, then any other meta field), in journal order."""
        data = self.path.read_bytes() if self.path.exists() else b""
        data = data[: data.rfind(b"\n") + 1]  # a line cut by a kill has no newline: it never happened
        if not data:
            return pl.DataFrame(schema=PREDICTION_SCHEMA)
        try:
            df = pl.read_ndjson(
                io.BytesIO(data), schema_overrides=PREDICTION_SCHEMA, infer_schema_length=None
            )
        except Exception:  # a damaged line inside (a disk error, a foreign writer): parse what parses
            records = []
            for line in data.splitlines():
                try:
                    records.append(_loads(line))
                except ValueError:
                    continue
            df = (
                pl.DataFrame(records, schema_overrides=PREDICTION_SCHEMA, infer_schema_length=None)
                if records
                else pl.DataFrame(schema=PREDICTION_SCHEMA)
            )
        for name, dtype in PREDICTION_SCHEMA.items():
            if name not in df.columns:
                df = df.with_columns(pl.lit(None, dtype=dtype).alias(name))
            elif df.schema[name] != dtype:
                df = df.with_columns(pl.col(name).cast(dtype, strict=False))
        df = df.filter(pl.col("sample_id").is_not_null()).with_row_index("_line")
        # per sample: the last answered line, else the last line
        winners = (
            df.with_columns(pl.col("error").is_null().alias("_answered"))
            .sort(["_answered", "_line"])
            .unique("sample_id", keep="last", maintain_order=False)
            .sort("_line")
            .drop("_line", "_answered")
        )
        extra = [c for c in winners.columns if c not in PREDICTION_SCHEMA]
        return winners.select(*PREDICTION_SCHEMA, *extra)

    def done_ids(self) -> set[str]:
        """The samples answered so far: a resume asks every other one (the failed ones included)."""
        if not self.path.exists():
            return set()
        done: set[str] = set()
        with open(self.path, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break
                try:
                    record = _loads(line)
                except ValueError:
                    continue
                if record.get("error") is None and record.get("sample_id") is not None:
                    done.add(str(record["sample_id"]))
        return done

    def to_parquet(self, path: str | Path, *, columns: Iterable[str] | None = None) -> pl.DataFrame:
        """Write the deduplicated predictions to ``path`` atomically (a temporary file, then rename).

        ``columns`` defaults to every column: the contract's predictions columns, the timing extensions,
        then the row fields the journal holds (task fields such as label, classes, fields, order).
        """
        df = self.load()
        if columns is not None:
            df = df.select(list(columns))
        fence.check()
        write_parquet_atomic(df, path)
        return df


def _cut_partial_line(fd: int) -> None:
    """Drop a last line without its newline (the write a kill cut), so the next append starts clean."""
    size = os.fstat(fd).st_size
    if size == 0:
        return
    pos = size
    block = 1 << 16
    while pos > 0:
        start = max(0, pos - block)
        chunk = os.pread(fd, pos - start, start)
        if pos == size and chunk.endswith(b"\n"):
            return
        i = chunk.rfind(b"\n")
        if i >= 0:
            os.ftruncate(fd, start + i + 1)
            return
        pos = start
    os.ftruncate(fd, 0)

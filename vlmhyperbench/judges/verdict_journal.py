"""The verdict journal of one (judge, model, dataset): every answer of the judge, append-only.

One JSON line per judge request, written as it arrives (the prediction journal's writer: one `os.write`
on an O_APPEND descriptor, so a kill loses at most the requests in flight): the question's `key`,
sample_id (a batched question's first sample), kind (grade, extract, or a benchmark's question), the prompt
(and the messages after it), whether images went with it, the judge's raw answer, the verdict read from it
(null when unparseable; a batched question's: the JSON list of its samples' verdicts) and why not
(`verdict_error`), the request's error (null when the judge answered), `attempt` (1: asked; 2: asked again
after an unparseable answer), and the request's timings and tokens (latency_s, ttft_s, output_tokens,
prompt_tokens...).

Reading it back, per key and in journal order (`states`): a line whose request failed teaches nothing; a
line with attempt 1 starts the question afresh; a parseable answer is the verdict; two unparseable answers
in a row are final (a judge error). So a resumed run asks only the questions without a final state, and
an unparseable answer cut off from its second attempt by a kill gets exactly that second attempt.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from vlmhyperbench.inference import Answer, PredictionJournal

try:
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads

VERDICT_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String,
    "sample_id": pl.String,
    "kind": pl.String,
    "attempt": pl.Int64,
    "verdict": pl.String,
    "verdict_error": pl.String,
    "raw": pl.String,
    "error": pl.String,
    "prompt": pl.String,
    "images": pl.Boolean,
    "attempts": pl.Int64,
    "ttft_s": pl.Float64,
    "latency_s": pl.Float64,
    "tpot_s": pl.Float64,
    "itl_s": pl.Float64,
    "output_tokens": pl.Int64,
    "prompt_tokens": pl.Int64,
    "queue_wait_s": pl.Float64,
    "sent_at": pl.Float64,
    "finished_at": pl.Float64,
    "session_start": pl.Float64,
    "judge": pl.String,
}
UNPARSEABLE_FINAL = 2
"""Unparseable answers after which a question is a judge error (asked once, then once more)."""


@dataclass
class KeyState:
    """Where one question to the judge stands."""

    verdict: str | None = None
    unparseable: int = 0
    """Unparseable answers since the question was last asked afresh."""
    last_error: str | None = None
    """Why the last answer (or request) gave no verdict."""

    @property
    def final(self) -> bool:
        """A verdict, or a judge error: nothing more to ask."""
        return self.verdict is not None or self.unparseable >= UNPARSEABLE_FINAL

    @property
    def next_attempt(self) -> int:
        return 2 if self.unparseable == 1 and self.verdict is None else 1


class VerdictJournal:
    """Append the judge's answers to PATH (JSONL) as they arrive; read them back (see the module doc)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._writer = PredictionJournal(self.path)

    def __enter__(self) -> VerdictJournal:
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()

    def append(
        self,
        answer: Answer,
        *,
        key: str,
        kind: str,
        attempt: int,
        prompt: str,
        images: bool,
        judge: str,
        verdict: str | None,
        verdict_error: str | None,
    ) -> None:
        record: dict[str, Any] = {
            "key": key,
            "sample_id": answer.sample_id,
            "kind": kind,
            "attempt": attempt,
            "verdict": verdict,
            "verdict_error": verdict_error,
            "raw": answer.prediction,
            "error": answer.error,
            "prompt": prompt,
            "images": images,
            "attempts": answer.attempts,
            "ttft_s": answer.ttft_s,
            "latency_s": answer.latency_s,
            "tpot_s": answer.tpot_s,
            "itl_s": answer.itl_s,
            "output_tokens": answer.output_tokens,
            "prompt_tokens": answer.input_tokens,
            "queue_wait_s": answer.queue_wait_s,
            "sent_at": answer.sent_at,
            "finished_at": answer.finished_at,
            "session_start": answer.session_start,
            "judge": judge,
        }
        self._writer.write_record(record)

    def load(self) -> pl.DataFrame:
        """Every complete line, in journal order (VERDICT_SCHEMA)."""
        data = self.path.read_bytes() if self.path.exists() else b""
        data = data[: data.rfind(b"\n") + 1]  # a line cut by a kill never happened
        if not data:
            return pl.DataFrame(schema=VERDICT_SCHEMA)
        try:
            df = pl.read_ndjson(io.BytesIO(data), schema=VERDICT_SCHEMA)
        except Exception:  # a damaged line inside: keep what parses
            records = []
            for line in data.splitlines():
                try:
                    records.append(_loads(line))
                except ValueError:
                    continue
            df = pl.DataFrame(records, schema=VERDICT_SCHEMA, strict=False) if records else None
            if df is None:
                return pl.DataFrame(schema=VERDICT_SCHEMA)
        return df.filter(pl.col("key").is_not_null())

    def states(self, lines: pl.DataFrame | None = None) -> dict[str, KeyState]:
        """Each question's state after the journal's lines (LINES: `load()`'s, if already read)."""
        lines = self.load() if lines is None else lines
        out: dict[str, KeyState] = {}
        for key, attempt, verdict, verdict_error, error in lines.select(
            "key", "attempt", "verdict", "verdict_error", "error"
        ).iter_rows():
            state = out.get(key)
            if state is None:
                state = out[key] = KeyState()
            if error is not None:  # the request failed: nothing learned
                state.last_error = (
                    state.last_error if state.verdict is not None else f"request failed: {error}"
                )
                continue
            if attempt == 1:
                state.verdict, state.unparseable = None, 0
            if verdict is not None:
                state.verdict, state.last_error = verdict, None
            else:
                state.unparseable += 1
                state.last_error = verdict_error or "unparseable"
        return out

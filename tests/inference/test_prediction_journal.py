"""PredictionJournal (journal, dedup, crash tolerance, resume) and the performance row built from it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vlmhyperbench.inference.chat import Answer, Endpoint, RequestItem, run_requests
from vlmhyperbench.inference.performance import performance_row
from vlmhyperbench.inference.prediction_journal import PREDICTION_SCHEMA, PredictionJournal

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_COLUMNS = [
    "sample_id",
    "doc_class",
    "question_type",
    "prompt",
    "prediction",
    "references",
    "error",
    "attempts",
    "ttft_s",
    "latency_s",
    "output_tokens",
]


def answered(sid: str, prediction: str = "yes", **kw) -> Answer:
    base = dict(
        ttft_s=0.05,
        latency_s=0.08,
        tpot_s=0.005,
        itl_s=0.005,
        output_tokens=7,
        queue_wait_s=0.0,
        sent_at=100.0,
        finished_at=100.1,
        session_start=99.0,
        meta={
            "doc_class": "invoice",
            "question_type": "total",
            "prompt": "Total?",
            "references": ["12", "12.00"],
        },
    )
    base.update(kw)
    return Answer(sid, prediction, None, 1, **base)


def failed(sid: str, error: str = "HTTP 500: boom") -> Answer:
    return Answer(
        sid,
        None,
        error,
        3,
        meta={"doc_class": "invoice", "question_type": "total", "prompt": "Total?", "references": ["12"]},
    )


def test_parquet_has_the_contract_columns_and_is_written_atomically(tmp_path):
    store = PredictionJournal(tmp_path / "j.jsonl")
    with store:
        store.append(answered("a"))
        store.append(failed("b"))
        store.append(answered("c", "no"), references=["x"])  # row fields override meta
    out = tmp_path / "predictions" / "m" / "d.parquet"
    store.to_parquet(out)
    df = pl.read_parquet(out)
    assert df.columns[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert {"tpot_s", "itl_s", "queue_wait_s", "sent_at", "finished_at"} <= set(df.columns)
    assert df.schema["references"] == pl.List(pl.String)
    assert dict(df.schema) == PREDICTION_SCHEMA
    assert df["sample_id"].to_list() == ["a", "b", "c"]
    assert df.row(1, named=True)["error"] == "HTTP 500: boom" and df.row(1, named=True)["ttft_s"] is None
    assert df.row(2, named=True)["references"] == ["x"]
    assert [p.name for p in out.parent.iterdir()] == ["d.parquet"]  # no temporary left behind


def test_a_truncated_last_line_is_ignored_and_cut_before_the_next_append(tmp_path):
    path = tmp_path / "j.jsonl"
    with PredictionJournal(path) as store:
        store.append(answered("a"))
        store.append(answered("b"))
    with open(path, "ab") as f:  # what a kill -9 in the middle of a write leaves
        f.write(b'{"sample_id": "c", "prediction": "half')
    store = PredictionJournal(path)
    assert store.load()["sample_id"].to_list() == ["a", "b"]
    assert store.done_ids() == {"a", "b"}
    with store:
        store.append(answered("c"))
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3 and all(json.loads(line) for line in lines)
    assert store.load()["sample_id"].to_list() == ["a", "b", "c"]


def test_duplicates_resolve_to_the_last_answer_and_errors_never_override_one(tmp_path):
    with PredictionJournal(tmp_path / "j.jsonl") as store:
        store.append(answered("a", "first"))
        store.append(failed("a"))  # a later failure must not erase the answer
        store.append(failed("b", "timeout"))
        store.append(answered("b", "second try"))  # a resume answered it
        store.append(answered("c", "old"))
        store.append(answered("c", "new"))
        store.append(failed("d", "one"))
        store.append(failed("d", "two"))
    df = store.load()
    assert df.height == 4 and df["sample_id"].n_unique() == 4
    got = {r["sample_id"]: (r["prediction"], r["error"]) for r in df.iter_rows(named=True)}
    assert got == {"a": ("first", None), "b": ("second try", None), "c": ("new", None), "d": (None, "two")}
    assert store.done_ids() == {"a", "b", "c"}


def test_a_damaged_line_inside_costs_only_itself(tmp_path):
    path = tmp_path / "j.jsonl"
    with PredictionJournal(path) as store:
        store.append(answered("a"))
    with open(path, "ab") as f:
        f.write(b"\x00\x00garbage{\n")
    with PredictionJournal(path) as store:
        store.append(answered("b"))
    assert store.load()["sample_id"].to_list() == ["a", "b"] and store.done_ids() == {"a", "b"}


def test_an_empty_or_missing_journal_loads_as_no_rows(tmp_path):
    store = PredictionJournal(tmp_path / "none.jsonl")
    assert store.load().height == 0 and store.done_ids() == set()
    store.to_parquet(tmp_path / "p.parquet")
    assert pl.read_parquet(tmp_path / "p.parquet").columns[:11] == CONTRACT_COLUMNS


def test_fsync_mode_writes_the_same_lines(tmp_path):
    with PredictionJournal(tmp_path / "j.jsonl", fsync=True) as store:
        store.append(answered("a"))
    assert store.done_ids() == {"a"}


# crash safety and resume, against the real synthetic server and a process killed with SIGKILL


def _synthetic():
    from tests.support import synthetic_server

    return synthetic_server


@pytest.fixture(scope="module")
def server():
    with _synthetic().launch("--ttft-ms", "10", "--itl-ms", "2", "--tokens", "4") as url:
        yield url


def server_requests(url: str) -> int:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=5) as resp:
        return json.loads(resp.read())["requests"]


N = 300
CONCURRENCY = 8
RUN = textwrap.dedent("""
    import asyncio, sys
    from vlmhyperbench.inference.chat import Endpoint, RequestItem, run_requests
    from vlmhyperbench.inference.prediction_journal import PredictionJournal

    url, journal, n, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = PredictionJournal(journal)
    done = store.done_ids()
    items = (RequestItem(str(i), f"#ttft=20 q{i}", meta={"doc_class": "d", "question_type": "q",
                                                        "prompt": f"q{i}", "references": [str(i)]})
             for i in range(n) if str(i) not in done)
    with store:
        stats = asyncio.run(run_requests(Endpoint(base_url=url, model="synthetic"), items,
                                         concurrency=concurrency, timeout_s=10, on_answer=store.append))
    print(stats.requests, flush=True)
""")


def run_session(url: str, journal: Path, tmp_path: Path) -> subprocess.Popen:
    script = tmp_path / "session.py"
    script.write_text(RUN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), url, str(journal), str(N), str(CONCURRENCY)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_kill_9_loses_only_requests_in_flight_and_resume_asks_only_what_is_missing(server, tmp_path):
    journal = tmp_path / "pred.jsonl"
    before = server_requests(server)
    proc = run_session(server, journal, tmp_path)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not journal.exists() or journal.stat().st_size < 20_000):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    sent_first = server_requests(server) - before
    store = PredictionJournal(journal)
    kept = store.done_ids()
    assert 0 < len(kept) < N, "the kill should land mid-run"
    assert len(kept) == store.load().height  # every journalled line parses and no sample twice
    # whatever the first session sent and did not keep was in flight at the kill
    assert sent_first - len(kept) <= CONCURRENCY

    proc = run_session(server, journal, tmp_path)  # --resume
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    sent_second = server_requests(server) - before - sent_first
    assert sent_second == N - len(kept) == int(out)  # only the missing ones, stored answers never again
    assert sent_first + sent_second <= N + CONCURRENCY
    df = store.load()
    assert df.height == N and df["sample_id"].n_unique() == N and df["error"].null_count() == N
    assert sorted(df["sample_id"].cast(int).to_list()) == list(range(N))

    proc = run_session(server, journal, tmp_path)  # resuming a complete run asks nothing
    out, _ = proc.communicate(timeout=60)
    assert int(out) == 0 and server_requests(server) - before == sent_first + sent_second

    row = performance_row(store.to_parquet(tmp_path / "p.parquet"), concurrency=CONCURRENCY)
    # two sessions: the window is the sum of both, not the span from the first send to the last end
    assert row["window_s"] < df["finished_at"].max() - df["sent_at"].min()
    assert row["requests"] == N and row["errors"] == 0


def test_failed_samples_are_asked_again_on_resume(server, tmp_path):
    store = PredictionJournal(tmp_path / "j.jsonl")
    prompts = {"0": "q", "1": "#status=503 q", "2": "q"}
    with store:
        asyncio.run(
            run_requests(
                Endpoint(base_url=server, model="synthetic"),
                [RequestItem(k, v) for k, v in prompts.items()],
                concurrency=2,
                timeout_s=5,
                max_attempts=1,
                on_answer=store.append,
            )
        )
    assert store.done_ids() == {"0", "2"}
    asked: list[str] = []
    with store:
        asyncio.run(
            run_requests(
                Endpoint(base_url=server, model="synthetic"),
                [RequestItem(k, "q") for k in prompts if k not in store.done_ids()],
                concurrency=2,
                timeout_s=5,
                on_answer=lambda a: (asked.append(a.sample_id), store.append(a)),
            )
        )
    assert asked == ["1"] and store.done_ids() == {"0", "1", "2"}


# profiling


def test_performance_row_percentiles_and_throughput():
    ttft = [0.01 * i for i in range(1, 11)]
    df = pl.DataFrame(
        {
            "sample_id": [str(i) for i in range(12)],
            "error": [None] * 10 + ["HTTP 500", "timeout"],
            "ttft_s": ttft + [None, None],
            "latency_s": [t + 0.1 for t in ttft] + [None, None],
            "tpot_s": [0.005] * 10 + [None, None],
            "itl_s": [0.004] * 10 + [None, None],
            "output_tokens": [10] * 10 + [None, None],
            "queue_wait_s": [0.0] * 12,
            # two sessions of 2 s each, an hour apart
            "sent_at": [1000.0] * 6 + [5000.0] * 6,
            "finished_at": [1001.0] * 5 + [1002.0] + [5001.0] * 5 + [5002.0],
            "session_start": [999.0] * 6 + [4999.0] * 6,
        }
    )
    row = performance_row(df, concurrency=4)
    assert row["requests"] == 12 and row["errors"] == 2 and row["concurrency"] == 4
    assert row["ttft_p50_s"] == pytest.approx(np.percentile(ttft, 50)) == pytest.approx(0.055)
    assert row["ttft_p90_s"] == pytest.approx(0.091) and row["ttft_p99_s"] == pytest.approx(0.0991)
    assert row["latency_p90_s"] == pytest.approx(0.191)
    assert row["tpot_p50_s"] == pytest.approx(0.005) and row["itl_p50_s"] == pytest.approx(0.004)
    assert row["window_s"] == pytest.approx(4.0)
    assert row["requests_per_s"] == pytest.approx(10 / 4) and row["output_tokens_per_s"] == pytest.approx(25)
    assert performance_row(df, concurrency=4, window=(0.0, 2.0))["requests_per_s"] == pytest.approx(5)

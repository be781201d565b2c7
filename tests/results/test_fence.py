"""The fence of a model's files: only the per-model run that owns them writes them (results.fence). A job
taken for dead that comes back late writes nothing more over the run that took its model over."""

from __future__ import annotations

import threading
import time

import pytest

from vlmhyperbench.inference.chat import Answer
from vlmhyperbench.inference.prediction_journal import PredictionJournal
from vlmhyperbench.results import ModelResult, PairKey, RunFolder, fence
from vlmhyperbench.results.fence import FencedOff


@pytest.fixture
def run(tmp_path):
    yield RunFolder(tmp_path / "run")
    fence.release()


def answer(sid: str) -> Answer:
    return Answer(sample_id=sid, prediction="yes", error=None, attempts=1)


def test_a_job_writes_while_it_owns_the_model_and_nothing_once_it_lost_it(run):
    key = PairKey(model="m", dataset="d")
    fence.claim(run.owner_file("m"), "run-1")
    fence.hold(run.owner_file("m"), "run-1", wait_s=1)
    journal = PredictionJournal(run.journal(key))
    journal.append(answer("s1"))
    run.save_job_outcome("m", ModelResult())

    fence.claim(run.owner_file("m"), "run-2")  # the benchmark gave the model to another host
    with pytest.raises(FencedOff, match="run run-2 does"):
        journal.append(answer("s2"))
    with pytest.raises(FencedOff):
        run.save_job_outcome("m", ModelResult())
    with pytest.raises(FencedOff):
        journal.to_parquet(run.predictions(key))
    journal.close()
    assert PredictionJournal(run.journal(key)).done_ids() == {"s1"}
    assert not run.predictions(key).exists()

    fence.claim(run.owner_file("m"), None, note="given up")
    with pytest.raises(FencedOff, match="gave it up"):
        fence.check()


def test_a_job_waits_for_its_claim_and_refuses_a_model_another_run_owns(run):
    path = run.owner_file("m")
    threading.Timer(0.3, fence.claim, (path, "run-1")).start()
    started = time.monotonic()
    fence.hold(path, "run-1", wait_s=10)
    assert time.monotonic() - started < 5
    fence.release()
    with pytest.raises(FencedOff, match="run run-1 does"):
        fence.hold(path, "run-0", wait_s=0.5)


def test_an_unfenced_process_is_never_stopped(run):
    fence.claim(run.owner_file("m"), "someone-else")
    journal = PredictionJournal(run.journal(PairKey(model="m", dataset="d")))
    journal.append(answer("s1"))  # a local run holds no fence
    journal.close()


def test_a_job_that_cannot_see_the_claim_says_the_results_folder_may_not_be_shared(run):
    with pytest.raises(FencedOff, match="is the results folder shared with this host at the same path"):
        fence.hold(run.owner_file("m"), "run-1", wait_s=0.2)

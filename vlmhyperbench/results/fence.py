"""Who may write a model's files in a run folder: the one per-model flow run that owns them.

On a pool, a model's job may be taken for dead (its host stopped sending heartbeats) and its model given
to another host while the first still lives: a network partition, a frozen VM. The benchmark records the
owner, pairs/MODEL/owner.json (the flow-run id it waits for), before it waits, and clears it when it gives
the run up. A job writes only while it is the owner:

    claim(path, flow_run_id)          the benchmark, after creating the run (None: nobody, for now)
    hold(path, flow_run_id)           the job, first thing: waits for its claim, then fences this process
    check()                           before every write of a fenced process (journal lines, predictions,
                                      scores, performance, job outcome): FencedOff once it lost the model

A process that never held a fence (a local run, a test) is never stopped. The check reads one small file
(microseconds; on NFS an attribute revalidation), so it runs before every answer is journaled: a host that
comes back late writes at most the answer that was on its way.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from vlmhb_core.atomic import atomic_write
from vlmhb_core.errors import BenchError
from vlmhyperbench.results.records import now_iso


class FencedOff(BenchError):
    """This process's per-model run no longer owns the model's files: another run (or nobody) does."""


@dataclass(frozen=True)
class Fence:
    owner_file: Path
    flow_run_id: str

    def owner(self) -> str | None:
        return read_owner(self.owner_file)

    def check(self) -> None:
        owner = self.owner()
        if owner is None and not self.owner_file.exists():
            raise FencedOff(
                f"{self.owner_file} does not exist here: is the results folder shared with this host at the "
                "same path? (docs/guides/production.md, Shared results); nothing is written"
            )
        if owner != self.flow_run_id:
            raise FencedOff(
                f"the per-model run {self.flow_run_id} no longer owns {self.owner_file.parent}: "
                + (f"run {owner} does" if owner else "the benchmark gave it up")
                + " (it was taken for dead); nothing more is written"
            )


_held: Fence | None = None


def read_owner(path: Path) -> str | None:
    try:
        return json.loads(path.read_bytes()).get("flow_run_id")
    except (OSError, ValueError):
        return None


def claim(path: Path, flow_run_id: str | None, note: str = "") -> None:
    """Makes FLOW_RUN_ID the owner of the files that PATH (RunFolder.owner_file) guards (None: no run may
    write them)."""
    record = {"flow_run_id": flow_run_id, "since": now_iso()} | ({"note": note} if note else {})
    atomic_write(path, json.dumps(record))


def hold(path: Path, flow_run_id: str, wait_s: float = 60.0) -> Fence:
    """Fences this process to the files PATH guards, as FLOW_RUN_ID. The benchmark claims the run right
    after it creates it, before a worker can start it; WAIT_S covers a shared filesystem's delay (an
    earlier run's claim may still show). Raises FencedOff when another run, or nobody, owns them by then."""
    global _held
    fence = Fence(Path(path), flow_run_id)
    deadline = time.monotonic() + wait_s
    while fence.owner() != flow_run_id and time.monotonic() < deadline:
        time.sleep(0.5)
    fence.check()
    _held = fence
    return fence


def release() -> None:
    """Unfences this process (a test's process that held a fence)."""
    global _held
    _held = None


def check() -> None:
    """Raises FencedOff when this process holds a fence it has lost; does nothing in an unfenced one."""
    if _held is not None:
        _held.check()

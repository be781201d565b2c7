"""Progress of one pair's inference: a Prefect progress artifact and a terminal bar that move as samples
complete. Updates are throttled so that a fast model is never slowed down by its own progress."""

from __future__ import annotations

import asyncio
import sys
import time

from prefect import get_run_logger

from vlmhb_core.console import TERMINAL

_CONSOLE_PROGRESS = None  # one rich Progress shared by the pairs that run side by side
KEEP_BARS = 12
"""Finished bars stay on screen while there are at most this many; beyond, a finished pair's bar goes
(its log line stays), so that a run of hundreds of models shows the pairs in progress."""


def _terminal():
    global _CONSOLE_PROGRESS
    if _CONSOLE_PROGRESS is None and sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        _CONSOLE_PROGRESS = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        _CONSOLE_PROGRESS.start()
    return _CONSOLE_PROGRESS


class PairProgress:
    """Counts answered samples of one pair; call `advance()` per answer and `close()` at the end.

    What reaches the Prefect API is paced by time, not by samples, so that a pair costs the API the same
    few calls whether it has ten samples or ten thousand: the progress artifact is created only once the
    pair has run for ARTIFACT_AFTER_S (a pair done sooner shows its result instead), then updated at most
    every MIN_INTERVAL_S. Where no terminal bar shows progress (a pipe, a CI log), a line as each quarter of
    the samples is passed, and at most every LOG_EVERY_S between (a long pair still shows it is alive)."""

    ARTIFACT_AFTER_S = 5.0
    LOG_EVERY_S = 300.0
    QUARTERS = (0.25, 0.5, 0.75)

    def __init__(self, name: str, total: int, done: int = 0, min_interval_s: float = 1.0):
        self.name, self.total, self.done = name, max(total, 1), done
        self.min_interval_s = min_interval_s
        self._started = self._last_log = time.monotonic()
        self._quarter = sum(done >= q * self.total for q in self.QUARTERS)
        self._last_push = float("-inf")  # the first push comes as soon as ARTIFACT_AFTER_S has passed
        self._pending = None
        self._artifact_id = None
        self._creating = None
        self._bar = _terminal()
        self._bar_task = self._bar.add_task(name, total=total, completed=done) if self._bar else None

    async def start(self) -> None:
        """Kept for the callers' symmetry: nothing reaches the API before the pair has run a while."""

    def advance(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._bar_task, completed=self.done)
        now = time.monotonic()
        quarter = sum(self.done >= q * self.total for q in self.QUARTERS)
        if (
            self._bar is None
            and self.done < self.total
            and (quarter > self._quarter or now - self._last_log >= self.LOG_EVERY_S)
        ):
            self._last_log, self._quarter = now, quarter
            get_run_logger().info("%s: %d/%d samples", self.name, self.done, self.total, extra=TERMINAL)
        if now - self._started < self.ARTIFACT_AFTER_S or now - self._last_push < self.min_interval_s:
            return
        self._last_push = now
        if self._artifact_id is None:
            if self._creating is None:
                self._creating = asyncio.ensure_future(self._create())
            return
        self._push()

    async def _create(self) -> None:
        from prefect.artifacts import acreate_progress_artifact

        try:
            self._artifact_id = await acreate_progress_artifact(
                progress=100.0 * self.done / self.total, description=f"inference progress of {self.name}"
            )
        except Exception:  # progress is a courtesy: never fail a pair over it
            self._artifact_id = None

    def _push(self) -> None:
        from prefect.artifacts import aupdate_progress_artifact

        if self._pending is not None and not self._pending.done():
            return  # one update in flight at a time
        self._pending = asyncio.ensure_future(
            aupdate_progress_artifact(self._artifact_id, progress=100.0 * self.done / self.total)
        )

    async def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._bar_task, completed=self.done)
            if len(self._bar.tasks) > KEEP_BARS:
                self._bar.remove_task(self._bar_task)
        if self._creating is not None:
            await self._creating
        if self._artifact_id is None:
            return
        from prefect.artifacts import aupdate_progress_artifact

        try:
            if self._pending is not None:
                await self._pending
            await aupdate_progress_artifact(self._artifact_id, progress=100.0 * self.done / self.total)
        except Exception:
            pass


def stop_terminal() -> None:
    """Ends the terminal bars (before the leaderboard is printed)."""
    global _CONSOLE_PROGRESS
    if _CONSOLE_PROGRESS is not None:
        _CONSOLE_PROGRESS.stop()
        _CONSOLE_PROGRESS = None

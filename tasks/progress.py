"""Progress of one pair's inference: a Prefect progress artifact and a terminal bar that move as samples
complete. Updates are throttled so that a fast model is never slowed down by its own progress."""

from __future__ import annotations

import sys
import time

from prefect import get_run_logger

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
    """Counts answered samples of one pair; call `advance()` per answer and `close()` at the end."""

    def __init__(self, name: str, total: int, done: int = 0, min_interval_s: float = 1.0):
        self.name, self.total, self.done = name, max(total, 1), done
        self.min_interval_s = min_interval_s
        self._last_push = 0.0
        self._pending = None
        self._artifact_id = None
        self._logged_decile = done * 10 // self.total
        self._bar = _terminal()
        self._bar_task = self._bar.add_task(name, total=total, completed=done) if self._bar else None

    async def start(self) -> None:
        from prefect.artifacts import acreate_progress_artifact

        self._last_push = time.monotonic()  # a pair done within the interval costs two calls, not three
        try:
            self._artifact_id = await acreate_progress_artifact(
                progress=100.0 * self.done / self.total, description=f"inference progress of {self.name}"
            )
        except Exception:  # progress is a courtesy: never fail a pair over it
            self._artifact_id = None

    def advance(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._bar_task, completed=self.done)
        decile = self.done * 10 // self.total
        if self._bar is None and decile > self._logged_decile:
            self._logged_decile = decile
            get_run_logger().info("%s: %d/%d samples", self.name, self.done, self.total)
        now = time.monotonic()
        if self._artifact_id is not None and now - self._last_push >= self.min_interval_s:
            self._last_push = now
            self._push()

    def _push(self) -> None:
        import asyncio

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

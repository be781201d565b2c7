"""The quiet terminal of a command that runs flows: the plan, each model's progress, its problems, the
leaderboard and where the results are; Prefect's own records (flow and task runs beginning and finishing,
"View at" links, the temporary API's notices) go to the run's log file (RUN_DIR/logs/run.log) and, as
always, to the Prefect UI. `-v` shows everything on the terminal as Prefect prints it.

What the terminal shows (QuietConsole): records marked `extra=TERMINAL` (vlmhb_core.console), and warnings
and errors from outside the flow and task runs (a Prefect API that does not answer, a library's warning).
Once the run is interrupted, nothing: the command's last line says how it ended and how to resume.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from environments.process import STOPPING

RUN_LOG = "logs/run.log"
_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
BUFFERED = 2000
"""Records kept in memory until the run folder exists (the temporary API starts before it)."""


class QuietConsole(logging.Filter):
    """Lets through what the quiet terminal shows (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if STOPPING.is_set():
            return False
        if getattr(record, "terminal", False):
            return True
        return record.levelno >= logging.WARNING and not record.name.startswith(_RUN_LOGGERS)


class QuietFormat(logging.Formatter):
    """The terminal's own lines as plain text (`warning: ` before a problem); any other record as Prefect
    formats it."""

    def __init__(self, prefect: logging.Formatter | None):
        super().__init__()
        self.prefect = prefect

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "terminal", False) and self.prefect is not None:
            return self.prefect.format(record)
        text = record.getMessage()
        return f"{record.levelname.lower()}: {text}" if record.levelno >= logging.WARNING else text


class RunLog(logging.Handler):
    """Every record that reaches it, written to RUN_DIR/logs/run.log once RUN_DIR exists (the flow creates
    it); records from before are kept and written first. Formatted as Prefect's console formats them."""

    def __init__(self, run_dir: Path, formatter: logging.Formatter | None, level: str = "INFO"):
        super().__init__(level)
        self.path = Path(run_dir) / RUN_LOG
        self._early: list[logging.LogRecord] = []
        self._file = None
        self._broken = False
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        if self._broken:
            return
        try:
            if self._file is None:
                if not self.path.parent.parent.is_dir():
                    if len(self._early) < BUFFERED:
                        self._early.append(record)
                    return
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
                for early in self._early:
                    self._file.write(self.format(early) + "\n")
                self._early.clear()
            self._file.write(self.format(record) + "\n")
            self._file.flush()
        except OSError as exc:  # a full or read-only disk: the log is a courtesy, the run says the rest
            self._give_up(exc)
        except Exception:
            self.handleError(record)

    def _give_up(self, exc: OSError) -> None:
        """Stops writing the log, saying so once on stderr (no traceback: the run goes on, or ends with its
        own one-line error when the results cannot be written either)."""
        self._broken = True
        self._close_file()
        print(f"warning: {self.path} is no longer written: {exc.strerror or exc}", file=sys.stderr)

    def _close_file(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):  # its last lines may not fit on a full disk
                file.close()

    def close(self) -> None:
        self._close_file()
        super().close()


def _console_handlers() -> list[logging.Handler]:
    from prefect.logging.handlers import PrefectConsoleHandler

    return [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]


@contextmanager
def quiet_terminal(run_dir: Path, verbose: bool = False) -> Iterator[Path]:
    """For the length of a command: Prefect's records to RUN_DIR/logs/run.log, and to the terminal only
    what QuietConsole lets through (everything with VERBOSE). Yields the log file's path."""
    consoles = _console_handlers()
    quiet = QuietConsole()
    from vlmhb_core.settings import get_settings

    run_log = RunLog(run_dir, consoles[0].formatter if consoles else None, get_settings().log_level)
    root = logging.getLogger()
    root.addHandler(run_log)
    formats = {handler: handler.formatter for handler in consoles}
    if not verbose:
        for handler in consoles:
            handler.addFilter(quiet)
            handler.setFormatter(QuietFormat(handler.formatter))
    try:
        yield run_log.path
    finally:
        if not STOPPING.is_set():  # an interrupted command keeps its terminal quiet to its last line
            for handler, formatter in formats.items():
                handler.removeFilter(quiet)
                handler.setFormatter(formatter)
        root.removeHandler(run_log)
        run_log.close()

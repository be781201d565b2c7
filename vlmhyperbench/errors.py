"""The project's exceptions, one base class per family.

BenchError
 ├── ConfigError (ValueError)     a config file, row or value is wrong; nothing was run (exit 2)
 ├── DatasetError (ValueError)    a dataset cannot be read as a whole (a bad sample fails only itself)
 ├── EnvBuildError                a model's environment could not be built; fails only that model
 └── ServerError                  a model server did not start, or died; fails only that model
"""

from __future__ import annotations

import logging
from pathlib import Path


class BenchError(Exception):
    """Base class of every error the project raises on purpose."""


class ConfigError(BenchError, ValueError):
    """A configuration error located at FILE:LINE: column 'NAME'."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        allowed: list[str] | None = None,
    ):
        self.file, self.line, self.column, self.allowed = file, line, column, allowed
        self.reason = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}"
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        if self.column:
            where += f"column '{self.column}': "
        text = where + self.reason
        if self.allowed:
            text += f" (allowed: {', '.join(self.allowed)})"
        return text


class ConfigErrors(ConfigError):
    """Several configuration errors found in one pass, reported together."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        BenchError.__init__(self, "\n".join(str(e) for e in errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class DatasetError(BenchError, ValueError):
    """A dataset that cannot be read at all (missing annotation file, bad header)."""


class EnvBuildError(BenchError):
    """A model environment failed to build; the message ends with the installer's error tail."""


class ServerError(BenchError):
    """A model server failed to start, became unhealthy or died; the message has its log tail."""


class _NoTracebackForBenchErrors(logging.Filter):
    """Prefect logs a failed task run's traceback; a BenchError's message already says what is wrong and
    where (the run's manifest keeps it), so its record goes on without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], BenchError):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_prefect_tracebacks() -> None:
    """Installs the filter on Prefect's run loggers (the terminal and the UI both get the clean line)."""
    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTracebackForBenchErrors) for f in logger.filters):
            logger.addFilter(_NoTracebackForBenchErrors())

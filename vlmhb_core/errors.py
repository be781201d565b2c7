"""The project's exceptions, one base class per family.

BenchError
 ├── ConfigError (ValueError)        a config file, row or value is wrong; nothing was run (exit 2)
 │    └── ConfigErrors               several of them, found in one pass
 ├── DatasetError (ValueError)       a dataset cannot be read as a whole (a bad sample fails only itself)
 │    └── BundleError                an offline benchmark bundle with a missing or changed file
 ├── EnvBuildError                   a model's environment could not be built; fails only that model
 ├── ServerError                     a model server did not start, or died; fails only that model
 ├── ScorerError                     a scorer's job failed or wrote what it may not; fails only that pair
 ├── JudgeError                      a judge that could not give its verdicts (not started, stopped)
 ├── UnknownNameError (ValueError, KeyError)   a name no registry has, with close matches
 └── PluginError                     a plugin that cannot be used: names its package and entry point

`transient` on EnvBuildError and ServerError marks a failure that a retry may cure (a dropped
connection to the package index, a port taken between probe and bind); Prefect task retries use it.
"""

from __future__ import annotations

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


class BundleError(DatasetError):
    """An offline benchmark bundle cannot be used: a file is missing or changed, or its manifest is bad.
    Nothing runs on such a bundle; the message names the file."""


class EnvBuildError(BenchError):
    """A model environment failed to build; the message ends with the installer's error tail."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class ServerError(BenchError):
    """A model server failed to start, became unhealthy or died; the message has its log tail."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class ScorerError(BenchError):
    """A scorer run out of process failed (its job exited non-zero, timed out, or wrote bad rows); the
    message has its log tail. The pair's predictions are kept: `python -m flows.rescore` scores them again."""


class UnknownNameError(BenchError, ValueError, KeyError):
    """A name that no registry has; `.known` lists the names it has. Both a ValueError (a bad value in a
    config file) and a KeyError (a lookup that missed), so either `except` catches it."""

    def __init__(self, kind: str, name: str, known: list[str], suggestions: list[str]):
        self.kind, self.name, self.known = kind, name, known
        hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} '{name}'{hint} (known: {', '.join(known)})")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PluginError(BenchError):
    """A plugin that cannot be used: its import failed, or it registered nothing under its name."""

    def __init__(self, kind: str, name: str, package: str, entry_point: str, group: str, reason: str):
        self.kind, self.name, self.package, self.entry_point, self.group, self.reason = (
            kind,
            name,
            package,
            entry_point,
            group,
            reason,
        )
        super().__init__(
            f"plugin {kind} '{name}' from package '{package}' (entry point '{entry_point}' in group "
            f"'{group}') cannot be used: {reason}"
        )


class JudgeError(BenchError):
    """A judge model could not give its verdicts: it could not be built or started, or it stopped answering.
    The pairs it judges fail with this error, which names the judge; nothing is counted as wrong."""


def failure_reason(exc: BaseException) -> str:
    """A failure as the manifest records it: the message, with a traceback only for unexpected errors
    (a BenchError's message already says what is wrong and where)."""
    import traceback

    if isinstance(exc, BenchError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc)[-3:])

"""What every task shares with Prefect: which failures a retry may cure, and clean logs for our errors."""

from __future__ import annotations

import logging

from vlmhb_core.errors import BenchError, failure_reason
from vlmhyperbench.results import PairKey, PairOutcome


def failure_of(state) -> BaseException | None:
    """The exception a Failed task state carries (None when it carries none)."""
    data = getattr(state, "data", None)
    return data if isinstance(data, BaseException) else None


def is_transient(exc: BaseException | None) -> bool:
    """A failure a retry may cure: one the project marked transient (a dropped connection to the package
    index, a port taken between probe and bind), or a connection error of the machinery itself. The
    project's deterministic errors (a bad requirement, a model that cannot load) are never retried."""
    if exc is None:
        return False
    if isinstance(exc, BenchError):
        return bool(getattr(exc, "transient", False))
    return isinstance(exc, ConnectionError | TimeoutError)


def retry_transient(task, task_run, state) -> bool:
    """Prefect's `retry_condition_fn`: retry only transient failures."""
    return is_transient(failure_of(state))


def harness_fault(exc: BaseException | None) -> bool:
    """A failure of the orchestration itself, not of the model or its data: the Prefect API answered
    5xx, 408 or 429 (overloaded, its SQLite database locked) or could not be reached, after the Prefect
    client's own retries with backoff. Looks through the exception's causes."""
    import httpx
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.settings import PREFECT_API_URL

    api = (PREFECT_API_URL.value() or "").rstrip("/")
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, PrefectHTTPStatusError):
            code = exc.response.status_code
            return code >= 500 or code in (408, 429)
        if isinstance(exc, httpx.TransportError) and api:
            try:
                url = str(exc.request.url)
            except RuntimeError:  # an error raised without its request
                url = ""
            if url.startswith(api):
                return True
        exc = exc.__cause__ or exc.__context__
    return False


def pair_failure(key: PairKey, exc: BaseException) -> PairOutcome:
    """What an exception makes of a pair: `errored` when the harness failed (harness_fault), else
    `failed` with the reason."""
    if harness_fault(exc):
        return PairOutcome.errored(key, f"harness fault, not the model's: {type(exc).__name__}: {exc}")
    return PairOutcome.failed(key, failure_reason(exc))


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

"""The quiet terminal (flows/cli/terminal.py): what it lets through, and the run log that keeps the rest,
including what came before the run folder existed."""

from __future__ import annotations

import logging

from environments.process import STOPPING
from flows.cli.terminal import QuietConsole, QuietFormat, RunLog
from vlmhb_core.console import TERMINAL


def record(name: str, level: int, message: str, **extra) -> logging.LogRecord:
    rec = logging.LogRecord(name, level, __file__, 1, message, None, None)
    rec.__dict__.update(extra)
    return rec


def test_the_terminal_shows_its_own_lines_and_outside_problems_only():
    quiet = QuietConsole()
    assert quiet.filter(record("prefect.flow_runs", logging.INFO, "run x: 2 pairs", **TERMINAL))
    assert quiet.filter(record("prefect.task_runs", logging.WARNING, "'comment' is not read", **TERMINAL))
    assert not quiet.filter(record("prefect.flow_runs", logging.INFO, "Finished in state Completed()"))
    assert not quiet.filter(record("prefect.flow_runs", logging.ERROR, "Crash detected! ..."))
    assert not quiet.filter(record("prefect.engine", logging.INFO, "View at http://127.0.0.1/runs/1"))
    assert quiet.filter(record("prefect.client", logging.WARNING, "the API did not answer"))
    STOPPING.set()
    try:  # interrupted: only the command's last line
        assert not quiet.filter(record("prefect.flow_runs", logging.INFO, "x", **TERMINAL))
    finally:
        STOPPING.clear()
    fmt = QuietFormat(None)
    assert fmt.format(record("prefect.flow_runs", logging.INFO, "run x", **TERMINAL)) == "run x"
    assert fmt.format(record("p", logging.ERROR, "a/b failed: why", **TERMINAL)) == "error: a/b failed: why"


def test_the_run_log_keeps_what_came_before_the_run_folder(tmp_path):
    run_dir = tmp_path / "results" / "r1"
    log = RunLog(run_dir, logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger("tests.quiet_terminal")
    logger.propagate, logger.level = False, logging.DEBUG
    logger.addHandler(log)
    try:
        logger.handle(record("prefect", logging.INFO, "Starting temporary server"))
        assert not run_dir.exists()  # the flow creates it; the log never does
        run_dir.mkdir(parents=True)
        logger.handle(record("prefect.flow_runs", logging.INFO, "Beginning flow run"))
        logger.handle(record("prefect.flow_runs", logging.DEBUG, "below the level"))
    finally:
        logger.removeHandler(log)
        log.close()
    assert (run_dir / "logs" / "run.log").read_text().splitlines() == [
        "prefect Starting temporary server",
        "prefect.flow_runs Beginning flow run",
    ]

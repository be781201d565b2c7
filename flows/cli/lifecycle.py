"""The life of a benchmark command: its Prefect API, its signals, and an end that leaves nothing behind.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group. Prefect's temporary API server is
a child in that group: it would die first, and the run would then hang on an API that is gone. So when no
PREFECT_API_URL is set, the command starts the temporary API itself, in a session of its own (the
terminal's signals do not reach it) and tied to this process's life (it gets SIGTERM if this process dies,
even by kill -9), and stops it last, once the run has recorded how it ended.

On the first SIGINT or SIGTERM every wait gives up (environments.process.STOPPING), model servers,
containers and installer commands are stopped at once, and the run unwinds: Prefect records the runs'
end, and the command prints how to resume. If anything still holds the process after GRACE_S, or on a
second signal, it stops everything and exits with 130 at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from environments.process import STOPPING, request_stop

EXIT_INTERRUPTED = 130
GRACE_S = 20.0


def stop_everything() -> None:
    """Stops every model server process, container and installer command this process started, and
    cancels the per-model runs it dispatched to a pool (their workers stop their containers)."""
    from environments.process import stop_all

    stop_all()
    if "environments.docker" in sys.modules:
        sys.modules["environments.docker"].stop_all()
    if "flows.dispatch" in sys.modules:
        sys.modules["flows.dispatch"].cancel_open_runs()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the atexit stop still applies
        pass


def _shielded_api_server():
    """Prefect's temporary API server (flows/cli/temporary_api.py: Prefect's app with every SQLite transaction
    IMMEDIATE), started in its own session and tied to this process's life."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    class ShieldedServer(SubprocessASGIServer):
        # Our own server, never the one Prefect shares per port in this process (a test harness's, say):
        # Prefect's class hands out that shared instance and forgets it when any holder stops it.
        def __new__(cls, *args, **kwargs):
            return object.__new__(cls)

        def __init__(self, port: int | None = None):
            super().__init__(port)
            self._instance_key = ("vlmhb", id(self))  # stop() drops no shared instance

        def _run_uvicorn_command(self) -> subprocess.Popen:
            # As Prefect's own temporary server starts (prefect.server.api.server), with our app factory.
            env = {
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            }
            command = [sys.executable, "-m", "uvicorn", "--factory", "flows.cli.temporary_api:create_app"]
            command += ["--host", "127.0.0.1", "--port", str(self.port)]
            command += ["--log-level", "error", "--lifespan", "on"]
            return subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_die_with_parent)

    return ShieldedServer()


class Lifecycle:
    """What `command_lifecycle` yields: the resume line, and the orderly end of an interrupted run."""

    def __init__(self, resume_hint: Callable[[], str]):
        self.resume_hint = resume_hint
        self.api = None
        self._ended = threading.Lock()

    def end_interrupted(self) -> int:
        """Stops everything, then the temporary API, then says how to resume (the last line); returns 130."""
        if not self._ended.acquire(blocking=False):
            return EXIT_INTERRUPTED
        request_stop()
        stop_everything()
        self.stop_api()
        print(f"interrupted: servers stopped; {self.resume_hint()}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED

    def stop_api(self) -> None:
        """Stops the temporary API, once Prefect's log and event workers have sent what they hold (they
        would otherwise retry a gone server at exit)."""
        if self.api is None:
            return
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (APILogWorker, EventsWorker):
            try:
                worker.drain_all(timeout=5)
            except Exception:  # a worker that never started, or an API already unreachable
                pass
        self.api.stop()
        self.api = None

    def _on_signal(self, signum, frame) -> None:
        if STOPPING.is_set():  # a second signal: the user will not wait
            self.end_interrupted()
            os._exit(EXIT_INTERRUPTED)
        request_stop()
        threading.Thread(target=stop_everything, name="stop-servers", daemon=True).start()
        threading.Thread(target=self._watchdog, name="interrupt-watchdog", daemon=True).start()
        raise KeyboardInterrupt(f"signal {signum}")

    def _watchdog(self) -> None:
        threading.Event().wait(GRACE_S)
        self.end_interrupted()
        os._exit(EXIT_INTERRUPTED)


@contextmanager
def command_lifecycle(resume_hint: Callable[[], str]) -> Iterator[Lifecycle]:
    """For the length of a command that runs flows: SIGINT and SIGTERM end the run (see the module
    docstring), and a shielded temporary Prefect API serves it when PREFECT_API_URL names none.

        with command_lifecycle(lambda: "continue with --resume ID") as life:
            try:
                ...run the flows...
            except (KeyboardInterrupt, TerminationSignal):
                return life.end_interrupted()

    An interrupt while the temporary API starts ends the command the same way."""
    life = Lifecycle(resume_hint)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if main_thread:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, life._on_signal)
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        if PREFECT_API_URL.value():
            yield life
            return
        try:
            life.api = _shielded_api_server()
            life.api.start()
        except KeyboardInterrupt:
            life.end_interrupted()
            raise SystemExit(EXIT_INTERRUPTED) from None
        with temporary_settings(updates={PREFECT_API_URL: life.api.api_url}):
            yield life
    finally:
        life.stop_api()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""A short job in a built environment: `python -m MODULE ARGS` with a work folder, waited for.

    result = run_job(env, ["-m", "vlmhb_scorers", "--input", "in.jsonl"], workdir=w, log=l, timeout_s=600)

Where a model server runs for the length of a model's pairs, a job (a scorer over a pair's predictions)
runs once and exits. The work folder holds its input and output files: a venv job runs in it as its
current folder; a Docker job gets it mounted at /work (read-write, the only mount), with no network,
no capabilities and the same memory and process limits as a model container. The job's output goes to
LOG. Nothing passes through a shell, and variables that look like credentials are not handed over.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from environments.environment import Environment
from environments.launch import server_environment
from environments.process import read_tail

WORKDIR_IN_CONTAINER = "/work"


@dataclass(frozen=True)
class JobResult:
    returncode: int
    seconds: float
    log_tail: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def run_job(
    env: Environment,
    argv: list[str],
    *,
    workdir: Path,
    log: Path,
    timeout_s: float,
    env_vars: dict[str, str] | None = None,
) -> JobResult:
    """Runs `ENV's python ARGV` in WORKDIR and waits for it (at most TIMEOUT_S, then it is killed).

    Paths in ARGV are given relative to WORKDIR, so that they mean the same inside a container."""
    workdir = Path(workdir).resolve()
    log.parent.mkdir(parents=True, exist_ok=True)
    if env.provider == "docker":
        return _in_container(env, argv, workdir, log, timeout_s, env_vars or {})
    started = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [env.python, *argv],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_environment(env, env_vars or {}),
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code, timed_out = proc.wait(), True
        except BaseException:  # Ctrl-C, cancellation: the job goes with us
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    return JobResult(code, time.perf_counter() - started, read_tail(log), timed_out)


def _in_container(
    env: Environment, argv: list[str], workdir: Path, log: Path, timeout_s: float, env_vars: dict[str, str]
) -> JobResult:
    from environments.docker import PIDS_LIMIT, _client, default_memory_limit

    environment = {**dict(env.spec.env_vars), **env_vars, "PYTHONUNBUFFERED": "1"}
    if env.server_path:
        environment["PYTHONPATH"] = env.server_path
    client = _client()
    started = time.perf_counter()
    container = client.containers.run(
        env.location,
        [env.python, *argv],
        detach=True,
        working_dir=WORKDIR_IN_CONTAINER,
        volumes={str(workdir): {"bind": WORKDIR_IN_CONTAINER, "mode": "rw"}},
        network_mode="none",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        environment=environment,
        mem_limit=default_memory_limit(),
        pids_limit=PIDS_LIMIT,
        user=f"{os.getuid()}:{os.getgid()}",  # files it writes in /work stay the caller's
        labels={"vlmhyperbench.job": "1", "vlmhyperbench.key": env.spec.key},
    )
    timed_out = False
    try:
        try:
            code = int(container.wait(timeout=timeout_s).get("StatusCode", 1))
        except Exception:  # the wait timed out (requests raises its own ReadTimeout / ConnectionError)
            container.kill()
            code, timed_out = 137, True
        with open(log, "ab") as out:
            out.write(container.logs())
    finally:
        container.remove(force=True)
        client.close()
    return JobResult(code, time.perf_counter() - started, read_tail(log), timed_out)

"""Helpers of the fault-injection tests: synthetic model servers with fault modes, small datasets of real
images, and the benchmark's command line as a subprocess that a test can signal or kill.

The servers are synthetic_server.py (a real OpenAI-compatible streaming server on 127.0.0.1),
each in its own process group; the benchmark talks to them through the `openai` backend (env none), so
no model environment is built.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil

from tests.support.aiohttp_process import start
from tests.support.support import REPO


class FaultServer:
    """A synthetic server process; `base_url` ends with /v1."""

    def __init__(self, *args: str, model: str = "synthetic"):
        self.model = model
        self.proc, self.port = start(
            "tests.support.synthetic_server",
            "--model",
            model,
            *args,
            what="synthetic server",
            start_new_session=True,
        )
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _get(self, path: str, method: str = "GET") -> bytes:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method, data=b"" if method == "POST" else None
        )
        with opener.open(req, timeout=10) as resp:
            return resp.read()

    def stats(self) -> dict:
        return json.loads(self._get("/stats"))

    def reset(self) -> None:
        self._get("/reset", "POST")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


@contextlib.contextmanager
def fault_servers(**specs: tuple[str, ...]) -> Iterator[dict[str, FaultServer]]:
    """{name: FaultServer(*args)} for the block; every server is killed at the end."""
    servers: dict[str, FaultServer] = {}
    try:
        for name, args in specs.items():
            servers[name] = FaultServer(*args)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def make_images(folder: Path, n: int, prefix: str = "doc") -> list[str]:
    """N small, different PNG pages; returns their names."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        img = Image.new("RGB", (64, 32), (255, 255, 255))
        ImageDraw.Draw(img).text((2, 10), f"{prefix}{i}", fill=(0, 0, 0))
        name = f"{prefix}_{i:03d}.png"
        img.save(folder / name)
        names.append(name)
    return names


def write_annotation(
    folder: Path, rows: list[tuple[str, str, str, str]], name: str = "annotation.csv"
) -> Path:
    """rows: (data_index, image_path, question, answer); doc_class alternates so groups exist."""
    lines = ["data_index;split;image_path;question;answer;doc_class;question_type"]
    for i, (sid, image, question, answer) in enumerate(rows):
        lines.append(f"{sid};test;{image};{question};{answer};{'invoice' if i % 2 else 'form'};field")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def simple_dataset(folder: Path, n: int, prefix: str = "q") -> Path:
    """A vqa dataset of N samples whose answers an echo server partly gets right."""
    names = make_images(folder / "images", n, prefix)
    rows = [
        (f"{prefix}{i:03d}", f"images/{names[i]}", f"What is field {i}", f"field {i}" if i % 3 else "nope")
        for i in range(n)
    ]
    return write_annotation(folder, rows)


def openai_models_csv(
    models: dict[str, tuple[str, str]],
    concurrency: int = 2,
    timeout_s: float | None = None,
    api_key_env: dict[str, str] | None = None,
) -> str:
    """models.csv of `openai` rows: {name: (base_url, served model)}."""
    lines = ["name;backend;model;base_url;api_key_env;env;concurrency;timeout_s;max_tokens"]
    for name, (url, served) in models.items():
        key = (api_key_env or {}).get(name, "")
        lines.append(f"{name};openai;{served};{url};{key};none;{concurrency};{timeout_s or ''};256")
    return "\n".join(lines) + "\n"


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The benchmark's environment: its own Prefect home (a temporary local API), no analytics."""
    home = tmp_path / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "VLMHB_MAX_PARALLEL_MODELS": "8",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    env.pop("CI_FAULT_DUMMY", None)
    env.update(extra)
    return env


def start_cli(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`python -m flows.benchmark ARGS` in its own process group (as a shell runs a foreground job)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.benchmark", *args],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    proc._log_file = out  # type: ignore[attr-defined]
    return proc


def finish(proc: subprocess.Popen, timeout: float) -> int:
    try:
        return proc.wait(timeout)
    finally:
        proc._log_file.close()


def run_cli(*args: str, env: dict[str, str], log: Path, timeout: float = 300) -> tuple[int, str]:
    proc = start_cli(*args, env=env, log=log)
    try:
        code = finish(proc, timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        raise
    return code, log.read_text(encoding="utf-8", errors="replace")


def journal_lines(run_dir: Path, model: str | None = None) -> int:
    pattern = f"predictions/{model or '*'}/*.journal.jsonl"
    total = 0
    for path in run_dir.glob(pattern):
        total += path.read_bytes().count(b"\n")
    return total


def wait_for(condition, timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            pass
    return out


def kill_tree(pid: int) -> None:
    """Kills PID and what it started (only processes this test started)."""
    procs = descendants(pid)
    with contextlib.suppress(psutil.Error):
        procs.append(psutil.Process(pid))
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(procs, timeout=10)


def journal_records(path: Path) -> list[dict]:
    """Every line of a journal parses as one complete JSON record (what 'intact' means)."""
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"{path}: last line cut"
    return [json.loads(line) for line in data.splitlines()]

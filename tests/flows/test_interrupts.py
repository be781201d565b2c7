"""Interrupts that end the run: the benchmark runs as a user runs it (the command line, in its own process
group as a shell's foreground job, with no PREFECT_API_URL: its temporary Prefect API is in the game), and
the test signals the whole group, as a terminal's Ctrl-C does, in each phase: environment build, server
start, inference (SIGTERM to the group there), scoring and report. Each time the command ends within
seconds with exit 130, no process it started is left, the journal is intact, and its last line says how
to resume."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.fault_servers import (
    alive,
    cli_env,
    descendants,
    fault_servers,
    finish,
    journal_records,
    kill_tree,
    openai_models_csv,
    simple_dataset,
    start_cli,
    wait_for,
)
from tests.support.package_index import PROBE, FlakyIndex
from tests.support.plugins import install_dist

pytestmark = pytest.mark.slow

ENDS_WITHIN_S = 30  # under the watchdog's 20 s grace, plus a loaded machine's slack
RESUME_LINE = "interrupted: servers stopped; continue with --resume int"


def interrupt(
    tmp_path: Path, config: Path, reached, *, sig: int = signal.SIGINT, extra_env: dict | None = None
) -> tuple[Path, str]:
    """Runs the benchmark on CONFIG, signals its process group once REACHED() is true, and checks the
    promises of an interrupted run; returns (the run folder, the output)."""
    env = cli_env(tmp_path, **(extra_env or {}))
    env.pop("PREFECT_API_URL", None)  # the user's case: a temporary API, started by the command
    out, log = tmp_path / "results", tmp_path / "run.log"
    proc = start_cli("--config", str(config), "--output", str(out), "--run-id", "int", env=env, log=log)
    try:
        wait_for(lambda: reached() or proc.poll() is not None, timeout=300, interval=0.2, what="the phase")
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)
        tree = descendants(proc.pid)
        before = log.stat().st_size  # what the terminal showed before the signal
        started = time.monotonic()
        os.killpg(proc.pid, sig)  # the whole foreground group, as a terminal does
        code = finish(proc, 120)
        took = time.monotonic() - started
        wait_for(lambda: not alive(tree), timeout=15, interval=0.2, what="every child to end")
    finally:
        kill_tree(proc.pid)
    output = log.read_text(errors="replace")
    assert code == 130, output[-3000:]
    assert took < ENDS_WITHIN_S, f"the command took {took:.1f} s to end"
    assert output.strip().splitlines()[-1] == RESUME_LINE, output[-2000:]
    # Ctrl-C prints one line: no crash report, traceback or state of Prefect's after the signal (a line the
    # run was printing as the signal came may end first); Prefect's own records are in the run's log file
    after = log.read_bytes()[before:].decode(errors="replace").strip().splitlines()
    assert after[-1] == RESUME_LINE and len(after) <= 2, after
    assert "Traceback" not in output and "Crash detected" not in output, output[-3000:]
    return out / "int", output


def dataset(config: Path, task: str = "vqa", n: int = 8, metrics: str = "") -> None:
    simple_dataset(config / "qa", n)
    (config / "datasets.csv").write_text(
        f"name;task;format;path;metrics\nqa;{task};vlmhyperbench;qa;{metrics}\n"
    )


def test_ctrl_c_while_the_environment_builds(tmp_path):
    """pip waits on a package index that does not answer; Ctrl-C ends pip and the run."""
    config = tmp_path / "config"
    dataset(config, task="ocr")
    (config / "models.csv").write_text(f"name;backend;env;packages\nslow;tesseract;venv;{PROBE}==0.1\n")
    index = FlakyIndex(delay_s=300)
    try:
        interrupt(
            tmp_path,
            config,
            lambda: index.requests >= 1,
            extra_env={
                "VLMHB_CACHE_DIR": str(tmp_path / "cache"),
                "VLMHB_INSTALLER": "pip",
                "PIP_CONFIG_FILE": os.devnull,
                "PIP_INDEX_URL": index.url,
                "PIP_RETRIES": "0",
                "PIP_TIMEOUT": "600",
            },
        )
    finally:
        index.close()
    assert not list((tmp_path / "cache" / "venv").glob("*/vlmhb-env.json")), (
        "no half-built env counts as built"
    )


def test_ctrl_c_while_the_model_server_starts(tmp_path):
    """The vLLM stand-in loads for two minutes before it answers; Ctrl-C stops it and the run."""
    from tests.support.stand_ins import stand_in_requirements

    config = tmp_path / "config"
    dataset(config)
    vllm, _ = stand_in_requirements()
    (config / "models.csv").write_text(
        f'name;backend;model;env;packages;args\nfake;vllm;org/vlm;venv;"{vllm}";--fake-ready-delay 120\n'
    )
    log = tmp_path / "results" / "int" / "logs" / "fake.server.log"
    interrupt(tmp_path, config, lambda: log.is_file() and "loading org/vlm" in log.read_text())


def test_sigterm_to_the_group_during_inference_keeps_every_answer(tmp_path):
    config = tmp_path / "config"
    dataset(config, n=20)
    with fault_servers(slow=("--answer", "echo", "--ttft-ms", "1500")) as servers:
        (config / "models.csv").write_text(
            openai_models_csv({"slow": (servers["slow"].base_url, "synthetic")})
        )
        journal = tmp_path / "results" / "int" / "predictions" / "slow" / "qa.journal.jsonl"
        run, _ = interrupt(
            tmp_path,
            config,
            lambda: journal.is_file() and journal.read_bytes().count(b"\n") >= 2,
            sig=signal.SIGTERM,
        )
    records = journal_records(journal)
    assert records and all(r["sample_id"] and r["error"] is None for r in records)
    assert journal.read_bytes().endswith(b"\n"), "every line of the journal is whole"


SLOW_PARTS = {
    "vlmhb_slow": '''
import os, time
from pathlib import Path

from metrics import metric
from vlmhyperbench.datasets import read_dataset

def _hold(phase):
    Path(os.environ["VLMHB_TEST_MARKER"]).write_text(phase)
    time.sleep(300)

@metric("slow_metric", higher_is_better=True, tasks=("vqa",))
def slow_metric(table):
    """A metric that takes its time."""
    _hold("scoring")

def read_slow(path):
    """The vlmhyperbench format, read slowly the second time (when the report reads it for thumbnails)."""
    first = Path(path) / ".read-once"
    if first.exists():
        _hold("report")
    first.write_text("")
    return read_dataset("vlmhyperbench", Path(path))
''',
}
SLOW_EPS = {
    "vlmhyperbench.metrics": {"slow_metric": "vlmhb_slow:slow_metric"},
    "vlmhyperbench.dataset_formats": {"slowread": "vlmhb_slow:read_slow"},
}


@pytest.mark.parametrize("phase", ["scoring", "report"])
def test_ctrl_c_while_scoring_and_while_reporting(tmp_path, phase):
    """A plugin metric that takes its time (scoring), a plugin format that reads slowly when the report
    reads the dataset again for its thumbnails (report)."""
    site = tmp_path / "site"
    install_dist(site, "vlmhb-slow", SLOW_EPS, SLOW_PARTS)
    config = tmp_path / "config"
    simple_dataset(config / "qa", 6)
    # cer first: its values differ from sample to sample, so the report has worst samples to show
    fmt, metrics = ("vlmhyperbench", "cer slow_metric") if phase == "scoring" else ("slowread", "cer")
    (config / "datasets.csv").write_text(f"name;task;format;path;metrics\nqa;vqa;{fmt};qa;{metrics}\n")
    marker = tmp_path / "marker"
    with fault_servers(quick=("--answer", "echo")) as servers:
        (config / "models.csv").write_text(
            openai_models_csv({"quick": (servers["quick"].base_url, "synthetic")})
        )
        interrupt(
            tmp_path,
            config,
            lambda: marker.is_file() and marker.read_text() == phase,
            extra_env={
                "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
                "VLMHB_TEST_MARKER": str(marker),
            },
        )

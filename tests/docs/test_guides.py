"""The guides as a reader follows them: every `bash` block of docs/getting-started.md and of
docs/guides/standard-benchmarks.md runs, exactly as written, as one script per guide, from the clone's
folder, with a home folder of its own (the guides work under ~/), no Prefect server (each command starts
its temporary API) and Prefect's logging as a user has it. Then the promises the pages make are checked on
what the commands printed and wrote."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.support.fault_servers import cli_env
from tests.support.support import REPO

pytestmark = pytest.mark.slow

FENCE = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
MARK = "+ "  # bash -x's prefix (PS4; a root shell takes no PS4 from its environment): each command run


def bash_blocks(page: str) -> list[str]:
    """The page's ```bash blocks, in order."""
    return FENCE.findall((REPO / page).read_text(encoding="utf-8"))


def run_guide(page: str, tmp_path: Path) -> tuple[str, Path]:
    """Runs every bash block of PAGE as one script; returns (what it printed, the home folder)."""
    home = tmp_path / "home"
    home.mkdir()
    cache = Path(os.environ.get("VLMHB_CACHE_DIR") or Path.home() / ".cache" / "vlmhyperbench")
    uv_cache = Path(os.environ.get("UV_CACHE_DIR") or Path.home() / ".cache" / "uv")
    env = cli_env(tmp_path, HOME=str(home), VLMHB_CACHE_DIR=str(cache), UV_CACHE_DIR=str(uv_cache))
    for name in ("PREFECT_API_URL", "PREFECT_LOGGING_LEVEL", "VIRTUAL_ENV", "VLMHB_MAX_PARALLEL_MODELS"):
        env.pop(name, None)  # as a user's shell has it
    # a guide after Getting started: vlmhb on the PATH (the project's venv, as `. .venv/bin/activate` puts it)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    script = "\n".join(bash_blocks(page))
    done = subprocess.run(
        ["bash", "-x", "-e", "-o", "pipefail", "-c", script],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, f"{page}: a command failed:\n{done.stdout[-6000:]}"
    return done.stdout, home


def command_output(output: str, command: str) -> list[str]:
    """The lines COMMAND printed: between its own `+ COMMAND` line and the next command's."""
    lines = output.splitlines()
    start = lines.index(MARK + command) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(MARK)), len(lines))
    return lines[start:end]


def test_getting_started_runs_as_written(tmp_path):
    assert len(bash_blocks("docs/getting-started.md")) >= 5
    output, home = run_guide("docs/getting-started.md", tmp_path)
    first = home / "vlmhb-first" / "results" / "first"
    summary = pl.read_csv(first / "summary.csv", separator=";")
    assert set(summary["model"]) == {"rapidocr-1.4", "rapidocr-3"}
    assert (first / "report.html").is_file() and (first / "logs" / "run.log").is_file()
    # the quiet terminal: the plan, progress, the leaderboard and where the results are, in few lines;
    # Prefect's own records in the run's log file
    run = command_output(output, "vlmhb run --limit 3 --run-id first")
    assert len(run) <= 40, "\n".join(run)
    assert any(line.startswith("run first: 2 pairs of 2 models") for line in run), run
    assert run[-1] == "results: results/first (completed); Prefect's log: results/first/logs/run.log"
    assert not [line for line in run if "View at" in line or "Finished in state" in line], run
    assert "Finished in state Completed" in (first / "logs" / "run.log").read_text()
    header = next(line for line in run if line.startswith("model "))
    assert "TTFT p50 ms" in header and "peak RSS MB" in header
    # outside the checkout, the embedded default config is the checkout's: --limit 3 of its OCR dataset
    predictions = sorted((first / "predictions").glob("*/docs-ocr.parquet"))
    assert len(predictions) == 2 and all(pl.read_parquet(p).height == 3 for p in predictions)
    assert any("first" in line for line in command_output(output, "vlmhb history --last 5"))
    # the config of one's own, and the error a mistake gets
    assert (home / "vlmhb-first" / "my-bench").is_dir()
    assert "my-bench/models.csv:2: column 'backend': unknown backend 'vlm'" in output
    assert "exit code 2" in output


def test_standard_benchmarks_offline_runs_as_written(tmp_path):
    output, home = run_guide("docs/guides/standard-benchmarks.md", tmp_path)
    run_dir = home / "vlmhb-offline" / "results" / "try-docvqa"
    run = command_output(output, "vlmhb run --config try-docvqa --run-id try-docvqa")
    assert any("reads SYNTHETIC sample data" in line for line in run), run
    summary = pl.read_csv(run_dir / "summary.csv", separator=";")
    general = summary.filter((pl.col("metric") == "docvqa_anls") & (pl.col("aggregator") == "general"))
    assert general.height == 1 and general["n"][0] == 8
    assert set(summary.filter(pl.col("aggregator") == "by_question_type")["group"]) == {
        "form",
        "table/list",
        "layout",
    }
    assert "ANLS ×100" in (run_dir / "leaderboard.md").read_text(encoding="utf-8")

"""The fault matrix's Prefect API row: the orchestration's own trouble is never a model's.

The benchmark runs as a user runs it (the command line, as a subprocess) against the session's real Prefect
API, through a proxy (tests.support.flaky_prefect_api) that makes it briefly unavailable or fails
one model's subflow runs for good. A brief outage costs nothing: the Prefect client's retries with backoff
ride it out. A fault that outlasts them makes the pair `errored` (not `failed`): exit code 4, the model's
subflow Crashed (not Failed: an automation on Failed stays quiet), no gate held against it, and `--resume`
runs it again.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.support import flaky_prefect_api
from tests.support.fault_servers import (
    cli_env,
    fault_servers,
    openai_models_csv,
    run_cli,
    simple_dataset,
)
from tests.support.prefect_api import benchmark_runs

pytestmark = pytest.mark.slow

EXIT_HARNESS_ERRORED = 4


def write_config(root: Path, base_url: str) -> Path:
    simple_dataset(root / "qa", 4)
    (root / "datasets.csv").write_text("name;task;format;path\nqa;vqa;vlmhyperbench;qa\n")
    (root / "models.csv").write_text(
        openai_models_csv({name: (base_url, "synthetic") for name in ("good", "bad")})
    )
    # a gate every model would pass: a gate never fails a pair the harness lost
    (root / "gates.csv").write_text("model;dataset;metric;min\ngood;qa;anls;0.0\nbad;qa;anls;0.0\n")
    return root


def statuses(run: Path) -> dict[str, str]:
    manifest = json.loads((run / "manifest.json").read_text())
    return {p["model"]: p["status"] for p in manifest["pairs"]}


def test_a_brief_outage_of_the_prefect_api_fails_no_pair(api_url, tmp_path):
    with (
        fault_servers(model=("--answer", "echo")) as servers,
        flaky_prefect_api.launch(api_url, "--outage-s", "6") as (flaky_url, proxy_stats),
    ):
        root = write_config(tmp_path / "config", servers["model"].base_url)
        env = cli_env(tmp_path, PREFECT_API_URL=flaky_url)
        out = tmp_path / "results"
        code, log = run_cli(
            "--config", str(root), "--output", str(out), "--run-id", "outage",
            env=env, log=tmp_path / "outage.log", timeout=600,
        )  # fmt: skip
        seen = proxy_stats()
    assert seen["outages"] == 1 and seen["answered_503"] > 0, seen
    assert seen["websockets"] > 0, "events and logs reached the API through the proxy too"
    assert code == 0, log[-3000:]
    assert statuses(out / "outage") == {"good": "completed", "bad": "completed"}


def test_a_lasting_harness_fault_errors_the_pair_and_resume_runs_it(api_url, tmp_path):
    with fault_servers(model=("--answer", "echo")) as servers:
        root = write_config(tmp_path / "config", servers["model"].base_url)
        out = tmp_path / "results"
        # every try to create one model's subflow run answers 503 (the symptom), and the client
        # gives up soon
        with flaky_prefect_api.launch(api_url, "--fail-body", '"model":"bad"') as (flaky_url, proxy_stats):
            env = cli_env(tmp_path, PREFECT_API_URL=flaky_url, PREFECT_CLIENT_MAX_RETRIES="1")
            code, log = run_cli(
                "--config", str(root), "--output", str(out), "--run-id", "lost",
                env=env, log=tmp_path / "lost.log", timeout=600,
            )  # fmt: skip
            assert proxy_stats()["answered_503"] >= 2, "tried, and tried once more after the others"
        assert code == EXIT_HARNESS_ERRORED, log[-3000:]
        run = out / "lost"
        assert statuses(run) == {"good": "completed", "bad": "errored"}
        manifest = json.loads((run / "manifest.json").read_text())
        (bad,) = [p for p in manifest["pairs"] if p["model"] == "bad"]
        assert bad["error"].startswith("harness fault, not the model's: PrefectHTTPStatusError")
        assert "503" in bad["error"]
        assert "pairs errored by the harness" in log and "--resume lost" in log
        gates = json.loads((run / "gates.json").read_text())
        assert [c["status"] for c in gates["checks"] if c["model"] == "bad"] == ["unchecked"]
        assert "| errored: harness fault" in (run / "leaderboard.md").read_text()

        benchmark, children = asyncio.run(benchmark_runs("lost"))
        assert benchmark.state.is_crashed(), benchmark.state  # not Failed: no model failed
        assert (
            "errored by the harness" in benchmark.state.message and "--resume lost" in benchmark.state.message
        )
        assert "evaluate-bad" not in children  # its run could never be created: that was the fault
        assert children["evaluate-good"].state.is_completed()

        env = cli_env(tmp_path, PREFECT_API_URL=api_url)  # the API is well again
        code, log = run_cli(
            "--output", str(out), "--resume", "lost", env=env, log=tmp_path / "resume.log", timeout=600
        )
        assert code == 0, log[-3000:]
        assert statuses(run) == {"good": "completed", "bad": "completed"}

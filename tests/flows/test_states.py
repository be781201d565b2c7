"""Prefect states that tell the truth, read back from the API: a model that cannot start ends its subflow
run Failed and the benchmark run Failed (naming the pair), so that a Prefect automation on
`prefect.flow-run.Failed` fires; a run where all goes well is Completed throughout. The benchmark runs as a
user runs it (the command line, as a subprocess) against the session's real Prefect API; exit codes are
those of the contract."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.support.fault_servers import (
    cli_env,
    fault_servers,
    openai_models_csv,
    run_cli,
    simple_dataset,
    wait_for,
)
from tests.support.prefect_api import benchmark_runs, read_events

pytestmark = pytest.mark.slow


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


async def notify_on_failed_benchmarks() -> None:
    """What a user sets up to hear of a bad nightly run: an automation on a benchmark flow run Failed."""
    from prefect.automations import Automation
    from prefect.events.actions import DoNothing
    from prefect.events.schemas.automations import EventTrigger, Posture

    await Automation(
        name="benchmark-failed",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": "benchmark"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[DoNothing()],
    ).acreate()


def triggered_for(flow_run_id) -> bool:
    events = asyncio.run(read_events(["prefect.automation.triggered"]))
    wanted = f"prefect.flow-run.{flow_run_id}"
    return any(
        ((e.payload or {}).get("triggering_event") or {}).get("resource", {}).get("prefect.resource.id")
        == wanted
        for e in events
    )


def test_states_tell_the_truth(api_url, tmp_path):
    asyncio.run(notify_on_failed_benchmarks())
    root = tmp_path / "config"
    simple_dataset(root / "qa", 4)
    (root / "datasets.csv").write_text("name;task;format;path\nqa;vqa;vlmhyperbench;qa\n")
    env = cli_env(tmp_path, PREFECT_API_URL=api_url, VLMHB_SERVER_START_TIMEOUT_S="3")
    out = tmp_path / "results"
    with fault_servers(good=("--answer", "echo")) as servers:
        dead = f"http://127.0.0.1:{closed_port()}/v1"
        (root / "models.csv").write_text(
            openai_models_csv({"good": (servers["good"].base_url, "synthetic"), "dead": (dead, "synthetic")})
        )
        code, log = run_cli(
            "--config",
            str(root),
            "--output",
            str(out),
            "--run-id",
            "st-fail",
            env=env,
            log=tmp_path / "1.log",
        )
        assert code == 1, log[-3000:]
        benchmark, children = asyncio.run(benchmark_runs("st-fail"))
        assert benchmark.state.is_failed(), benchmark.state
        assert "1 of 2 pairs failed: dead/qa" in benchmark.state.message
        assert children["evaluate-dead"].state.is_failed()
        assert "ServerError" in children["evaluate-dead"].state.message
        assert children["evaluate-good"].state.is_completed(), children["evaluate-good"].state
        wait_for(lambda: triggered_for(benchmark.id), timeout=60, interval=1, what="the automation to fire")

        code, log = run_cli(
            "--config", str(root), "--output", str(out), "--run-id", "st-ok", "--models", "good",
            env=env, log=tmp_path / "2.log",
        )  # fmt: skip
        assert code == 0, log[-3000:]
        benchmark, children = asyncio.run(benchmark_runs("st-ok"))
        assert benchmark.state.is_completed() and set(children) == {"evaluate-good"}
        assert all(run.state.is_completed() for run in children.values())
        assert not triggered_for(benchmark.id)

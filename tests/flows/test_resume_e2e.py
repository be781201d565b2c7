"""A run is one run, and a verdict only where something was compared, as a user meets them: `--models fast
--limit 3`, then `--resume ID` with no option (as the Ctrl-C hint says), then a new run of both models.
The command line as a subprocess on real Prefect, against synthetic OpenAI-compatible servers."""

from __future__ import annotations

import json

import pytest

from tests.support.fault_servers import FaultServer, cli_env, run_cli, simple_dataset

pytestmark = pytest.mark.slow


def test_resume_continues_the_run_and_only_compared_pairs_get_a_verdict(api_url, tmp_path):
    config, out = tmp_path / "config", tmp_path / "results"
    simple_dataset(config / "qa", 6)
    servers = {
        name: FaultServer("--answer", "echo", "--ttft-ms", "5", "--itl-ms", "1") for name in ("fast", "slow")
    }
    try:
        (config / "models.csv").write_text(
            "name;backend;model;base_url;env;concurrency\n"
            + "".join(f"{n};openai;synthetic;{s.base_url};none;2\n" for n, s in servers.items())
        )
        (config / "datasets.csv").write_text("name;task;path;metrics\nqa;vqa;qa;anls exact_match\n")
        (config / "gates.csv").write_text("model;dataset;metric;no_regression\n*;qa;anls;yes\n")
        env = cli_env(tmp_path, PREFECT_API_URL=api_url)
        base = ("--config", str(config), "--output", str(out))

        # a first run of one model: nothing to compare with, and nothing says "no regression"
        code, output = run_cli(
            *base,
            "--models",
            "fast",
            "--limit",
            "3",
            "--run-id",
            "one-model",
            env=env,
            log=tmp_path / "1.log",
        )
        assert code == 0, output[-3000:]
        assert "no earlier run of these models and datasets: nothing compared" in output
        assert "no regression" not in output.lower()
        first = out / "one-model"
        html = (first / "report.html").read_text()
        card = html[html.index('id="comparison-card"') : html.index('id="leaderboard"')]
        assert "nothing compared" in card and "no regression" not in html.lower()
        assert "no earlier run of fast on qa" in (first / "leaderboard.md").read_text()
        gates = json.loads((first / "gates.json").read_text())
        assert [(c["status"], c["reason"]) for c in gates["checks"]] == [
            ("unchecked", "no earlier run of fast on qa")
        ]
        asked = servers["fast"].stats()["chats"]

        # --resume with no option continues exactly that run: one model, 3 samples, nothing asked again
        code, output = run_cli("--output", str(out), "--resume", "one-model", env=env, log=tmp_path / "2.log")
        assert code == 0, output[-3000:]
        manifest = json.loads((first / "manifest.json").read_text())
        assert manifest["resumed_at"] and manifest["parameters"]["models"] == ["fast"]
        assert manifest["parameters"]["max_samples"] == 3 and manifest["parameters"]["dispatch"] == "local"
        assert [(p["model"], p["dataset"]) for p in manifest["pairs"]] == [("fast", "qa")]
        assert servers["fast"].stats()["chats"] == asked and servers["slow"].stats()["chats"] == 0
        # ... and with another option it is a configuration error that names both values
        code, output = run_cli(
            "--output",
            str(out),
            "--resume",
            "one-model",
            "--models",
            "fast,slow",
            env=env,
            log=tmp_path / "3.log",
        )
        assert (
            code == 2
            and "--models: run one-model was started with fast, this command gives fast,slow" in output
        )

        # a new run of both models: a verdict for fast, which ran before; slow had no earlier run, and says so
        code, output = run_cli(
            *base, "--limit", "3", "--run-id", "two-models", env=env, log=tmp_path / "4.log"
        )
        assert code == 0, output[-3000:]
        assert "no regression against run one-model (2 metrics of 1 pair compared)" in output
        assert "no earlier run of slow on qa" in output
        second = out / "two-models"
        html = (second / "report.html").read_text()
        card = html[html.index('id="comparison-card"') : html.index('id="leaderboard"')]
        assert (
            "against run one-model" in card
            and "no regression" in card
            and "no earlier run of 1 of 2 pairs" in card
        )
        leaderboard = (second / "leaderboard.md").read_text()
        assert (
            "no regression against run one-model" in leaderboard
            and "- no earlier run of slow on qa" in leaderboard
        )
        gates = {
            c["model"]: (c["status"], c["reason"])
            for c in json.loads((second / "gates.json").read_text())["checks"]
        }
        assert gates == {"fast": ("passed", ""), "slow": ("unchecked", "no earlier run of slow on qa")}
    finally:
        for server in servers.values():
            server.stop()

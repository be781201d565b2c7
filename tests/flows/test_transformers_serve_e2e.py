"""The `transformers-serve` backend through `python -m flows.benchmark`: `transformers serve` (transformers 5,
the `serving` extra) launched in the model's own venv built by EnvManager, readiness-checked on /health,
profiled (its process tree's memory), on a tiny random-weight LLaVA built offline. Its stream sends several
tokens per event and no `[DONE]`: the answers are complete, with usage counts. One run; the answers are
garbage (random weights): the test checks the protocol, not the text."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import polars as pl
import pytest

from tests.support.support import DEFAULT_CONFIG, REPO, built_env_python

pytestmark = pytest.mark.slow

PACKAGES = ("torch==2.13.0", "transformers[serving]", "tokenizers")  # the local CPU wheel: never looser


def test_transformers_serve_answers_a_vlm_with_usage_and_timings(tmp_path):
    from environments.tiny_models import build_in

    python = built_env_python("transformers-serve", PACKAGES)
    folder = build_in(python, "llava", tmp_path / "tiny-llava")
    config = tmp_path / "config"
    config.mkdir()
    (config / "models.csv").write_text(
        "name;backend;model;env;packages;args;concurrency;max_tokens\n"
        f"tiny-serve;transformers-serve;{folder};venv;{' '.join(PACKAGES)};--device cpu;2;8\n"
    )
    data = DEFAULT_CONFIG / "data"
    (config / "datasets.csv").write_text(f"name;task;path;metrics\ndocs-vqa;vqa;{data / 'vqa.csv'};anls\n")
    (config / "plan.csv").write_text("model;dataset;max_samples\ntiny-serve;docs-vqa;4\n")
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    }
    argv = ["--config", str(config), "--output", str(tmp_path / "out"), "--run-id", "serve"]
    proc = subprocess.run(
        [sys.executable, "-m", "flows.benchmark", *argv], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=1200,
    )  # fmt: skip
    run = tmp_path / "out" / "serve"
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pairs = json.loads((run / "manifest.json").read_text())["pairs"]
    assert [(p["model"], p["status"]) for p in pairs] == [("tiny-serve", "completed")]
    predictions = pl.read_parquet(run / "predictions" / "tiny-serve" / "docs-vqa.parquet")
    assert predictions.height == 4 and predictions["error"].null_count() == 4
    # usage from the server (completion and prompt tokens, the 16 image tokens of the page included)
    assert predictions["output_tokens"].min() >= 1 and predictions["output_tokens"].max() <= 8
    assert predictions["input_tokens"].min() > 16
    assert predictions["ttft_s"].min() > 0 and (predictions["latency_s"] >= predictions["ttft_s"]).all()
    perf = pl.read_parquet(run / "performance.parquet").row(0, named=True)
    assert perf["peak_rss_mb"] > 200, "torch + the model in the server's process tree"
    assert perf["server_start_s"] > 0 and perf["pages"] == 4 and perf["input_tokens_per_page"] > 16
    log = (run / "logs" / "tiny-serve.server.log").read_text()
    assert "Uvicorn running on http://127.0.0.1" in log  # transformers' own server, on loopback

"""A judge served locally, in its own environment: a tiny random-weight LLaVA (built offline,
environments/tiny_models.py) on the transformers backend in a venv, judging two candidates through
`python -m flows.benchmark`. It is built and started once for both, sees the pages (judge_images), and is
stopped at the end. Random weights answer garbage: every verdict is unparseable, asked once more, and then
no verdict, never counted as a wrong answer; with none for more than half its samples, the judged pair fails,
naming the judge."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import polars as pl
import pytest

from tests.support.fault_servers import FaultServer, make_images, write_annotation
from tests.support.support import REPO, built_env_python

pytestmark = pytest.mark.slow

TRANSFORMERS_PACKAGES = ("torch==2.13.0", "transformers", "tokenizers")  # the local CPU wheel: never looser


def test_a_locally_served_judge_is_started_once_for_all_its_candidates(tmp_path):
    from environments.tiny_models import build_in

    python = built_env_python("transformers", TRANSFORMERS_PACKAGES)
    folder = build_in(python, "llava", tmp_path / "tiny")
    root = tmp_path / "config"
    names = make_images(root / "qa" / "images", 3)
    write_annotation(root / "qa", [(f"s{i}", f"images/{names[i]}", f"Q-{i}?", f"v{i}") for i in range(3)])
    (root / "answers.json").write_text(json.dumps({f"Q-{i}?": f"value {i}" for i in range(3)}))
    servers = [FaultServer("--answers", str(root / "answers.json"), model=f"c{i}") for i in (1, 2)]
    try:
        (root / "models.csv").write_text(
            "name;backend;model;base_url;env;packages;args;concurrency;max_tokens\n"
            + "".join(f"c{i};openai;c{i};{s.base_url};none;;;2;64\n" for i, s in zip((1, 2), servers))
            + f"tiny;transformers;{folder};;venv;{' '.join(TRANSFORMERS_PACKAGES)};"
            "--engine-arg device=cpu --engine-arg dtype=float32;2;8\n"
        )
        (root / "datasets.csv").write_text(
            "name;task;path;metrics;judge;judge_images\nqa;vqa;qa;anls judge_correct;tiny;yes\n"
        )
        env = {
            **os.environ,
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        }
        proc = subprocess.run(
            [sys.executable, "-m", "flows.benchmark", "--config", str(root),
             "--output", str(tmp_path / "out"), "--run-id", "local"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
    finally:
        for server in servers:
            server.stop()
    # a judge that never grades fails the pairs it judged (more than half without a verdict), by name
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "JudgeError: judge tiny: 3 of 3 answers unparseable" in proc.stdout, proc.stdout[-3000:]
    run = tmp_path / "out" / "local"
    manifest = json.loads((run / "manifest.json").read_text())
    assert {(p["model"], p["status"]) for p in manifest["pairs"]} == {("c1", "failed"), ("c2", "failed")}
    judge = manifest["judges"]["tiny"]
    assert judge["status"] == "completed" and judge["started"] and judge["server_start_s"] > 0
    assert judge["environment"]["provider"] == "venv" and sorted(judge["pairs"]) == ["c1/qa", "c2/qa"]
    log = (run / "logs" / "tiny.judge.server.log").read_text()
    assert log.count("Uvicorn running on") == 1, log[-2000:]  # one start (transformers serve) for both
    # every question asked with the page, answered by the model, unparseable, asked once more
    for cand in ("c1", "c2"):
        lines = [
            json.loads(x)
            for x in (run / "verdicts/tiny" / cand / "qa.journal.jsonl").read_text().splitlines()
        ]
        assert len(lines) == 6 and sorted(x["attempt"] for x in lines) == [1, 1, 1, 2, 2, 2]
        assert all(x["images"] and x["error"] is None and x["raw"] is not None for x in lines)
        assert all(0 < x["output_tokens"] <= 8 and x["prompt_tokens"] > 0 for x in lines)
    # a failed pair's figures stay in its own files (the run's tables hold the pairs that completed)
    pairs = run / "pairs"
    for cand in ("c1", "c2"):
        missing = pl.read_parquet(pairs / cand / "qa.no-verdict.parquet")  # each, with the judge's raw answer
        assert missing.height == 3 and set(missing["judge"]) == {"tiny"} and missing["raw"].null_count() == 0
        counts = pl.read_parquet(pairs / cand / "qa.judging.parquet").to_dicts()
        assert [(r["judged"], r["no_verdict"]) for r in counts] == [(3, 3)], counts
        judged = pl.read_parquet(pairs / cand / "qa.summary.parquet").filter(
            pl.col("metric") == "judge_correct"
        )
        # no verdict: nothing counted, nothing wrong; the row says why it has no value
        assert judged.height and judged["value"].null_count() == judged.height, judged
        assert all(n.startswith("not scored") for n in judged["note"].to_list()), judged
        perf = pl.read_parquet(pairs / cand / "qa.judge-performance.parquet").to_dicts()
        assert [(r["requests"], r["verdicts"]) for r in perf] == [(6, 0)], perf

"""Every backend through `python -m flows.benchmark`, on real Prefect, real venvs and real servers.

- transformers: tiny random-weight LLaVA and Idefics3 models built offline (environments/tiny_models.py,
  `vlmhb tiny-model`) and served from a local folder by `transformers serve`, from rows written for the
  retired engine of the project's own server (engine-args, a served_model_name); tesseract on the OCR set
  with `--engine-arg lang=eng` (one run).
- vllm and sglang: they need a GPU, so the stand-ins of tests/data/fake_vllm/ (same CLI flags, same
  protocol, no model) are installed into venvs from the rows' `packages` and launched with the argv the
  benchmark gives the real servers: ready, crashing and never-ready servers, plus an `openai` endpoint
  that requires a key and a header, all in one run.
Random weights and stand-ins answer garbage: the tests check structure, timings and memory, not quality.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from tests.support.stand_ins import stand_in_requirements
from tests.support.support import DEFAULT_CONFIG, REPO, built_env_python, require

pytestmark = pytest.mark.slow

FAKES = REPO / "tests" / "data" / "fake_vllm"
TRANSFORMERS_PACKAGES = ("torch==2.13.0", "transformers", "tokenizers")  # the local CPU wheel: never looser
KINDS = ("llava", "idefics3")
API_KEY = "sk-vlmhb-test-9f8e7d6c5b4a3210"
START_TIMEOUT_S = 25


def write_config(root: Path, models: list[dict], plan: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for row in models for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, delimiter=";", lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(models)
    (root / "models.csv").write_text(buf.getvalue(), encoding="utf-8")
    data = DEFAULT_CONFIG / "data"
    (root / "datasets.csv").write_text(
        "name;task;format;path;prompts;metrics\n"
        f"docs-ocr;ocr;vlmhyperbench;{data / 'ocr.csv'};;cer wer\n"
        f"docs-vqa;vqa;vlmhyperbench;{data / 'vqa.csv'};docs;anls exact_match\n",
        encoding="utf-8",
    )
    shutil.copy(DEFAULT_CONFIG / "prompts.csv", root / "prompts.csv")
    (root / "plan.csv").write_text("model;dataset;max_samples\n" + plan, encoding="utf-8")
    return root


def run_benchmark(
    config: Path, out: Path, run_id: str, extra_env: dict[str, str] | None = None, timeout: int = 1200
) -> subprocess.CompletedProcess:
    # A loaded machine can take longer than Prefect's default 20 s to start its ephemeral API.
    env = {
        **os.environ,
        "PREFECT_HOME": str(out.parent / f"prefect-home-{run_id}"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        **(extra_env or {}),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.benchmark",
            "--config",
            str(config),
            "--output",
            str(out),
            "--run-id",
            run_id,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def manifest_pairs(run_dir: Path) -> dict[str, dict]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return {p["model"]: p for p in manifest["pairs"]}


def performance(run_dir: Path) -> dict[str, dict]:
    return {r["model"]: r for r in pl.read_parquet(run_dir / "performance.parquet").iter_rows(named=True)}


def launch_line(run_dir: Path, model: str) -> dict:
    """The launch a stand-in parsed from the argv the benchmark gave it (first line of its log)."""
    log = (run_dir / "logs" / f"{model}.server.log").read_text()
    line = next(x for x in log.splitlines() if x.startswith("vlmhb-fake "))
    return json.loads(line.split("launch: ", 1)[1])


# ---------------------------------------------------------------- transformers (tiny VLMs) + tesseract


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    from environments.tiny_models import build_in

    require(
        shutil.which("tesseract") is not None, "tesseract is not installed (apt-get install tesseract-ocr)"
    )
    python = built_env_python("transformers", TRANSFORMERS_PACKAGES)
    built_env_python("tesseract")
    tmp = tmp_path_factory.mktemp("local")
    engine = ("--engine-arg", "device=cpu", "--engine-arg", "dtype=float32")
    with ThreadPoolExecutor(2) as pool:  # two processes that mostly wait on imports
        folders = dict(zip(KINDS, pool.map(lambda kind: build_in(python, kind, tmp / kind), KINDS)))
    models = [
        {
            "name": f"tiny-{kind}",
            "backend": "transformers",
            "model": str(folders[kind]),
            "env": "venv",
            "packages": " ".join(TRANSFORMERS_PACKAGES),
            "args": " ".join(engine),
            "concurrency": "2",
            "max_tokens": "8",
            # transformers serve cannot rename the model: the client names it as given
            "served_model_name": "tiny-vlm" if kind == "llava" else "",
        }
        for kind in KINDS
    ]
    models.append(
        {
            "name": "tesseract-eng",
            "backend": "tesseract",
            "env": "venv",
            "args": "--engine-arg lang=eng",
            "concurrency": "2",
            "max_tokens": "2048",
        }
    )
    config = write_config(
        tmp / "config", models, "tiny-llava;docs-vqa;3\ntiny-idefics3;docs-vqa;3\ntesseract-eng;docs-ocr;4\n"
    )
    proc = run_benchmark(config, tmp / "results", "local")
    return proc, tmp / "results" / "local"


def test_transformers_and_tesseract_run_through_the_benchmark(local_run):
    proc, run_dir = local_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pairs = manifest_pairs(run_dir)
    assert {m: p["status"] for m, p in pairs.items()} == {
        "tiny-llava": "completed",
        "tiny-idefics3": "completed",
        "tesseract-eng": "completed",
    }


@pytest.mark.parametrize("model", ["tiny-llava", "tiny-idefics3"])
def test_tiny_vlm_predictions_and_performance(local_run, model):
    _, run_dir = local_run
    preds = pl.read_parquet(run_dir / "predictions" / model / "docs-vqa.parquet")
    assert preds.height == 3 and preds["error"].null_count() == 3
    assert (preds["ttft_s"] > 0).all() and (preds["latency_s"] >= preds["ttft_s"]).all()
    assert ((preds["output_tokens"] > 0) & (preds["output_tokens"] <= 8)).all(), "usage from the model's ids"
    perf = performance(run_dir)[model]
    assert perf["requests"] == 3 and perf["errors"] == 0
    assert perf["peak_rss_mb"] > 200, "torch + model in the server's process tree"
    assert perf["peak_gpu_mb"] is None, "no GPU here"
    assert perf["server_start_s"] > 0 and perf["env_build_s"] is not None
    assert perf["output_tokens"] == preds["output_tokens"].sum() and perf["output_tokens_per_s"] > 0
    assert perf["ttft_p50_s"] > 0
    # the prompt's tokens, a page's image tokens included (16 for llava, 4 or more for idefics3)
    assert preds["input_tokens"].min() > (16 if model == "tiny-llava" else 4)
    log = (run_dir / "logs" / f"{model}.server.log").read_text()
    assert "Uvicorn running on http://127.0.0.1" in log, "transformers' own server, on loopback"


def test_tesseract_reads_the_ocr_set_with_its_engine_args(local_run):
    _, run_dir = local_run
    preds = pl.read_parquet(run_dir / "predictions" / "tesseract-eng" / "docs-ocr.parquet")
    assert preds.height == 4 and preds["error"].null_count() == 4
    summary = pl.read_parquet(run_dir / "summary.parquet").filter(
        (pl.col("model") == "tesseract-eng")
        & (pl.col("metric") == "cer")
        & (pl.col("aggregator") == "general")
    )
    assert summary["value"][0] < 0.2, "English pages read with lang=eng"
    perf = performance(run_dir)["tesseract-eng"]
    assert perf["peak_rss_mb"] > 20 and perf["server_start_s"] > 0 and perf["peak_gpu_mb"] is None


# ---------------------------------------------------------------- vllm / sglang stand-ins + openai endpoint


class AuthEndpoint:
    """The synthetic server's app behind a check of `Authorization: Bearer KEY` and `X-Team`,
    recording what each request carried; in a thread of this process, on 127.0.0.1."""

    def __init__(self, key: str):
        from aiohttp import web

        from tests.support.synthetic_server import make_app

        self.key, self.bodies, self.authorized, self.refused = key, [], [], []
        self.app = make_app(model="gpt-test", ttft_ms=5, itl_ms=1, tokens=12)

        @web.middleware
        async def auth(request, handler):
            if (
                request.headers.get("Authorization") != f"Bearer {self.key}"
                or request.headers.get("X-Team") != "vlmhb"
            ):
                self.refused.append(request.path)
                return web.json_response({"error": {"message": "bad key or header"}}, status=401)
            self.authorized.append(request.path)
            if request.method == "POST":
                self.bodies.append(json.loads(await request.read()))
            return await handler(request)

        self.app.middlewares.append(auth)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def served_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    vllm_packages, sglang_packages = stand_in_requirements()
    endpoint = AuthEndpoint(API_KEY)
    vllm = {
        "backend": "vllm",
        "model": "org/fake-vlm-7b",
        "env": "venv",
        "packages": vllm_packages,
        "gpus": "2",
        "concurrency": "2",
        "max_tokens": "6",
    }
    models = [
        {
            **vllm,
            "name": "fake-vllm",
            "served_model_name": "fake-vlm",
            "args": """--max-model-len 4096 --limit-mm-per-prompt '{"image": 2}'""",
        },
        {**vllm, "name": "fake-vllm-crash", "args": "--fake-crash 'CUDA out of memory (stand-in)'"},
        {**vllm, "name": "fake-vllm-slow", "args": "--fake-ready-delay 300"},
        {
            "name": "fake-sglang",
            "backend": "sglang",
            "model": "org/fake-vlm-7b",
            "env": "venv",
            "packages": sglang_packages,
            "gpus": "2",
            "args": "--mem-fraction-static 0.8",
            "concurrency": "2",
        },
        {
            "name": "api",
            "backend": "openai",
            "model": "gpt-test",
            "base_url": f"http://127.0.0.1:{endpoint.port}/v1",
            "api_key_env": "VLMHB_TEST_API_KEY",
            "headers": "X-Team: vlmhb",
            "max_tokens": "7",
            "temperature": "0.3",
            "extra_body": '{"top_p": 0.9}',
            "concurrency": "2",
        },
    ]
    config = write_config(tmp / "config", models, "*;docs-vqa;2\n")
    try:
        proc = run_benchmark(
            config,
            tmp / "results",
            "served",
            {
                "VLMHB_TEST_API_KEY": API_KEY,
                "VLMHB_SERVER_START_TIMEOUT_S": str(START_TIMEOUT_S),
                "VLMHB_MAX_PARALLEL_MODELS": "3",
            },
        )
    finally:
        endpoint.close()
    return proc, tmp / "results" / "served", endpoint


def test_served_run_fails_only_the_broken_servers(served_run):
    proc, run_dir, _ = served_run
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    pairs = manifest_pairs(run_dir)
    assert {m: p["status"] for m, p in pairs.items()} == {
        "fake-vllm": "completed",
        "fake-sglang": "completed",
        "api": "completed",
        "fake-vllm-crash": "failed",
        "fake-vllm-slow": "failed",
    }, pairs


def test_vllm_is_launched_with_its_flags_and_answers_through_the_benchmark(served_run):
    _, run_dir, _ = served_run
    launch = launch_line(run_dir, "fake-vllm")
    assert launch["model"] == "org/fake-vlm-7b" and launch["served_model_name"] == ["fake-vlm"]
    assert launch["host"] == "127.0.0.1" and launch["tensor_parallel_size"] == 2
    assert launch["limit_mm_per_prompt"] == {"image": 2}, "the row's args override the default limit"
    assert launch["max_model_len"] == 4096
    assert launch_line(run_dir, "fake-vllm-slow")["limit_mm_per_prompt"] == {"image": 8}, "the default limit"
    preds = pl.read_parquet(run_dir / "predictions" / "fake-vllm" / "docs-vqa.parquet")
    assert preds.height == 2 and preds["error"].null_count() == 2
    assert (preds["output_tokens"] == 6).all() and (preds["ttft_s"] > 0).all()
    perf = performance(run_dir)["fake-vllm"]
    assert perf["peak_rss_mb"] > 10 and perf["peak_gpu_mb"] is None
    assert perf["server_start_s"] >= 0.5, "includes the stand-in's load delay"
    assert perf["output_tokens_per_s"] > 0


def test_sglang_is_launched_with_its_flags(served_run):
    _, run_dir, _ = served_run
    launch = launch_line(run_dir, "fake-sglang")
    assert launch["model"] == "org/fake-vlm-7b" and launch["served_model_name"] == "fake-sglang"
    assert launch["tp_size"] == 2 and launch["mem_fraction_static"] == 0.8 and launch["port"] > 0
    preds = pl.read_parquet(run_dir / "predictions" / "fake-sglang" / "docs-vqa.parquet")
    assert preds["error"].null_count() == 2 and (preds["output_tokens"] > 0).all()
    assert performance(run_dir)["fake-sglang"]["peak_rss_mb"] > 10


def test_a_crashing_server_fails_with_its_log_tail(served_run):
    _, run_dir, _ = served_run
    error = manifest_pairs(run_dir)["fake-vllm-crash"]["error"]
    assert error.startswith("ServerError: the server exited with code 1 before it was ready")
    assert "RuntimeError: CUDA out of memory (stand-in)" in error and "vlmhb-fake vllm launch" in error


def test_a_server_that_never_answers_times_out_with_its_log_tail(served_run):
    import psutil

    _, run_dir, _ = served_run
    error = manifest_pairs(run_dir)["fake-vllm-slow"]["error"]
    assert f"did not answer /v1/models within {START_TIMEOUT_S} s" in error
    assert "loading org/fake-vlm-7b" in error
    leftovers = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if {"--fake-ready-delay", "300"} <= set(p.info["cmdline"] or [])
    ]
    assert leftovers == [], "the server that timed out was stopped"


def test_openai_endpoint_gets_the_key_header_and_sampling_params(served_run):
    _, run_dir, endpoint = served_run
    assert endpoint.authorized.count("/v1/models") >= 1
    assert endpoint.authorized.count("/v1/chat/completions") == 2
    # The memory report is asked of every server without credentials; an external endpoint has none to give.
    assert set(endpoint.refused) <= {"/metrics/memory"}, endpoint.refused
    assert len(endpoint.bodies) == 2
    for body in endpoint.bodies:
        assert body["model"] == "gpt-test" and body["max_tokens"] == 7 and body["temperature"] == 0.3
        assert body["top_p"] == 0.9 and body["stream"] is True
    preds = pl.read_parquet(run_dir / "predictions" / "api" / "docs-vqa.parquet")
    assert preds["error"].null_count() == 2 and (preds["output_tokens"] == 7).all()
    perf = performance(run_dir)["api"]
    assert perf["peak_rss_mb"] is None and perf["peak_gpu_mb"] is None, "an endpoint's memory is unknown"


def test_the_key_is_in_no_file_and_no_output(served_run):
    proc, run_dir, _ = served_run
    assert API_KEY not in proc.stdout and API_KEY not in proc.stderr
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) > 10
    assert [str(p) for p in files if API_KEY.encode() in p.read_bytes()] == []

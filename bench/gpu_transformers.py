"""The transformers backend (`transformers serve`) on CUDA, GPU memory from NVML (not a test; needs a GPU).

    python bench/gpu_transformers.py                              # a tiny random LLaVA, built on the fly
    python bench/gpu_transformers.py --model /models/SmolVLM-256M-Instruct --dtype bfloat16
    python bench/gpu_transformers.py --concurrency 4 --args "--attn-implementation sdpa"

Builds (or reuses) the transformers env with EnvManager, as the benchmark does (default packages: CUDA torch
from the index, transformers with its serving extra), starts `transformers serve` in it from a models.csv row
(`--engine-arg device=cuda --engine-arg dtype=DTYPE`, plus --args), sends --requests streamed requests with a
bundled document page through the benchmark's client, and prints TTFT p50, requests/s, output tokens/s, the
server tree's peak RSS and its peak GPU memory, sampled through NVML over the server's process tree (the API
server and its model process) by this process, as the benchmark does (nvidia-ml-py is in the orchestrator's
dependencies). Without an NVIDIA GPU it prints one line saying so and exits 0, having started nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PAGE = REPO / "configs" / "default" / "data" / "images" / "invoice_01.png"


def gpu_count() -> int:
    """NVIDIA GPUs NVML sees, 0 when there is no driver, no device or no nvidia-ml-py (then nvidia-smi)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml.nvmlDeviceGetCount()
    except Exception:
        pass
    smi = shutil.which("nvidia-smi")
    if not smi:
        return 0
    done = subprocess.run([smi, "-L"], capture_output=True, text=True)
    return sum(line.startswith("GPU ") for line in done.stdout.splitlines()) if done.returncode == 0 else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="local folder or hub id (default: a tiny random LLaVA)")
    p.add_argument(
        "--packages", default="torch transformers[serving] tokenizers", help="the env's requirements"
    )
    p.add_argument("--dtype", default="float16")
    p.add_argument("--args", default="", help="more of the row's args (transformers serve's own flags)")
    p.add_argument("--requests", type=int, default=16)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--start-timeout", type=float, default=900)
    a = p.parse_args(argv)

    gpus = gpu_count()
    if gpus == 0:
        print("no NVIDIA GPU here (NVML and nvidia-smi see none): nothing measured, nothing started")
        return 0

    from environments.backends import BACKENDS
    from environments.launch import served_name, start_server
    from environments.manager import EnvManager
    from vlmhyperbench.config import ModelRow
    from vlmhyperbench.inference import Endpoint, RequestItem, run_requests

    work = Path(tempfile.mkdtemp(prefix="vlmhb-gpu-bench-"))
    manager = EnvManager()
    packages = tuple(a.packages.split())
    backend = BACKENDS.get("transformers")
    probe_row = ModelRow(name="gpu-bench", backend="transformers", model="x", packages=packages, gpus=1)
    print(f"{gpus} GPU(s); building or reusing the transformers env ({' '.join(packages)}) ...", flush=True)
    env = manager.ensure(manager.spec(probe_row, backend, "venv"), work / "build.log")
    print(f"env {env.location} ({'cached' if env.cached else f'built in {env.build_s:.0f} s'})")
    model = a.model
    if model is None:
        from environments.tiny_models import build_in

        model = str(build_in(env.python, "llava", work / "tiny-llava"))
    row = ModelRow(
        name="gpu-bench",
        backend="transformers",
        model=model,
        packages=packages,
        gpus=1,
        args=("--engine-arg", "device=cuda", "--engine-arg", f"dtype={a.dtype}", *shlex.split(a.args)),
        max_tokens=a.max_tokens,
        env_vars={"HF_HUB_OFFLINE": "1"} if a.model is None else {},
    )
    server = start_server(env, row, backend, log_path=work / "server.log", timeout_s=a.start_timeout)
    try:
        answers = []
        items = (RequestItem(str(i), "Read all the text on this page.", (PAGE,)) for i in range(a.requests))
        endpoint = Endpoint(
            base_url=server.base_url + "/v1", model=served_name(row, backend), max_tokens=a.max_tokens
        )
        stats = asyncio.run(
            run_requests(endpoint, items, concurrency=a.concurrency, timeout_s=600, on_answer=answers.append)
        )
    finally:
        server.stop()
    ok = [x for x in answers if x.error is None]
    tokens = sum(x.output_tokens or 0 for x in ok)
    ttfts = sorted(x.ttft_s for x in ok if x.ttft_s is not None)
    print(f"requests {stats.requests}, errors {stats.errors}, window {stats.window_s:.2f} s")
    if ttfts:
        window = max(stats.window_s, 1e-9)
        print(
            f"TTFT p50 {ttfts[len(ttfts) // 2] * 1000:.1f} ms, {len(ok) / window:.2f} requests/s, "
            f"{tokens / window:.1f} output tokens/s (concurrency {a.concurrency})"
        )
    print(f"peak RSS of the server tree: {server.peak_rss_mb:.0f} MB")
    nvml = server.peak_gpu_mb
    print(
        "peak GPU memory of the server tree (NVML): "
        + (f"{nvml:.0f} MB" if nvml is not None else "n/a (NVML sees no process of the server)")
    )
    for x in answers:
        if x.error:
            print(f"  sample {x.sample_id} failed: {x.error}")
    return 0 if not stats.errors else 1


if __name__ == "__main__":
    sys.exit(main())

"""A load curve through the whole benchmark against a server of known latency and capacity (not a test).

    python bench/bench_load_curve.py                       # levels 2 4 8 32 against capacity 8
    python bench/bench_load_curve.py --levels 1,4,16,64 --capacity 16 --samples 400

The synthetic server (tests/support/synthetic_server.py) answers in a known time, ``ttft + (tokens -
1) * itl``, and generates at most ``--capacity`` requests at once, so the most any client can reach at
concurrency C is ``min(C, capacity) / latency`` and the curve saturates at the capacity. This script runs
`python -m flows.benchmark` with plan.csv `concurrency` = the levels (one `openai` row, a dataset of small
PNG pages), then, against the same server in the same run, a bare aiohttp loop (vLLM's benchmark request
function reduced to its core, the same request bodies) at each level, before and after the benchmark.
Printed per level: the benchmark's requests/s (performance.parquet), the bare loop's (the mean of its two
runs), their ratio, the bound, and the saturation level the benchmark reported against the one the
capacity implies (the first level at or above it, when the next level exists).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.fault_servers import FaultServer, simple_dataset  # noqa: E402
from vlmhyperbench.inference.chat import Endpoint, RequestItem, build_body  # noqa: E402

MODEL = "synthetic"


async def bare_aiohttp(url: str, bodies: list[bytes], concurrency: int) -> float:
    """Requests/s of a semaphore loop that posts BODIES and reads each stream to its end."""
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    first, last = [float("inf")], [0.0]

    async def one(session: aiohttp.ClientSession, body: bytes) -> None:
        async with sem:
            st = time.perf_counter()
            first[0] = min(first[0], st)
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
                async for _ in resp.content:
                    pass
            last[0] = max(last[0], time.perf_counter())

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(one(session, b) for b in bodies))
    return len(bodies) / (last[0] - first[0])


def bodies_of(dataset: Path, base_url: str, n: int) -> list[bytes]:
    """The request bodies the benchmark sends for the dataset's samples (prompt and page image)."""
    from vlmhyperbench.config import pick_template, render_prompt
    from vlmhyperbench.datasets import read_dataset

    endpoint = Endpoint(base_url=base_url, model=MODEL, max_tokens=256)
    out = []
    for s in read_dataset("vlmhyperbench", dataset, requires=())[:n]:
        prompt = render_prompt(
            pick_template("vqa", None, s.doc_class, s.question_type, None), question=s.question
        )
        out.append(build_body(endpoint, RequestItem(s.id, prompt, s.images)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--levels", default="2,4,8,32")
    p.add_argument("--capacity", type=int, default=8)
    p.add_argument("--ttft-ms", type=float, default=50.0)
    p.add_argument("--itl-ms", type=float, default=5.0)
    p.add_argument("--tokens", type=int, default=8)
    p.add_argument("--samples", type=int, default=240, help="samples per level")
    args = p.parse_args()
    levels = sorted(int(x) for x in args.levels.split(","))
    latency = (args.ttft_ms + (args.tokens - 1) * args.itl_ms) / 1000
    server = FaultServer(
        "--ttft-ms", str(args.ttft_ms), "--itl-ms", str(args.itl_ms), "--tokens", str(args.tokens),
        "--capacity", str(args.capacity), model=MODEL,
    )  # fmt: skip
    print(
        f"synthetic server: {latency * 1000:g} ms a request, capacity {args.capacity}; levels {levels}; "
        f"{args.samples} samples a level; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at the start"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "config"
            annotation = simple_dataset(root / "qa", args.samples)
            (root / "models.csv").write_text(
                f"name;backend;model;base_url;env;max_tokens\nsynthetic;openai;{MODEL};{server.base_url};none;256\n"
            )
            (root / "datasets.csv").write_text("name;task;path;metrics\nqa;vqa;qa;exact_match\n")
            (root / "plan.csv").write_text(
                f"model;dataset;concurrency\nsynthetic;qa;{' '.join(map(str, levels))}\n"
            )
            url = server.base_url + "/chat/completions"
            bodies = bodies_of(annotation, server.base_url, args.samples)
            asyncio.run(bare_aiohttp(url, bodies[:32], 8))  # warm-up
            bare = {c: [asyncio.run(bare_aiohttp(url, bodies, c))] for c in levels}
            env = {
                **os.environ,
                "PREFECT_HOME": str(Path(tmp) / "prefect"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            }
            t = time.perf_counter()
            argv = ["--config", str(root), "--output", str(Path(tmp) / "out"), "--run-id", "curve"]
            done = subprocess.run(
                [sys.executable, "-m", "flows.benchmark", *argv],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
            )
            took = time.perf_counter() - t
            if done.returncode != 0:
                raise SystemExit(
                    f"the benchmark failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
                )
            for c in levels:
                bare[c].append(asyncio.run(bare_aiohttp(url, bodies, c)))
            perf = pl.read_parquet(Path(tmp) / "out" / "curve" / "performance.parquet").sort("concurrency")
    finally:
        server.stop()
    print(f"the benchmark (plan, {len(levels)} levels, scoring, report) took {took:.1f} s")
    print(
        f"{'level':>6}{'bound':>9}{'benchmark':>11}{'bare':>9}{'ratio':>8}{'p50 s':>8}{'p99 s':>8}"
        "  saturation"
    )
    for r in perf.iter_rows(named=True):
        c = int(r["concurrency"])
        bound = min(c, args.capacity) / latency
        b = sum(bare[c]) / len(bare[c])
        print(
            f"{c:>6}{bound:>9.1f}{r['requests_per_s']:>11.1f}{b:>9.1f}{r['requests_per_s'] / b:>8.1%}"
            f"{r['latency_p50_s']:>8.3f}{r['latency_p99_s']:>8.3f}  {'★' if r['saturation'] else ''}"
        )
    reported = next((int(r["concurrency"]) for r in perf.iter_rows(named=True) if r["saturation"]), None)
    implied = next((c for c, nxt in zip(levels, levels[1:]) if c >= args.capacity), None)
    print(f"saturation level: reported {reported}, implied by capacity {args.capacity}: {implied}")
    print("bare runs (before, after): " + "; ".join(f"{c}: {b[0]:.1f}, {b[1]:.1f}" for c, b in bare.items()))


if __name__ == "__main__":
    main()

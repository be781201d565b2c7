"""How close the inference client gets to the server's true speed, and what it costs (not a test).

    python bench/bench_inference.py                      # concurrency 1, 8, 64: ours vs bare loops
    python bench/bench_inference.py --pin --repeat 3     # the same, client and server on a CPU each
    python bench/bench_inference.py --memory 100000      # RSS while 100,000 samples stream to a journal
    python bench/bench_inference.py --store              # cost of one journal append, with and without fsync

The synthetic server (tests/support/synthetic_server.py) runs in its own process with a known TTFT and
inter-token delay, so the true latency of a request is ``ttft + (tokens - 1) * itl`` and the most a
closed loop of C requests in flight can reach is ``C / true latency``. Printed per client:
achieved requests/s and its ratio to that bound; the median client TTFT minus the server's
configured TTFT (and minus the TTFT the server itself measured, handler entry to first chunk
written); client CPU per request (``time.process_time`` of this process over the run, the server's
CPU not included), and the server's. Clients, each driving the same load:
- ``ours``: ``run_requests`` journaling every answer to a ``PredictionJournal`` (the flow's path);
- ``bare-AsyncOpenAI``: a semaphore loop over the ``openai`` SDK with its default httpx transport;
- ``sdk-aiohttp``: the same loop over the SDK on its aiohttp transport (``openai.DefaultAioHttpClient``);
- ``bare-aiohttp``: vLLM's benchmark request function reduced to its core (one shared session).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.synthetic_server import launch  # noqa: E402
from vlmhyperbench.inference import Answer, Endpoint, PredictionJournal, RequestItem, run_requests  # noqa: E402

MODEL = "synthetic"


def _server(base_url: str, path: str, method: str = "GET") -> dict:
    root = base_url.removesuffix("/v1")
    req = urllib.request.Request(root + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if path == "/stats" else {}


def _items(n: int, images=()):
    for i in range(n):
        yield RequestItem(
            str(i),
            f"Question {i}: what does the document say?",
            images,
            meta={
                "doc_class": "doc",
                "question_type": "free",
                "references": ["answer"],
                "prompt": f"Question {i}: what does the document say?",
            },
        )


async def _ours(base_url: str, n: int, concurrency: int, journal: Path) -> tuple[float, list[float], int]:
    ttfts: list[float] = []
    store = PredictionJournal(journal)

    def on_answer(answer: Answer) -> None:
        store.append(answer)
        if answer.ttft_s is not None:
            ttfts.append(answer.ttft_s)

    with store:
        stats = await run_requests(
            Endpoint(base_url=base_url, model=MODEL, max_tokens=64),
            _items(n),
            concurrency=concurrency,
            timeout_s=30,
            on_answer=on_answer,
        )
    return stats.window_s, ttfts, stats.errors


async def _bare_openai(
    base_url: str, n: int, concurrency: int, transport: str = "httpx"
) -> tuple[float, list[float], int]:
    """A semaphore loop over the SDK's typed streaming client, on its default transport (httpx) or its
    aiohttp one (`DefaultAioHttpClient`, the `openai[aiohttp]` extra)."""
    from openai import AsyncOpenAI, DefaultAioHttpClient

    http_client = DefaultAioHttpClient() if transport == "aiohttp" else None
    client = AsyncOpenAI(base_url=base_url, api_key="none", max_retries=0, http_client=http_client)
    sem = asyncio.Semaphore(concurrency)
    ttfts: list[float] = []
    errors = 0
    first = [float("inf")]
    last = [0.0]

    async def one(i: int) -> None:
        nonlocal errors
        async with sem:
            st = time.perf_counter()
            first[0] = min(first[0], st)
            ttft = None
            try:
                stream = await client.chat.completions.create(
                    model=MODEL,
                    max_tokens=64,
                    stream=True,
                    stream_options={"include_usage": True},
                    messages=[{"role": "user", "content": f"Question {i}: what does the document say?"}],
                )
                async for chunk in stream:
                    if ttft is None and chunk.choices and chunk.choices[0].delta.content:
                        ttft = time.perf_counter() - st
            except Exception:
                errors += 1
                return
            ttfts.append(ttft)
            last[0] = max(last[0], time.perf_counter())

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()
    return last[0] - first[0], ttfts, errors


async def _bare_aiohttp(base_url: str, n: int, concurrency: int) -> tuple[float, list[float], int]:
    """vLLM's benchmark request function, reduced: a semaphore, readline-style iteration, json.loads."""
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    ttfts: list[float] = []
    errors = 0
    first = [float("inf")]
    last = [0.0]
    url = base_url + "/chat/completions"

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal errors
        async with sem:
            body = {
                "model": MODEL,
                "max_tokens": 64,
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": f"Question {i}: what does the document say?"}],
            }
            st = time.perf_counter()
            first[0] = min(first[0], st)
            ttft = None
            async with session.post(url, json=body) as resp:
                if resp.status != 200:
                    errors += 1
                    return
                async for line in resp.content:
                    line = line.strip()
                    if not line.startswith(b"data: ") or line == b"data: [DONE]":
                        continue
                    data = json.loads(line[6:])
                    if ttft is None and data["choices"] and data["choices"][0]["delta"].get("content"):
                        ttft = time.perf_counter() - st
            ttfts.append(ttft)
            last[0] = max(last[0], time.perf_counter())

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(one(session, i) for i in range(n)))
    return last[0] - first[0], ttfts, errors


def throughput(args: argparse.Namespace) -> None:
    true_latency = (args.ttft_ms + (args.tokens - 1) * args.itl_ms) / 1000
    server_cpus = None
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise SystemExit("--pin needs two CPUs")
        os.sched_setaffinity(0, {cpus[0]})
        server_cpus = {cpus[1]}
    where = (
        f"client pinned to CPU {cpus[0]}, server to CPU {cpus[1]}"
        if args.pin
        else f"client and server share {os.cpu_count()} CPUs"
    )
    print(
        f"synthetic server: TTFT {args.ttft_ms:g} ms, {args.tokens} tokens {args.itl_ms:g} ms apart -> "
        f"true latency {true_latency * 1000:g} ms; {where}; load average {os.getloadavg()[0]:.2f} "
        f"at the start (other work on this machine counts)"
    )
    header = (
        f"{'client':<17}{'conc':>5}{'requests':>9}{'req/s':>9}{'bound':>8}{'ratio':>7}"
        f"{'TTFT p50':>10}{'err vs cfg':>11}{'vs server':>10}{'CPU/req':>9}{'errors':>7}"
        f"{'srv CPU':>11}"
    )
    print(header)
    print("-" * len(header))
    results: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
    with (
        launch(
            "--ttft-ms",
            str(args.ttft_ms),
            "--itl-ms",
            str(args.itl_ms),
            "--tokens",
            str(args.tokens),
            "--model",
            MODEL,
            cpus=server_cpus,
        ) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        asyncio.run(_ours(url, 16, 4, Path(tmp) / "warmup.jsonl"))
        for concurrency in args.concurrency:
            bound = concurrency / true_latency
            n = max(concurrency * 10, int(bound * args.seconds))
            for _ in range(args.repeat):  # clients interleaved, so that a busy moment hits them alike
                for name in args.clients:
                    _server(url, "/reset", "POST")
                    server_cpu = _server(url, "/stats")["cpu_s"]
                    cpu = time.process_time()
                    if name == "ours":
                        journal = Path(tmp) / f"{concurrency}.jsonl"
                        window, ttfts, errors = asyncio.run(_ours(url, n, concurrency, journal))
                    elif name == "bare-aiohttp":
                        window, ttfts, errors = asyncio.run(_bare_aiohttp(url, n, concurrency))
                    elif name == "sdk-aiohttp":
                        window, ttfts, errors = asyncio.run(_bare_openai(url, n, concurrency, "aiohttp"))
                    else:
                        window, ttfts, errors = asyncio.run(_bare_openai(url, n, concurrency))
                    cpu = time.process_time() - cpu
                    server = _server(url, "/stats")
                    server_cpu = server["cpu_s"] - server_cpu
                    rate = (n - errors) / window
                    ttft = statistics.median(ttfts)
                    err_cfg, err_srv = ttft - args.ttft_ms / 1000, ttft - server["ttft_p50_s"]
                    row = (rate / bound, err_cfg, err_srv, cpu / n)
                    results.setdefault((name, concurrency), []).append(row)
                    print(
                        f"{name:<17}{concurrency:>5}{n:>9}{rate:>9.1f}{bound:>8.1f}{rate / bound:>7.1%}"
                        f"{ttft * 1000:>8.2f}ms{err_cfg * 1000:>+9.2f}ms{err_srv * 1000:>+8.2f}ms"
                        f"{cpu / n * 1000:>7.3f}ms{errors:>7}{server_cpu / n * 1000:>9.3f}ms"
                    )
        print(
            f"(server-measured p50 of the last run: TTFT {server['ttft_p50_s'] * 1000:.2f} ms, "
            f"latency {server['latency_p50_s'] * 1000:.2f} ms)"
        )
    if args.repeat > 1:
        print(f"medians over {args.repeat} runs:")
        for (name, concurrency), rows in results.items():
            ratio, err_cfg, err_srv, cpu = (statistics.median(col) for col in zip(*rows, strict=True))
            print(
                f"  {name:<16} concurrency {concurrency:>3}: {ratio:6.1%} of the bound, TTFT error "
                f"{err_cfg * 1000:+.2f} ms vs configured, {err_srv * 1000:+.2f} ms vs the server's own, "
                f"{cpu * 1000:.3f} ms CPU/request"
            )


class _LazyImage:
    """Read from disk only when its request is built, as a dataset's images are."""

    mime = "image/png"

    def __init__(self, path: Path):
        self.path = path

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def memory(args: argparse.Namespace) -> None:
    import psutil

    proc = psutil.Process()
    n = args.memory
    with (
        launch("--ttft-ms", "0", "--itl-ms", "0", "--tokens", "4", "--model", MODEL) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        image = Path(tmp) / "page.png"
        image.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
        store = PredictionJournal(Path(tmp) / "journal.jsonl")
        marks = {n * k // 10 for k in range(1, 11)}
        samples: list[tuple[int, float]] = []

        def on_progress(stats) -> None:
            if stats.requests in marks:
                samples.append((stats.requests, proc.memory_info().rss / 2**20))

        start_rss = proc.memory_info().rss / 2**20
        t = time.perf_counter()
        with store:
            stats = asyncio.run(
                run_requests(
                    Endpoint(base_url=url, model=MODEL, max_tokens=16),
                    _items(n, [_LazyImage(image)]),
                    concurrency=args.memory_concurrency,
                    timeout_s=30,
                    on_answer=store.append,
                    on_progress=on_progress,
                )
            )
        wall = time.perf_counter() - t
        print(
            f"{n} samples (one 4 KiB image each), concurrency {args.memory_concurrency}: "
            f"{stats.answered} answered, {stats.errors} errors in {wall:.1f} s "
            f"({stats.requests_per_s:.0f} req/s)"
        )
        print(f"RSS before the run: {start_rss:.1f} MiB")
        for done, rss in samples:
            print(f"  after {done:>7} answers: RSS {rss:7.1f} MiB")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        journal_mib = store.path.stat().st_size / 2**20
        print(f"peak RSS (getrusage) during the run: {peak:.1f} MiB; journal {journal_mib:.1f} MiB")
        t = time.perf_counter()
        store.to_parquet(Path(tmp) / "predictions.parquet")
        print(
            f"to_parquet of {n} rows: {time.perf_counter() - t:.2f} s, peak RSS after it "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB "
            f"(loads the journal once, at the end)"
        )


def store_cost(args: argparse.Namespace) -> None:
    answer = Answer(
        "s",
        "a typical short answer of a few words",
        None,
        1,
        0.05,
        0.085,
        0.005,
        0.005,
        8,
        0.0,
        1.0,
        2.0,
        0.0,
        {
            "doc_class": "invoice",
            "question_type": "free",
            "references": ["x", "y"],
            "prompt": "What is the total? " * 5,
        },
    )
    with tempfile.TemporaryDirectory(dir=args.store_dir) as tmp:
        for fsync in (False, True):
            store = PredictionJournal(Path(tmp) / f"j{fsync}.jsonl", fsync=fsync)
            n = 500 if fsync else 20000
            with store:
                t = time.perf_counter()
                for i in range(n):
                    answer.sample_id = str(i)
                    store.append(answer)
                dt = time.perf_counter() - t
            print(
                f"PredictionJournal.append, fsync={fsync!s:<5}: {dt / n * 1e6:8.1f} us per answer "
                f"({n} appends, {args.store_dir or tempfile.gettempdir()})"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 64])
    p.add_argument(
        "--clients",
        type=lambda s: s.split(","),
        default=["ours", "bare-AsyncOpenAI", "sdk-aiohttp", "bare-aiohttp"],
        help="any of ours, bare-AsyncOpenAI, sdk-aiohttp (the SDK on DefaultAioHttpClient), bare-aiohttp",
    )
    p.add_argument("--ttft-ms", type=float, default=50.0)
    p.add_argument("--itl-ms", type=float, default=5.0)
    p.add_argument("--tokens", type=int, default=8)
    p.add_argument("--seconds", type=float, default=6.0, help="about how long each run lasts at the bound")
    p.add_argument("--repeat", type=int, default=1, help="runs per client and concurrency; prints medians")
    p.add_argument(
        "--pin",
        action="store_true",
        help="pin this process (the clients) to one CPU and the server to another",
    )
    p.add_argument("--memory", type=int, metavar="N", help="instead: stream N samples and print RSS")
    p.add_argument("--memory-concurrency", type=int, default=64)
    p.add_argument("--store", action="store_true", help="instead: time journal appends with/without fsync")
    p.add_argument("--store-dir", default=None, help="where --store writes (default: the temp dir)")
    args = p.parse_args()
    if args.memory:
        memory(args)
    elif args.store:
        store_cost(args)
    else:
        throughput(args)


if __name__ == "__main__":
    main()

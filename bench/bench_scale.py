"""What the harness costs as the number of models grows (not a test).

    python bench/bench_scale.py                            # 10, 100 and 500 models x 2 datasets of 10
    python bench/bench_scale.py --models 100 --api server  # against a Prefect server (PREFECT_API_URL)

Every model is an `openai` row against one instant synthetic endpoint (no time to first token, 2
tokens), so what is measured is the orchestration, not inference. Each size runs in a fresh process,
as `python -m flows.benchmark` runs (its command line's `main`), then `flows.rescore` on the run.
Printed per size: pairs, harness failures (pairs `errored`), the wall time per pair of the models stage
(every model's subflow: orchestration), of the report and of the rescore, the whole run, the peak RSS
of the benchmark process and of the Prefect API server it started, and the Prefect API calls per pair
(HTTP requests of the Prefect client, counted in the process, less the polls of /health while the API
starts; events go over a websocket and are not counted).

`--api temporary` (default) is the user's case with no PREFECT_API_URL: the command starts a temporary
API (SQLite; its database is created before the run, as a user's exists after their first run).
`--api server` uses the server PREFECT_API_URL names (e.g. `prefect server start` on PostgreSQL, README
"Running in production").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def write_config(root: Path, models: int, datasets: int, samples: int, base_url: str) -> None:
    from tests.support.fault_servers import simple_dataset

    lines = ["name;task;format;path"]
    for d in range(datasets):
        simple_dataset(root / f"d{d}", samples)
        lines.append(f"d{d};vqa;vlmhyperbench;d{d}")
    (root / "datasets.csv").write_text("\n".join(lines) + "\n")
    rows = [f"m{i:04d};openai;synthetic;{base_url};none;4" for i in range(models)]
    (root / "models.csv").write_text("name;backend;model;base_url;env;concurrency\n" + "\n".join(rows) + "\n")


def child(args: argparse.Namespace) -> None:
    """One size, in this process: the benchmark's command line, then the rescore; JSON on stdout."""
    import re
    from collections import Counter

    import httpx

    calls = {"n": 0}
    paths: Counter = Counter()
    waited: Counter = Counter()  # seconds each kind of call took, from send to the response's headers

    def count(request) -> str | None:
        if "/api/" not in str(request.url):
            return None
        # the client's wait for a starting API polls /health: a one-time cost, not the pairs'
        calls["n"] += request.url.path != "/api/health"
        path = f"{request.method} " + re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "ID", request.url.path)
        paths[path] += 1
        return path

    original_async, original_sync = httpx.AsyncClient.send, httpx.Client.send

    async def counting_async(self, request, *a, **kw):
        path, started = count(request), time.perf_counter()
        try:
            return await original_async(self, request, *a, **kw)
        finally:
            if path:
                waited[path] += time.perf_counter() - started

    def counting_sync(self, request, *a, **kw):
        path, started = count(request), time.perf_counter()
        try:
            return original_sync(self, request, *a, **kw)
        finally:
            if path:
                waited[path] += time.perf_counter() - started

    httpx.AsyncClient.send, httpx.Client.send = counting_async, counting_sync
    from flows.benchmark import main as benchmark_main
    from flows.rescore import main as rescore_main

    def cpu_s(who: int) -> float:
        usage = resource.getrusage(who)
        return usage.ru_utime + usage.ru_stime

    root = Path(args.work)
    started, cpu_started = time.perf_counter(), cpu_s(resource.RUSAGE_SELF)
    code = benchmark_main(
        ["--config", str(root / "config"), "--output", str(root / "results"), "--run-id", "s"]
    )
    whole_s = time.perf_counter() - started
    cpu = {"client": cpu_s(resource.RUSAGE_SELF) - cpu_started, "api": cpu_s(resource.RUSAGE_CHILDREN)}
    benchmark_calls = calls["n"]
    run = root / "results" / "s"
    started = time.perf_counter()
    rescore_main([str(run)])
    rescore_s = time.perf_counter() - started
    manifest = json.loads((run / "manifest.json").read_text())
    statuses = [p["status"] for p in manifest["pairs"]]
    print(
        "RESULT "
        + json.dumps(
            {
                "exit": code,
                "pairs": len(statuses),
                "completed": statuses.count("completed"),
                "errored": statuses.count("errored"),
                "failed": statuses.count("failed"),
                "timings": manifest.get("timings", {}),
                "whole_s": whole_s,
                "cpu_s": cpu,
                "rescore_s": rescore_s,
                "api_calls": benchmark_calls,
                "api_paths": {p: [n, waited[p]] for p, n in paths.most_common(12)},
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "api_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        ),
        flush=True,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=int, nargs="+", default=[10, 100, 500])
    p.add_argument("--datasets", type=int, default=2)
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--api", choices=["temporary", "server"], default="temporary")
    p.add_argument(
        "--keep", type=Path, default=None, help="keep each size's config and run under this folder"
    )
    p.add_argument("--parallel", type=int, help="VLMHB_MAX_PARALLEL_MODELS (default: by backend kind)")
    p.add_argument(
        "--calls",
        action="store_true",
        help="also print the API calls per pair by endpoint, with the time each took",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return 0
    from tests.support.synthetic_server import launch

    env = dict(os.environ)  # Prefect's own log level: its run logs reach the API as a user's would
    if args.parallel:
        env["VLMHB_MAX_PARALLEL_MODELS"] = str(args.parallel)
    if args.api == "temporary":
        env.pop("PREFECT_API_URL", None)
    elif not env.get("PREFECT_API_URL"):
        p.error("--api server needs PREFECT_API_URL (a running Prefect server)")
    print(
        f"{'models':>6} {'pairs':>6} {'errored':>7} {'failed':>6} {'models s/pair':>13} {'report s':>8} "
        f"{'rescore s':>9} {'whole s':>8} {'RSS MB':>7} {'API RSS MB':>10} {'API calls/pair':>14}"
    )
    with launch("--ttft-ms", "0", "--itl-ms", "0", "--tokens", "2") as base_url:
        for models in args.models:
            with tempfile.TemporaryDirectory(prefix="vlmhb-scale-") as scratch:
                work = str(args.keep / f"models-{models}") if args.keep else scratch
                write_config(Path(work) / "config", models, args.datasets, args.samples, base_url)
                env["PREFECT_HOME"] = str(Path(work) / "prefect-home")
                if args.api == "temporary":  # a user's database exists after their first run: not timed
                    subprocess.run(
                        [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
                        env=env,
                        capture_output=True,
                        check=True,
                    )
                done = subprocess.run(
                    [sys.executable, __file__, "--child", "--work", work],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
                if line is None:
                    print(f"{models}: no result (exit {done.returncode})\n{done.stderr[-3000:]}")
                    continue
                r = json.loads(line[len("RESULT ") :])
                t, n = r["timings"], r["pairs"]
                per_pair = t.get("models_s", 0) / n
                print(
                    f"{models:>6} {n:>6} {r['errored']:>7} {r['failed']:>6} {per_pair:>13.3f} "
                    f"{t.get('report_s', 0):>8.2f} {r['rescore_s']:>9.2f} {r['whole_s']:>8.1f} "
                    f"{r['rss_mb']:>7.0f} {r['api_rss_mb']:>10.0f} {r['api_calls'] / n:>14.1f}",
                    flush=True,
                )
                print(
                    f"{'':>8}CPU s/pair: {r['cpu_s']['client'] / n:.3f} this process, "
                    f"{r['cpu_s']['api'] / n:.3f} the API server it started (and other children)"
                )
                if args.calls:
                    for path, (count, seconds) in r["api_paths"].items():
                        print(f"{'':>8}{count / n:>8.2f}/pair {1000 * seconds / count:>8.1f} ms each  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

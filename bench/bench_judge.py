"""What judging costs beyond the judge's own latency, and what rescoring judged samples costs (not a test).

    python bench/bench_judge.py                         # both parts
    python bench/bench_judge.py --part rate --n 3000    # judge requests against the bare client, one run
    python bench/bench_judge.py --part rescore --n 10000
    python bench/bench_judge.py --part rescore --run /tmp/bench-rescore-XXXX/out/judged   # reuse a run

rate: a synthetic judge (tests/support/synthetic_server.py) of known latency answers every question
`GRADE: C`. In one process and one Prefect flow run, alternately: the bare client (`run_requests` over the
same judge prompts, answers dropped) and the judging path (tasks.judging.judging: prompts planned from a
pair's predictions, answers parsed and journaled, re-asks ready), both at the same concurrency. Printed:
each one's requests/s over its measured window (first send to last completion), the bound C / true
latency, and the ratio judge / bare. The server shares the machine's cores with the client, so the ratio,
measured in one run, is the figure to read.

rescore: a real run folder of N judged samples (a candidate and a judge, both synthetic, through
`python -m flows.benchmark`; metrics anls, anls|judge and judge_correct), then `rescore` of it: in this
process on a Prefect API that already runs (the flow's own time), and as the command (`python -m
flows.rescore`, which starts Prefect's temporary API itself). Printed: the requests the judge got during
each rescore (must be 0) and the seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parents[1]


def write_dataset(root: Path, n: int) -> None:
    """N questions Q-i? about one page (the judge never sees it): one small PNG, N annotation rows."""
    from tests.support.fault_servers import make_images, write_annotation

    (name,) = make_images(root / "qa" / "images", 1)
    write_annotation(root / "qa", [(f"s{i}", f"images/{name}", f"Q-{i}?", f"value {i}") for i in range(n)])


# ---------------------------------------------------------------- rate


def rate(n: int, concurrency: int, ttft_ms: float, itl_ms: float, rounds: int) -> None:
    import polars as pl
    from prefect import flow

    from tasks.judging import judging, plan_work
    from tests.support.synthetic_server import launch
    from vlmhyperbench.config import expand_plan, load_catalog
    from vlmhyperbench.inference import PREDICTION_SCHEMA, Endpoint, RequestItem, run_requests
    from vlmhyperbench.results import RunFolder

    tmp = Path(tempfile.mkdtemp(prefix="bench-judge-"))
    config = tmp / "config"
    write_dataset(config, 1)
    answers = tmp / "verdicts.json"
    answers.write_text(json.dumps({"Submitted answer": "GRADE: C"}))  # 8 characters: 8 chunks
    true_latency = (ttft_ms + 7 * itl_ms) / 1000
    with launch(
        "--answers", str(answers), "--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms), "--model", "judge"
    ) as url:
        (config / "models.csv").write_text(
            f"name;backend;model;base_url;env;concurrency\ncand;openai;cand;{url};none;8\n"
            f"judge;openai;judge;{url};none;{concurrency}\n"
        )
        (config / "datasets.csv").write_text("name;task;path;metrics;judge\nqa;vqa;qa;judge_correct;judge\n")
        catalog = load_catalog(config)
        (pair,) = expand_plan(catalog)
        predictions = pl.DataFrame(
            {
                "sample_id": [f"s{i}" for i in range(n)],
                "doc_class": ["form"] * n,
                "question_type": ["field"] * n,
                "prompt": [f"Answer: Q-{i}?" for i in range(n)],
                "prediction": [f"The value is {i}" for i in range(n)],
                "references": [[f"value {i}"] for i in range(n)],
                "attempts": [1] * n,
                "error": [None] * n,
                "question": [f"Q-{i}?" for i in range(n)],
            },
            schema_overrides=PREDICTION_SCHEMA,
        )
        endpoint = Endpoint(base_url=url, model="judge", max_tokens=64)

        @flow(name="bench-judge-rate")
        async def measure() -> list[tuple[str, float]]:
            out = []
            for r in range(rounds):
                run = RunFolder(tmp / f"run{r}")
                run.predictions(pair.key).parent.mkdir(parents=True, exist_ok=True)
                predictions.write_parquet(run.predictions(pair.key))
                work = plan_work(catalog, "judge", [pair], run)
                prompts = [ask.prompt for ask, _ in work[0].todo]
                stats = await run_requests(
                    endpoint,
                    (RequestItem(str(i), p) for i, p in enumerate(prompts)),
                    concurrency=concurrency,
                    timeout_s=30,
                    on_answer=lambda answer: None,
                )
                out.append(("bare", stats.answered / stats.window_s))
                await judging(
                    judge="judge", endpoint=endpoint, work=work, concurrency=concurrency, timeout_s=30
                )
                lines = pl.read_ndjson(run.verdicts("judge", pair.key))
                assert lines.height == n and lines["verdict"].eq("C").all(), "every verdict read"
                window = lines["finished_at"].max() - lines["sent_at"].min()
                out.append(("judge", n / window))
            return out

        results = asyncio.run(measure())
    bare = [v for k, v in results if k == "bare"]
    judged = [v for k, v in results if k == "judge"]
    bound = concurrency / true_latency
    print(
        f"judge server: TTFT {ttft_ms:g} ms, {itl_ms:g} ms between its 8 chunks -> true latency "
        f"{true_latency * 1000:.0f} ms; concurrency {concurrency}; bound {bound:.0f} req/s; "
        f"{n} requests x {rounds}"
    )
    for label, values in (("bare client ", bare), ("judging path", judged)):
        listed = " ".join(f"{v:.1f}" for v in values)
        print(f"{label}: {listed} req/s (median {statistics.median(values):.1f})")
    ratio = statistics.median(judged) / statistics.median(bare)
    print(f"judge / bare: {ratio:.3f} (medians of {rounds} alternating rounds)")


# ---------------------------------------------------------------- rescore


def make_judged_run(n: int, tmp: Path, env: dict) -> Path:
    """A real run folder of N judged samples: a candidate and a judge, both synthetic, through the command."""
    from tests.support.fault_servers import FaultServer

    config = tmp / "config"
    write_dataset(config, n)
    (tmp / "cand.json").write_text(json.dumps({"Q-": "The value is 3"}))
    (tmp / "judge.json").write_text(json.dumps({"Submitted answer": "GRADE: C"}))
    fast = ("--ttft-ms", "1", "--itl-ms", "0")
    cand = FaultServer("--answers", str(tmp / "cand.json"), *fast, model="cand")
    judge = FaultServer("--answers", str(tmp / "judge.json"), *fast, model="judge")
    try:
        (config / "models.csv").write_text(
            f"name;backend;model;base_url;env;concurrency\ncand;openai;cand;{cand.base_url};none;32\n"
            f"judge;openai;judge;{judge.base_url};none;32\n"
        )
        (config / "datasets.csv").write_text(
            "name;task;path;metrics;judge\nqa;vqa;qa;anls anls|judge judge_correct;judge\n"
        )
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "flows.benchmark", "--config", str(config), "--output", str(tmp / "out"),
             "--run-id", "judged"],
            cwd=REPO, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        took, verdicts = time.perf_counter() - started, judge.stats()["chats"]
        print(f"run of {n} judged samples: {took:.0f} s, {verdicts} verdicts")
    finally:
        cand.stop()
        judge.stop()
    return tmp / "out" / "judged"


def rescore(n: int, run: Path | None, repeat: int) -> None:
    import polars as pl
    from prefect.testing.utilities import prefect_test_harness

    from tests.support.fault_servers import FaultServer

    tmp = Path(tempfile.mkdtemp(prefix="bench-rescore-"))
    env = {**os.environ, "PREFECT_HOME": str(tmp / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}  # fmt: skip
    run = run or make_judged_run(n, tmp, env)
    judged = pl.read_parquet(run / "judging.parquet")["samples"].max()
    # the judge's address, served again: every request a rescore sends would be counted
    row = next(r for r in (run / "config" / "models.csv").read_text().splitlines() if r.startswith("judge;"))
    port = row.split(";")[3].rsplit(":", 1)[1].split("/")[0]
    (tmp / "none.json").write_text("{}")
    judge = FaultServer("--port", port, "--answers", str(tmp / "none.json"), model="judge")
    try:
        with prefect_test_harness(server_startup_timeout=180):
            from flows.rescore import rescore as rescore_flow
            from tasks.judging import judged_scoring
            from vlmhyperbench.config import expand_plan, load_catalog
            from vlmhyperbench.results import RunFolder

            catalog = load_catalog(run / "config", check_paths=False)
            (pair,) = expand_plan(catalog)
            parts, flows = [], []
            rescore_flow(str(run))  # warm: imports, the first flow run's registration
            for _ in range(repeat):
                started = time.perf_counter()
                judged_scoring.fn(pair, RunFolder(run), catalog)
                parts.append(time.perf_counter() - started)
                started = time.perf_counter()
                rescore_flow(str(run))
                flows.append(time.perf_counter() - started)
            from prefect.settings import PREFECT_API_URL

            started = time.perf_counter()
            with_api = {**env, "PREFECT_API_URL": PREFECT_API_URL.value()}
            proc = subprocess.run(
                [sys.executable, "-m", "flows.rescore", str(run)],
                cwd=REPO,
                env=with_api,
                capture_output=True,
                text=True,
            )
            served = time.perf_counter() - started
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "flows.rescore", str(run)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        command = time.perf_counter() - started
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        print(f"rescore of {judged} judged samples ({run}); requests to the judge: {judge.stats()['chats']}")
        print(f"  judged scoring of the pair (journal read, verdicts, scores, counts, agreement): "
              f"{' '.join(f'{t:.2f}' for t in parts)} s")  # fmt: skip
        print(f"  the rescore flow (Prefect API already running; report included): "
              f"{' '.join(f'{t:.2f}' for t in flows)} s")  # fmt: skip
        print(f"  python -m flows.rescore, with PREFECT_API_URL (a Prefect server that runs): {served:.1f} s")
        print(
            f"  python -m flows.rescore, without (it starts Prefect's temporary API itself): {command:.1f} s"
        )
    finally:
        judge.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["rate", "rescore", "both"], default="both")
    p.add_argument(
        "--n", type=int, default=None, help="requests per round (rate: 2000) or samples (rescore: 10000)"
    )
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--ttft-ms", type=float, default=50.0)
    p.add_argument("--itl-ms", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3, help="rate: alternating rounds; rescore: repeats")
    p.add_argument("--run", type=Path, default=None, help="rescore: an existing judged run folder to reuse")
    a = p.parse_args()
    if a.part in ("rate", "both"):
        rate(a.n or 2000, a.concurrency, a.ttft_ms, a.itl_ms, a.rounds)
    if a.part in ("rescore", "both"):
        rescore(a.n or 10_000, a.run, a.rounds)


if __name__ == "__main__":
    main()

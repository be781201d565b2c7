"""What judging costs beyond the judge's own latency, and what rescoring judged samples costs (not a test).

    python bench/bench_judge.py                         # both parts
    python bench/bench_judge.py --part rate --n 3000    # judge requests against the bare client, one run
    python bench/bench_judge.py --part rescore --n 10000

rate: a synthetic judge (vlmhyperbench/testing/synthetic_server.py) of known latency answers every question
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

REPO = Path(__file__).resolve().parents[1]


def write_dataset(root: Path, n: int) -> None:
    """N questions Q-i? about one page (the judge never sees it): one small PNG, N annotation rows."""
    from vlmhyperbench.testing.fault_servers import make_images, write_annotation

    (name,) = make_images(root / "qa" / "images", 1)
    write_annotation(root / "qa", [(f"s{i}", f"images/{name}", f"Q-{i}?", f"value {i}") for i in range(n)])


# ---------------------------------------------------------------- rate


def rate(n: int, concurrency: int, ttft_ms: float, itl_ms: float, rounds: int) -> None:
    import polars as pl
    from prefect import flow

    from tasks.judging import judging, plan_work
    from vlmhyperbench.config import expand_plan, load_catalog
    from vlmhyperbench.inference import PREDICTION_SCHEMA, Endpoint, RequestItem, run_requests
    from vlmhyperbench.results import RunFolder
    from vlmhyperbench.testing.synthetic_server import launch

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


def rescore(n: int) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from vlmhyperbench.testing.fault_servers import FaultServer

    tmp = Path(tempfile.mkdtemp(prefix="bench-rescore-"))
    config = tmp / "config"
    write_dataset(config, n)
    (tmp / "cand.json").write_text(json.dumps({"Q-": "The value is 3"}))
    (tmp / "judge.json").write_text(json.dumps({"Submitted answer": "GRADE: C"}))
    cand = FaultServer("--answers", str(tmp / "cand.json"), "--ttft-ms", "1", "--itl-ms", "0", model="cand")
    judge = FaultServer(
        "--answers", str(tmp / "judge.json"), "--ttft-ms", "1", "--itl-ms", "0", model="judge"
    )
    env = {**os.environ, "PREFECT_HOME": str(tmp / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}  # fmt: skip
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
        run = tmp / "out" / "judged"
        asked = judge.stats()["chats"]
        print(
            f"run of {n} judged samples: {time.perf_counter() - started:.0f} s, the judge asked {asked} times"
        )

        with prefect_test_harness(server_startup_timeout=180):
            from flows.rescore import rescore as rescore_flow

            rescore_flow(str(run))  # warm: imports, the first flow run's registration
            before = judge.stats()["chats"]
            started = time.perf_counter()
            rescore_flow(str(run))
            took = time.perf_counter() - started
            print(f"rescore flow (Prefect API already running): {took:.2f} s, requests to the judge: "
                  f"{judge.stats()['chats'] - before}")  # fmt: skip
        before = judge.stats()["chats"]
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "flows.rescore", str(run)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        took = time.perf_counter() - started
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        print(
            f"python -m flows.rescore (starts Prefect's temporary API itself): {took:.1f} s, "
            f"requests to the judge: {judge.stats()['chats'] - before}"
        )
        counts = (run / "judging.csv").read_text().strip().splitlines()
        print("judging.csv:", *counts, sep="\n  ")
    finally:
        cand.stop()
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
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    if a.part in ("rate", "both"):
        rate(a.n or 2000, a.concurrency, a.ttft_ms, a.itl_ms, a.rounds)
    if a.part in ("rescore", "both"):
        rescore(a.n or 10_000)


if __name__ == "__main__":
    main()

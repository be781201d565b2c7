"""TTFT, TPOT, ITL and throughput of the transformers backends on a tiny model, and a load curve (not a test).

    python bench/bench_serve_backends.py [--requests 20] [--tokens 32] [--rounds 3] [--curve 1,2,4,8]

The servers are started the way the benchmark starts them (environments.launch.start_server, EnvManager venvs)
from two models.csv rows on the same model: `transformers`, written as rows for the retired engine of the
project's own server were (`--engine-arg device=cpu --engine-arg dtype=float32`), and `transformers-serve`,
written with `transformers serve`'s own flags (`--device cpu`). Since the engine's retirement both run
`transformers serve`; run from an older tree, the same rows compare that engine with it. The model is a tiny
random-weight LLaVA built offline (environments/tiny_models.py) whose generation config has no
end-of-sequence token, so that every answer is `--tokens` tokens long. Requests go through the benchmark's own
client (inference.chat.run_requests), one 64x32 page each, answers streamed, concurrency 1.

All servers are up at once and asked in turn, `--requests` each per round, for `--rounds` rounds: on a shared
machine whose load drifts, each row sees the same stretches of it, and a ratio holds where absolute figures
do not. Printed per row: medians of TTFT, TPOT ((latency - TTFT) / (tokens - 1)), ITL (between arrivals of
text), latency and tokens (usage), requests/s (answers over the sum of the rounds' windows), the server
tree's peak RSS, and TTFT and throughput as ratios to the first row.

`--curve` then runs the load curve on the first row, and on the same server with `--continuous-batching`
(transformers serve batches text-only models; a VLM falls back to one request at a time), each level with
max(--requests, 4 x level) requests: requests/s, output tokens/s, TTFT and latency p50, the machine's
1-minute load average after the level, and where the throughput saturates (the first level within 10 % of
the best requests/s). The levels run one after another, so on a shared machine a change of load moves
requests/s between levels; a server that answers one request at a time shows it in TTFT and latency
growing in proportion to the level.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from environments.backends import BACKENDS  # noqa: E402
from environments.launch import served_name, start_server  # noqa: E402
from environments.manager import EnvManager  # noqa: E402
from environments.tiny_models import build_in  # noqa: E402
from tests.support.fault_servers import make_images  # noqa: E402
from vlmhyperbench.config import ModelRow  # noqa: E402
from vlmhyperbench.inference import Endpoint, RequestItem, run_requests  # noqa: E402

PACKAGES = ("torch==2.13.0", "transformers[serving]", "tokenizers")  # the local CPU wheel: never looser
ROWS = {  # name -> (backend, args)
    "transformers": ("transformers", ("--engine-arg", "device=cpu", "--engine-arg", "dtype=float32")),
    "transformers-serve": ("transformers-serve", ("--device", "cpu")),
}
BATCHING = (
    "transformers",
    ("--engine-arg", "device=cpu", "--engine-arg", "dtype=float32", "--continuous-batching"),
)


def without_eos(folder: Path) -> None:
    """Every answer runs to max_tokens on every server: the generation config has no end token."""
    path = folder / "generation_config.json"
    config = json.loads(path.read_text())
    config["eos_token_id"] = None
    path.write_text(json.dumps(config))


class Page:
    mime = "image/png"

    def __init__(self, path: Path):
        self.path = path

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


class Served:
    """One row's server, started as the benchmark starts it, and the answers it gave."""

    def __init__(self, name: str, backend: str, args: tuple[str, ...], folder: Path, tmp: Path, tokens: int):
        manager = EnvManager()
        self.row = ModelRow(
            name=f"tiny-{name}", backend=backend, model=str(folder), env="venv", packages=PACKAGES, args=args
        )
        spec_backend = BACKENDS.get(backend)
        env = manager.ensure(manager.spec(self.row, spec_backend, "venv"))
        self.server = start_server(env, self.row, spec_backend, log_path=tmp / f"{name}.log", timeout_s=600)
        self.endpoint = Endpoint(
            base_url=self.server.base_url + "/v1",
            model=served_name(self.row, spec_backend),
            max_tokens=tokens,
        )
        self.name, self.answers, self.window_s = name, [], 0.0

    def ask(self, pages: list[Page], concurrency: int = 1) -> tuple[list, float]:
        answers: list = []
        items = (RequestItem(f"s{i}", "Read all the text on this page.", [p]) for i, p in enumerate(pages))
        stats = asyncio.run(
            run_requests(
                self.endpoint, items, concurrency=concurrency, timeout_s=300, on_answer=answers.append
            )
        )
        failed = [a for a in answers if a.error is not None]
        if failed:
            raise SystemExit(f"{self.name}: {len(failed)} requests failed, e.g. {failed[0].error}")
        return answers, stats.window_s


def median_ms(answers: list, name: str) -> float | None:
    values = [getattr(a, name) for a in answers if getattr(a, name) is not None]
    return statistics.median(values) * 1000 if values else None


def ms(value: float | None) -> str:
    return f"{value:8.1f}ms" if value is not None else f"{'-':>10}"


def compare(servers: list[Served], pages: list[Page], rounds: int) -> None:
    for _ in range(rounds):
        for served in servers:
            answers, window = served.ask(pages)
            served.answers += answers
            served.window_s += window
    header = f"{'row':<20}{'TTFT p50':>10}{'TPOT p50':>10}{'ITL p50':>10}{'latency':>10}{'tokens':>7}"
    print(header + f"{'req/s':>8}{'peak RSS':>10}{'TTFT x':>8}{'req/s x':>8}")
    first_ttft = first_rps = None
    for served in servers:
        ttft, rps = median_ms(served.answers, "ttft_s"), len(served.answers) / served.window_s
        first_ttft, first_rps = first_ttft or ttft, first_rps or rps
        tokens = statistics.median(a.output_tokens for a in served.answers)
        timings = "".join(ms(median_ms(served.answers, f"{k}_s")) for k in ("tpot", "itl", "latency"))
        rss = served.server.peak_rss_mb or 0
        print(
            f"{served.name:<20}{ms(ttft)}{timings}{tokens:>7.0f}{rps:>8.2f}{rss:>8.0f}MB"
            f"{ttft / first_ttft:>8.2f}{rps / first_rps:>8.2f}"
        )


def curve(servers: list[Served], pages: list[Page], levels: list[int], requests: int) -> None:
    print(f"\nload curve: {requests} requests or 4 per slot, whichever is more, per level")
    print(f"{'row':<36}{'conc':>5}{'req/s':>8}{'tok/s':>8}{'TTFT p50':>10}{'latency':>10}{'load 1m':>9}")
    for served in servers:
        label = "transformers --continuous-batching" if served.name.endswith("-cb") else served.name
        rates = []
        for level in levels:
            answers, window = served.ask(pages[: max(requests, 4 * level)], concurrency=level)
            rates.append(len(answers) / window)
            tokens = sum(a.output_tokens or 0 for a in answers) / window
            print(
                f"{label:<36}{level:>5}{rates[-1]:>8.2f}{tokens:>8.1f}{ms(median_ms(answers, 'ttft_s'))}"
                f"{ms(median_ms(answers, 'latency_s'))}{os.getloadavg()[0]:>9.2f}"
            )
        knee = next(lv for lv, rate in zip(levels, rates) if rate >= 0.9 * max(rates))
        print(
            f"{label:<36} saturates at concurrency {knee} (the first level within 10 % of the best req/s; "
            "levels run one after another: read it with the load beside each)"
        )
        log = Path(served.server.log_path).read_text(errors="replace")
        if "Falling back to sequential generation" in log:
            print(f"{label:<36} its log: continuous batching fell back to sequential generation (a VLM)")


def load_average() -> str:
    """The machine's load (1, 5, 15 min): what the figures were measured beside."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=20, help="per row and round")
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--curve", default="1,2,4,8", help="concurrency levels, comma-separated ('' for none)")
    args = p.parse_args()
    levels = [int(x) for x in args.curve.split(",") if x.strip()]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        manager = EnvManager()  # the env's python builds the model (torch and transformers are there)
        row = ModelRow(name="b", backend="transformers-serve", model="x", packages=PACKAGES)
        python = manager.ensure(manager.spec(row, BACKENDS.get(row.backend), "venv")).python
        folder = build_in(python, "llava", tmp / "tiny-llava")
        without_eos(folder)
        count = max(args.requests, 4 * max(levels or [1]))
        pages = [Page(tmp / "pages" / name) for name in make_images(tmp / "pages", count)]
        servers: list[Served] = []
        try:
            for name, (backend, row_args) in ROWS.items():
                servers.append(Served(name, backend, row_args, folder, tmp, args.tokens))
            for served in servers:
                served.ask(pages[:2])  # a first request or two: lazy initialisations out of the figures
            print(
                f"tiny random LLaVA on CPU, {args.requests} one-page requests x {args.rounds} rounds a row, "
                f"max_tokens {args.tokens}, concurrency 1; load average {load_average()}"
            )
            compare(servers, pages[: args.requests], args.rounds)
            if levels:
                batching = Served("transformers-cb", *BATCHING, folder, tmp, args.tokens)
                servers.append(batching)
                batching.ask(pages[:2])
                curve([servers[0], batching], pages, levels, args.requests)
            print(f"load average at the end {load_average()}")
        finally:
            for served in servers:
                served.server.stop()


if __name__ == "__main__":
    main()

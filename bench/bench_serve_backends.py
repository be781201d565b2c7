"""TTFT and inter-token latency of the two transformers servers on the same tiny model (not a test).

    python bench/bench_serve_backends.py [--requests 20] [--tokens 32] [--concurrency 1]

Both servers are started the way the benchmark starts them (environments.launch.start_server), each in its
own EnvManager venv: `transformers` (the project's server, vlmhb_server, around the same model classes) and
`transformers-serve` (`transformers serve`, transformers 5's own OpenAI-compatible server). The model is a
tiny random-weight LLaVA built offline (environments/tiny_models.py) whose generation config has no
end-of-sequence token, so that every answer is `--tokens` tokens long on both. Requests go through the
benchmark's own client (inference.chat.run_requests), one 32x32 page each, answers streamed. Printed per
server: the medians of TTFT, TPOT ((latency - TTFT) / (tokens - 1)), ITL (between arrivals of text), the
tokens per request (usage), requests/s and the server's peak RSS (its process tree).
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

TORCH = "torch==2.13.0"  # the local CPU wheel
ROWS = {
    "transformers": dict(
        packages=(TORCH, "transformers", "tokenizers"),
        args=("--engine-arg", "device=cpu", "--engine-arg", "dtype=float32"),
    ),
    "transformers-serve": dict(
        packages=(TORCH, "transformers[serving]", "tokenizers"), args=("--device", "cpu")
    ),
}


def without_eos(folder: Path) -> None:
    """Every answer runs to max_tokens on both servers: the generation config has no end token."""
    path = folder / "generation_config.json"
    config = json.loads(path.read_text())
    config["eos_token_id"] = None
    path.write_text(json.dumps(config))


class Image:
    mime = "image/png"

    def __init__(self, path: Path):
        self.path = path

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def measure(backend: str, folder: Path, tmp: Path, args: argparse.Namespace) -> dict:
    manager = EnvManager()
    row = ModelRow(name=f"tiny-{backend}", backend=backend, model=str(folder), env="venv", **ROWS[backend])
    spec_backend = BACKENDS.get(backend)
    env = manager.ensure(manager.spec(row, spec_backend, "venv"))
    server = start_server(env, row, spec_backend, log_path=tmp / f"{backend}.log", timeout_s=300)
    try:
        endpoint = Endpoint(
            base_url=server.base_url + "/v1", model=served_name(row, spec_backend), max_tokens=args.tokens
        )
        images = [Image(tmp / "pages" / name) for name in make_images(tmp / "pages", args.requests + 2)]
        answers = []

        def items(start: int, n: int):
            return (
                RequestItem(f"s{i}", "Read all the text on this page.", [images[i]])
                for i in range(start, start + n)
            )

        asyncio.run(
            run_requests(endpoint, items(0, 2), concurrency=1, timeout_s=120, on_answer=lambda a: None)
        )
        stats = asyncio.run(
            run_requests(endpoint, items(2, args.requests), concurrency=args.concurrency, timeout_s=120,
                         on_answer=answers.append)
        )  # fmt: skip
    finally:
        server.stop()
    ok = [a for a in answers if a.error is None]
    if not ok:
        raise SystemExit(f"{backend}: no answer: {answers[0].error if answers else 'nothing'}")

    def median(name: str) -> float | None:
        values = [getattr(a, name) for a in ok if getattr(a, name) is not None]
        return statistics.median(values) if values else None

    return {
        "answered": len(ok),
        "ttft": median("ttft_s"),
        "tpot": median("tpot_s"),
        "itl": median("itl_s"),
        "latency": median("latency_s"),
        "tokens": median("output_tokens"),
        "rps": stats.requests_per_s,
        "peak_rss_mb": server.peak_rss_mb,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--concurrency", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        python = (
            EnvManager()
            .ensure(
                EnvManager().spec(
                    ModelRow(name="b", backend="transformers-serve", model="x", **ROWS["transformers-serve"]),
                    BACKENDS.get("transformers-serve"),
                    "venv",
                )
            )
            .python
        )
        folder = build_in(python, "llava", tmp / "tiny-llava")
        without_eos(folder)
        results = {backend: measure(backend, folder, tmp, args) for backend in ROWS}
    print(
        f"tiny random LLaVA on CPU, {args.requests} requests of one page, max_tokens {args.tokens}, "
        f"concurrency {args.concurrency}"
    )
    header = f"{'server':<20}{'TTFT p50':>10}{'TPOT p50':>10}{'ITL p50':>10}{'latency':>10}{'tokens':>8}"
    print(header + f"{'req/s':>8}{'peak RSS':>10}")
    for backend, r in results.items():

        def ms(v):
            return f"{v * 1000:8.1f}ms" if v is not None else f"{'–':>10}"

        print(
            f"{backend:<20}{ms(r['ttft'])}{ms(r['tpot'])}{ms(r['itl'])}{ms(r['latency'])}{r['tokens']:>8}"
            f"{r['rps']:>8.2f}{(r['peak_rss_mb'] or 0):>8.0f}MB"
        )


if __name__ == "__main__":
    main()

"""Scorer environments cost what model environments cost: the cache hit, and the out-of-process overhead.

    python bench/bench_scorer_env.py [--pages 1000] [--repeat 5]

1. Cache hit: EnvManager.ensure() of an environment already built, for a model row (tesseract) and for
   the two scorers (omnidocbench, olmocr_bench), median of --repeat calls (builds them first if needed).
2. Overhead of scoring out of process: run_scorer() over --pages synthetic pages, for each scorer, minus
   the scorer's own work as its runner measures it inside the environment (importing its package and
   scoring). What is left is ours: the cache check, writing the inputs, starting the interpreter,
   reading and checking the rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl  # noqa: E402

from environments.backends import BACKENDS  # noqa: E402
from environments.manager import EnvManager  # noqa: E402
from tests.support.documents import omnidocbench_page  # noqa: E402
from vlmhyperbench.config import ModelRow  # noqa: E402
from vlmhyperbench.scorers import SCORERS, run_scorer, scorer_spec  # noqa: E402

TABLE = "<table><tr><td>Item</td><td>Cost</td></tr><tr><td>Paper</td><td>12</td></tr></table>"


def cache_hits(manager: EnvManager, repeat: int) -> None:
    row = ModelRow(name="tess", backend="tesseract")
    specs = {
        "model env (tesseract)": manager.spec(row, BACKENDS.get("tesseract"), "venv"),
        **{
            f"scorer env ({n})": scorer_spec(SCORERS.get(n), "venv") for n in ("omnidocbench", "olmocr_bench")
        },
    }
    for label, spec in specs.items():
        first = manager.ensure(spec)
        times = [manager.ensure(spec).ready_s for _ in range(repeat)]
        built = "built now" if not first.cached else "cached"
        print(f"cache hit, {label}: {1000 * statistics.median(times):.1f} ms median of {repeat} ({built})")


def pages(n: int, scorer: str) -> pl.DataFrame:
    ids, preds, annotations = [], [], []
    for i in range(n):
        text = f"Paragraph {i} of the report says that revenue grew by {i % 17} percent."
        ids.append(f"page-{i:05d}")
        preds.append(f"# Report {i}\n\n{text}\n\n{TABLE}")
        if scorer == "omnidocbench":
            page = omnidocbench_page(
                f"{i}.png", [("title", f"Report {i}"), ("text_block", text), ("table", TABLE)]
            )
        else:
            tests = [
                {
                    "pdf": f"{i}.pdf",
                    "page": 1,
                    "id": f"{i}-p",
                    "type": "present",
                    "text": text[:30],
                    "category": "c1",
                },
                {
                    "pdf": f"{i}.pdf",
                    "page": 1,
                    "id": f"{i}-a",
                    "type": "absent",
                    "text": "Lorem",
                    "category": "c2",
                },
                {"pdf": f"{i}.pdf", "page": 1, "id": f"{i}-b", "type": "baseline", "category": "baseline"},
            ]
            page = {"tests": tests}
        annotations.append(json.dumps(page))
    return pl.DataFrame(
        {"sample_id": ids, "prediction": preds, "references": [[""]] * n, "annotation": annotations}
    )


def overhead(n: int) -> None:
    for scorer in ("olmocr_bench", "omnidocbench"):
        table = pages(n, scorer)
        metrics = SCORERS.get(scorer).metric_names
        work = Path(tempfile.mkdtemp(prefix=f"vlmhb-bench-{scorer}-"))
        started = time.perf_counter()
        run = run_scorer(scorer, table, metrics, workdir=work, log=work / "scorer.log")
        total = time.perf_counter() - started
        own = run.timing.get("score_s", 0.0) + run.timing.get("import_s", 0.0)
        print(
            f"{scorer}, {n} pages out of process: {total:.2f} s in all, the scorer's own work {own:.2f} s, "
            f"overhead {total - own:.2f} s ({run.scores.height} score rows read back)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cache_hits(EnvManager(), args.repeat)
    overhead(args.pages)


if __name__ == "__main__":
    main()

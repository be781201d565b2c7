"""Reading a standard benchmark from its published parquet layout: plan and first request, images, memory.

    python bench/bench_benchmark_read.py [--questions 5000] [--workdir DIR]

Writes a DocVQA benchmark of N questions with real PNG pages (50 distinct pages, about 25 kB each) in the
hub's layout (lmms-lab/DocVQA: DocVQA/validation-0000k-of-00005.parquet, row groups of 100), a config whose
datasets.csv names it (`docvqa;docvqa;PATH;validation`) and a synthetic OpenAI-compatible server. Then, in a
fresh interpreter (so imports count), it times what a run does before its first answer: load and check the
config, expand the plan, read the questions, record the data's sha256 for the manifest, build the first
request (the first image read and base64-encoded) and get its answer. Prefect's own start-up is not timed.

It also counts the images opened by Pillow (PIL.Image.open, i.e. decoded) and the image blocks read from the
parquet shards before the first request, and measures the Python heap after reading N/5 and N questions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHILD = r"""
import time, sys, json
t0 = time.perf_counter()
import asyncio, tracemalloc
from pathlib import Path
import PIL.Image
opened = []
_open = PIL.Image.open
PIL.Image.open = lambda *a, **k: (opened.append(1), _open(*a, **k))[1]
from vlmhyperbench.config import load_catalog, expand_plan
from tasks.inference import load_samples, endpoint_for, sample_fields
from tasks.plan import record_data
from vlmhyperbench.config import pick_template, render_prompt
from vlmhyperbench.datasets._sample import _parquet_block
from vlmhyperbench.inference import RequestItem, run_requests
t_import = time.perf_counter()
config, base_url = sys.argv[1], sys.argv[2]
catalog = load_catalog(config)
pairs = expand_plan(catalog)
pair = pairs[0]
t_catalog = time.perf_counter()
samples = load_samples(catalog, pair)
t_read = time.perf_counter()
blocks_before = _parquet_block.cache_info().currsize
decoded_before = len(opened)
data = record_data.fn(catalog, pairs)
t_hash = time.perf_counter()
s = samples[0]
template = pick_template(pair.dataset.task, None, s.doc_class, s.question_type, pair.dataset.prompt_template)
prompt = render_prompt(template, question=s.question)
answers = []
async def first():
    item = RequestItem(s.id, prompt, s.images, sample_fields(s, prompt))
    await run_requests(endpoint_for(pair, base_url), iter([item]), concurrency=1, timeout_s=30,
                       on_answer=answers.append)
asyncio.run(first())
t_first = time.perf_counter()
print(json.dumps({
    "questions": len(samples), "import_s": t_import - t0, "catalog_s": t_catalog - t_import,
    "read_s": t_read - t_catalog, "hash_s": t_hash - t_read, "first_request_s": t_first - t_hash,
    "total_s": t_first - t0, "total_without_hash_s": (t_first - t0) - (t_hash - t_read),
    "decoded_before_send": decoded_before, "image_blocks_before_send": blocks_before,
    "answered": answers[0].error is None, "sha256": data[pair.dataset.name].sha256,
}))
"""

MEMORY = r"""
import sys, json, tracemalloc, gc
from pathlib import Path
from vlmhyperbench.benchmarks import BENCHMARKS
bench = BENCHMARKS.get("docvqa")
bench.read(Path(sys.argv[1]), "validation")  # one-off costs (imports, polars' first scan) not counted
out = {}
for label, path in (("small", sys.argv[1]), ("full", sys.argv[2])):
    gc.collect()
    tracemalloc.start()
    samples = bench.read(Path(path), "validation")
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out[label] = {"questions": len(samples), "held_mb": current / 2**20, "peak_mb": peak / 2**20}
    del samples
print(json.dumps(out))
"""


def pages(n: int) -> list[bytes]:
    import io
    import random

    from PIL import Image, ImageDraw

    out = []
    rng = random.Random(0)
    for _ in range(n):
        img = Image.new("L", (600, 800), 255)
        draw = ImageDraw.Draw(img)
        for line in range(40):
            x = rng.randint(20, 80)
            draw.text((x, 15 + line * 19), " ".join(f"w{rng.randint(0, 99999)}" for _ in range(8)), fill=0)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def write_docvqa(root: Path, n: int, images: list[bytes], shards: int) -> int:
    import polars as pl

    from vlmhyperbench.benchmarks._hub_layouts import LAYOUTS

    _, schema, folder, _ = LAYOUTS["docvqa"]
    (root / folder).mkdir(parents=True, exist_ok=True)
    per = -(-n // shards)
    total = 0
    for k in range(shards):
        rows = [
            {
                "questionId": str(100000 + i),
                "question": f"What is the value of field {i}?",
                "question_types": ["form"],
                "image": {"bytes": images[i % len(images)], "path": f"{i}.png"},
                "docId": i // 5,
                "ucsf_document_id": f"doc{i // 5}",
                "ucsf_document_page_no": "1",
                "answers": [f"value {i}"],
                "data_split": "val",
            }
            for i in range(k * per, min(n, (k + 1) * per))
        ]
        path = root / folder / f"validation-{k:05d}-of-{shards:05d}.parquet"
        pl.DataFrame(rows, schema=schema).write_parquet(path, row_group_size=100)
        total += path.stat().st_size
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=5000)
    p.add_argument("--workdir", default=None)
    a = p.parse_args()
    from tests.support.synthetic_server import launch

    work = Path(a.workdir or tempfile.mkdtemp(prefix="vlmhb-bench-read-"))
    imgs = pages(50)
    t = time.perf_counter()
    size = write_docvqa(work / "full", a.questions, imgs, shards=5)
    write_docvqa(work / "small", a.questions // 5, imgs, shards=1)
    print(
        f"wrote {a.questions} questions ({size / 2**20:.0f} MiB of parquet, 5 shards, "
        f"{sum(map(len, imgs)) / len(imgs) / 1024:.0f} kB per page) in {time.perf_counter() - t:.1f} s"
    )
    with launch("--ttft-ms", "5", "--itl-ms", "1", "--tokens", "4") as base_url:
        config = work / "config"
        config.mkdir(exist_ok=True)
        (config / "models.csv").write_text(
            f"name;backend;model;base_url;env\napi;openai;synthetic;{base_url.removesuffix('/v1')};none\n"
        )
        (config / "datasets.csv").write_text(
            f"name;benchmark;path;split\ndocvqa;docvqa;{work / 'full'};validation\n"
        )
        env = {
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            "NO_PROXY": "127.0.0.1",
        }
        runs = []
        for label in ("the files hashed for the manifest, as every run does",):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(config), base_url.removesuffix("/v1")],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs.append((label, json.loads(out.stdout.strip().splitlines()[-1])))
    memory = json.loads(
        subprocess.run(
            [sys.executable, "-c", MEMORY, str(work / "small"), str(work / "full")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
    )
    for label, r in runs[:1]:
        print(f"\nplan and first request, fresh interpreter, {r['questions']} questions ({label}):")
        for key in (
            "import_s",
            "catalog_s",
            "read_s",
            "hash_s",
            "first_request_s",
            "total_s",
            "total_without_hash_s",
        ):
            print(f"  {key:24s} {r[key]:7.3f} s")
        print(f"  images decoded before the first request: {r['decoded_before_send']}")
        print(f"  image blocks read before the first request: {r['image_blocks_before_send']}")
        print(f"  first request answered: {r['answered']}")
    small, full = memory["small"], memory["full"]
    per_q = (full["held_mb"] - small["held_mb"]) * 2**20 / (full["questions"] - small["questions"])
    print("\nmemory held by the questions (tracemalloc, images not loaded):")
    for m in (small, full):
        print(f"  {m['questions']:6d} questions: {m['held_mb']:6.2f} MiB held, {m['peak_mb']:6.2f} MiB peak")
    parquet = size / a.questions / 1024
    print(f"  per question: {per_q / 1024:.2f} kB (the parquet: {parquet:.1f} kB per question)")


if __name__ == "__main__":
    main()

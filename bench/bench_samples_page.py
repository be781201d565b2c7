"""The sample explorer at scale: synthetic OCR runs of N samples on N distinct pages (the worst case for
thumbnails: one page per sample) at 1, 3 and 10 models, each written as a run's report writes it, then opened
in headless Chromium (Debian's, driven by Playwright) from file://.

    python bench/bench_samples_page.py [--samples 5000] [--models 1,3,10]

Figures per model count: the time to write samples.html and samples/ (first, with its thumbnails made within
their time budget; again with a zero budget: the data alone, the thumbnails made kept), thumbnails made of
pages, the sizes of samples.html, the index and the data, a deep
link's time to the answers on screen including the browser's start, and the time of a few filters (from the
change to the list laid out). Targets at 3 models x 5,000 samples: samples.html <= 2 MB, a deep link <= 5 s,
a filter <= 300 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support, from a checkout

from tests.support.browser import chromium  # noqa: E402
from tests.support.synthetic_runs import build_run, make_config  # noqa: E402
from vlmhyperbench.report.data import dataset_rows, primary_metrics  # noqa: E402
from vlmhyperbench.report.explorer import write_explorer  # noqa: E402

FILTERS = [
    ("failed requests only", "document.querySelector('input[name=failed]').click()"),
    ("score from 0.1", "(e => { e.value = '0.1'; e.dispatchEvent(new Event('change')); })"
     "(document.querySelector('input[name=min]'))"),
    ("models disagree > 0.05", "(e => { e.value = '0.05'; e.dispatchEvent(new Event('change')); })"
     "(document.querySelector('input[name=disagree]'))"),
    ("sort worst first", "(e => { e.value = 'worst'; e.dispatchEvent(new Event('change')); })"
     "(document.querySelector('select[name=sort]'))"),
]  # fmt: skip


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one(root: Path, config: Path, n: int, models: int) -> dict:
    names = [f"model{k:02d}" for k in range(models)]
    wrong = {m: set(range(k % 7, n, 5 + k % 3)) for k, m in enumerate(names)}
    errors = {names[-1]: {i: "ServerError: 503" for i in range(3, n, 97)}}
    run, manifest, scores, summaries, _ = build_run(
        root / "results", f"m{models}", config, wrong, datasets=("docs-ocr",), n=n, errors=errors
    )
    scores_df = pl.concat(scores, how="diagonal_relaxed")
    summary = pl.concat(summaries, how="diagonal_relaxed")
    cfg = dataset_rows(run)
    main = primary_metrics(summary, cfg)
    t = time.perf_counter()
    first = write_explorer(run, manifest, scores_df, cfg, main)
    write_s = time.perf_counter() - t
    t = time.perf_counter()
    write_explorer(run, manifest, scores_df, cfg, main, thumbnail_budget_s=0)
    again_s = time.perf_counter() - t
    html = run.root / "samples.html"
    index = run.root / "samples" / "data" / "index.js"
    target = f"s{n * 2 // 3:03d}"
    url = html.as_uri() + f"#sample={target}&dataset=docs-ocr"
    t = time.perf_counter()
    with chromium() as browser:  # the browser's start is part of a deep link's time
        start_s = time.perf_counter() - t
        page = browser.new_page()
        page.goto(url)
        page.locator(f'.answer[data-sample-id="{target}"]').first.wait_for(timeout=60_000)
        page.wait_for_function(
            "document.querySelector('img.page') && document.querySelector('img.page').complete"
        )
        deep_s = time.perf_counter() - t
        filters = {}
        for label, js in FILTERS:
            page.evaluate(js)
            filters[label] = page.evaluate("window.VLMHB.lastFilterMs")
        shown = page.locator("#count").inner_text()
    return {
        "models": models,
        "answers": first["answers"],
        "write_s": write_s,
        "again_s": again_s,
        "thumbs": f"{first['thumbs']}/{first['thumbs'] + first['deferred']}",
        "html_kb": html.stat().st_size / 1024,
        "index_mb": index.stat().st_size / 2**20,
        "data_mb": folder_bytes(run.root / "samples" / "data") / 2**20,
        "thumbs_mb": folder_bytes(run.root / "samples" / "thumbs") / 2**20,
        "deep_s": deep_s,
        "start_s": start_s,
        "filters": filters,
        "shown": shown,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--models", default="1,3,10")
    args = parser.parse_args()
    counts = [int(x) for x in args.models.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-samples-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        config = make_config(root, n=args.samples, datasets=("docs-ocr",), pages=args.samples)
        made_s = time.perf_counter() - t
        print(f"{args.samples} samples on {args.samples} pages (620x820 PNG) made in {made_s:.1f} s")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
        print()
        head = (
            f"{'models':>6} {'answers':>8} {'write s':>8} {'again s':>8} {'thumbs':>7} {'html KB':>8} "
            f"{'index MB':>9} {'data MB':>8} {'thumbs MB':>9} {'deep link s':>11} {'of it start':>11}"
            "  filters ms"
        )
        print(head)
        for models in counts:
            r = one(root, config, args.samples, models)
            filters = ", ".join(f"{k} {v:.0f}" for k, v in r["filters"].items())
            print(
                f"{r['models']:>6} {r['answers']:>8} {r['write_s']:>8.2f} {r['again_s']:>8.2f} "
                f"{r['thumbs']:>7} {r['html_kb']:>8.1f} {r['index_mb']:>9.2f} {r['data_mb']:>8.2f} "
                f"{r['thumbs_mb']:>9.2f} "
                f"{r['deep_s']:>11.2f} {r['start_s']:>11.2f}  {filters}",
                flush=True,
            )
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()

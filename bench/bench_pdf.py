"""PDF page rendering: pages per second at 144 dpi on one core, and each page rendered once.

    python bench/bench_pdf.py [--pages 40] [--dpi 144]

Writes a PDF of ordinary pages (dense two-column text with a title, fpdf2), pins this process to one
CPU core, and reads every page of the `pdf` dataset as a model's request would (`read_bytes()`):
first cold (PDFium renders and PNG-encodes each page into an empty page cache), then as a second and a
third model would (the same pages again: from the page cache, memory cleared), counting the renders.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--dpi", type=int, default=144)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cache = Path(tempfile.mkdtemp(prefix="vlmhb-bench-pages-"))
    os.environ["VLMHB_CACHE_DIR"] = str(cache)

    from fpdf import FPDF

    from tests.support.documents import FONT, PROSE
    from vlmhyperbench.datasets import PageOptions, read_dataset
    from vlmhyperbench.datasets import _pages as pages

    docs = cache / "docs"
    docs.mkdir()
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.add_font("body", "", str(FONT))
    for n in range(args.pages):
        pdf.add_page()
        pdf.set_font("body", "", 15)
        pdf.set_xy(18, 14)
        pdf.cell(174, 9, f"Laboratory guideline, part {n + 1}", align="C")
        pdf.set_font("body", "", 9)
        for x in (18, 110):
            pdf.set_xy(x, 30)
            for paragraph in PROSE * 4:
                if pdf.get_y() > 270:
                    break
                pdf.set_x(x)
                pdf.multi_cell(82, 4.2, paragraph, align="J")
    pdf.output(str(docs / "guideline.pdf"))

    options = PageOptions.of(dpi=args.dpi, pages="each", reference="text_layer")
    started = time.perf_counter()
    samples = read_dataset("pdf", docs, options=options)
    read_s = time.perf_counter() - started
    print(f"machine: {os.cpu_count()} CPUs, pinned to 1 core; {len(samples)} A4 pages at {args.dpi} dpi")
    print(f"reading the dataset (page count, sizes, text layers): {read_s:.2f} s")

    samples[0].images[0].read_bytes()  # imports (PDFium, numpy) and the first render: not what is timed
    samples = samples[1:]
    started = time.perf_counter()
    cold = [len(s.images[0].read_bytes()) for s in samples]
    cold_s = time.perf_counter() - started
    print(
        f"cold: {len(samples) / cold_s:.1f} pages/s ({1000 * cold_s / len(samples):.1f} ms a page: render, "
        f"PNG, cache write), {sum(cold) / len(cold) / 1e3:.0f} kB a page"
    )
    for model in ("second model", "third model"):
        pages.clear_memory()
        again = read_dataset("pdf", docs, options=options)[1:]
        started = time.perf_counter()
        for s in again:
            s.images[0].read_bytes()
        warm_s = time.perf_counter() - started
        print(f"{model}: {len(samples) / warm_s:.0f} pages/s from the page cache")
    print(f"renders: {pages.RENDERS['count']} for {len(samples) + 1} pages read by three models")


if __name__ == "__main__":
    main()

"""olmOCR-bench's unit tests, run with the official test classes (olmocr.bench.tests).

Each record's annotation is {"tests": [...]}: the page's tests as the benchmark's `<category>.jsonl`
lines hold them, each with its `category` (the file's stem, or `baseline` for the per-PDF baseline test
that olmocr's benchmark adds). A test is built with `load_single_test` and run on the page's Markdown
with `test.run(md)`; one answer per page, so a test passes or fails (olmocr's repeats are one here).

Rows: per page and category, the share of the page's tests in that category that pass (num = passed,
den = tests), metric `olmocr_bench`; the figure is olmocr's: the mean over categories of each one's pass
rate. A detail line per test goes to details.jsonl in the work folder (id, type, category, passed, why).

Math tests render LaTeX with KaTeX in a browser through Playwright. Where no Chromium can be launched
(Playwright's own, else a `chromium` on PATH, passed as its executable), they are reported as not scored,
and the categories' pass rates are over their other tests.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

from vlmhb_scorers.protocol import Context, not_scored, score_row

METRIC = "olmocr_bench"


def _use_system_chromium() -> None:
    """Playwright launches its own Chromium build; where only a system one exists, launch that."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return
    from playwright.sync_api import BrowserType

    original = BrowserType.launch
    if getattr(original, "_vlmhb", False):
        return

    def launch(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except Exception:
            if "executable_path" in kwargs:
                raise
            return original(self, *args, executable_path=chromium, **kwargs)

    launch._vlmhb = True  # type: ignore[attr-defined]
    BrowserType.launch = launch  # type: ignore[method-assign]


def math_available() -> tuple[bool, str]:
    try:
        _use_system_chromium()
        from olmocr.bench.katex.render import render_equation

        rendered = render_equation("x^2", use_cache=False)
        if rendered is None or getattr(rendered, "error", None):
            return False, f"KaTeX rendering returned {getattr(rendered, 'error', None) or 'nothing'}"
        return True, ""
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return False, (
            "math tests render LaTeX with KaTeX in Chromium through Playwright, and no Chromium could be "
            f"launched here ({type(exc).__name__}: {first})"
        )


def score(records: list[dict[str, Any]], ctx: Context) -> Iterator[dict[str, Any]]:
    from olmocr.bench.tests import load_single_test

    has_math = any(
        t.get("type") == "math" for r in records for t in (r.get("annotation") or {}).get("tests", [])
    )
    with_math, why = math_available() if has_math else (False, "")
    skipped: dict[str, int] = {}
    with open(ctx.workdir / "details.jsonl", "w", encoding="utf-8") as details:
        for record in records:
            sid, markdown = record["sample_id"], record.get("prediction") or ""
            counts: dict[str, list[int]] = {}
            for test in (record.get("annotation") or {}).get("tests", []):
                category = test.get("category") or "unknown"
                if test.get("type") == "math" and not with_math:
                    skipped[category] = skipped.get(category, 0) + 1
                    continue
                data = {k: v for k, v in test.items() if k != "category"}
                try:
                    passed, why_failed = load_single_test(data).run(markdown)
                except Exception as exc:  # a test that cannot be built or run fails, as olmocr counts it
                    passed, why_failed = False, f"{type(exc).__name__}: {exc}"
                tally = counts.setdefault(category, [0, 0])
                tally[0] += bool(passed)
                tally[1] += 1
                line = {
                    "sample_id": sid,
                    "test": test.get("id"),
                    "type": test.get("type"),
                    "category": category,
                }
                details.write(json.dumps({**line, "passed": bool(passed), "why": why_failed}) + "\n")
            for category, (passed, total) in counts.items():
                yield score_row(
                    sid, METRIC, passed / total, num=float(passed), den=float(total), category=category
                )
    for category, n in sorted(skipped.items()):
        yield not_scored(METRIC, why, part=f"{category}: {n} math tests")

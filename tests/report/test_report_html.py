"""report.html: self-contained, escaped, and rendered by a real headless Chromium without console errors.

Chromium is Debian's `chromium` (.ci/run installs it). Without it these tests fail when CI is set, and are
skipped otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.synthetic_runs import make_config, write_run

XSS = (
    '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    '"><svg onload="window.__pwned=3"></svg></textarea></pre><b>bold</b>'
)


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    message = "headless Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class Page:
    """One headless Chromium page driven over the DevTools protocol (aiohttp websockets)."""

    def __init__(self, ws):
        self.ws, self.next_id, self.events = ws, 0, []

    async def send(self, method: str, **params):
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send_json({"id": my_id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=60)
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    async def wait_event(self, method: str, timeout: float = 30):
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            msg = await self.ws.receive_json(timeout=max(0.1, deadline - time.monotonic()))
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    async def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(await self.ws.receive_json(timeout=deadline - time.monotonic()))
            except TimeoutError:
                return

    def errors(self) -> list[str]:
        out = []
        for ev in self.events:
            method, params = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "assert",
                "warning",
            ):
                out.append(json.dumps(params.get("args", []))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                out.append(params["entry"].get("text", "")[:500])
        return out


def open_in_chromium(html: Path, tmp_path: Path, checks: dict[str, str]) -> tuple[bytes, list[str], dict]:
    """Loads HTML in headless Chromium; returns (PNG screenshot, console errors, {name: evaluated CHECKS})."""
    binary = chromium_path()
    profile = tmp_path / "chromium-profile"
    proc = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,2000",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if found:
                port = int(found.group(1))
        assert port, f"Chromium did not start (exit {proc.poll()})"
        return asyncio.run(_drive(port, html, checks))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _drive(port: int, html: Path, checks: dict[str, str]):
    import aiohttp

    async with aiohttp.ClientSession(trust_env=False) as session:
        async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json(content_type=None)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        async with session.ws_connect(url, max_msg_size=0) as ws:
            page = Page(ws)
            for domain in ("Runtime", "Log", "Page"):
                await page.send(f"{domain}.enable")
            await page.send("Page.navigate", url=html.resolve().as_uri())
            await page.wait_event("Page.loadEventFired")
            await page.drain(0.5)
            results = {}
            for name, expression in checks.items():
                res = await page.send("Runtime.evaluate", expression=expression, returnByValue=True)
                results[name] = res.get("result", {}).get("value")
            shot = await page.send("Page.captureScreenshot", format="png")
            return base64.b64decode(shot["data"]), page.errors(), results


@pytest.fixture(scope="module")
def report_runs(tmp_path_factory):
    """Two runs: in the second, `alpha` got much worse, `delta` failed, and one answer is hostile HTML."""
    root = tmp_path_factory.mktemp("report")
    config = make_config(root, n=40, datasets=("docs-vqa", "docs-ocr"))
    results = root / "results"
    write_run(
        results,
        "20260101-000000-aaaa",
        config,
        {"alpha": {1, 2}, "beta": set(range(0, 40, 4))},
        datasets=("docs-vqa", "docs-ocr"),
        started_at="2026-01-01T00:00:00+00:00",
        perturbation="blur:2",
        perturbed_wrong={"alpha": set(range(0, 40, 3))},
    )
    second = write_run(
        results,
        "20260102-000000-bbbb",
        config,
        {"alpha": set(range(0, 40, 2)), "beta": set(range(0, 40, 4)) | {1}},
        datasets=("docs-vqa", "docs-ocr"),
        started_at="2026-01-02T00:00:00+00:00",
        perturbation="blur:2",
        perturbed_wrong={"alpha": set(range(0, 40, 3))},
        failed={"delta": f"ServerError: {XSS}"},
        overrides={"alpha": {3: XSS}},
    )
    return second


def test_report_is_self_contained_and_complete(report_runs):
    html = (report_runs.root / "report.html").read_text(encoding="utf-8")
    # nothing to fetch: no script, no stylesheet link, no external source or url()
    assert "<script" not in html.lower()
    assert not re.search(r"<link\b", html, re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//|file:)""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:|//)", html, re.I)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    for section in (
        'id="leaderboard"',
        'id="pareto"',
        'id="regressions"',
        'id="breakdowns"',
        'id="latency"',
        'id="robustness"',
        'id="worst"',
        'id="failures"',
    ):
        assert section in html, section
    assert html.count("<svg") >= 6  # quality/latency, breakdowns, distributions, perturbation drop
    assert "samples.html#dataset=" in html  # the worst samples link into the sample explorer
    assert "by document class" in html and "by question type" in html
    assert "Pareto front" in html
    # the failed pair is listed with its reason, escaped
    assert "delta" in html and "ServerError: &lt;script&gt;" in html
    # the regression of alpha is in the report
    section = html[html.index('id="regressions"') : html.index('id="breakdowns"')]
    regressions = section[section.index("<table>") : section.index("</table>")]
    assert "alpha" in regressions and "20260101-000000-aaaa" in regressions
    assert "beta" not in regressions
    # the card names the run it compared with
    card = html[html.index('id="comparison-card"') : html.index('id="leaderboard"')]
    assert "against run 20260101-000000-aaaa" in card and "4 regressions" in card
    assert len(html) < 1_500_000


def test_model_output_is_escaped(report_runs):
    html = (report_runs.root / "report.html").read_text(encoding="utf-8")
    assert XSS not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert "<svg onload" not in html


def test_report_renders_in_headless_chromium(report_runs, tmp_path):
    checks = {
        "pwned": "typeof window.__pwned",
        "scripts": "document.querySelectorAll('script').length",
        "handlers": "Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)"
        ".some(a => a.name.startsWith('on'))).length",
        "answer_shown": "document.body.innerText.includes('<script>window.__pwned=1</script>')",
        "bold_injected": "Array.from(document.querySelectorAll('b')).some(b => b.textContent === 'bold')",
        "svgs": "document.querySelectorAll('svg').length",
        "worst_links": "document.querySelectorAll('ul.worst a[href^=\"samples.html#\"]').length",
        "width": "document.documentElement.scrollWidth",
    }
    png, errors, found = open_in_chromium(report_runs.root / "report.html", tmp_path, checks)
    assert errors == []
    assert found["pwned"] == "undefined"
    assert found["scripts"] == 0 and found["handlers"] == 0
    assert found["answer_shown"] is True and found["bold_injected"] is False
    assert found["svgs"] >= 6
    assert found["worst_links"] >= 1
    from PIL import Image

    shot = Image.open(io.BytesIO(png)).convert("RGB")
    (tmp_path / "report.png").write_bytes(png)
    assert shot.size[0] >= 1000
    colours = shot.getcolors(maxcolors=1_000_000)
    assert colours is None or len(colours) > 50, "the screenshot is blank"
    dark = sum(1 for px in shot.resize((320, 500)).getdata() if sum(px) < 300)
    assert dark > 500, "almost nothing drawn on the page"


def test_report_without_dataset_or_history(tmp_path):
    """A run whose dataset is gone and that has no earlier run still gets a full report, no thumbnails."""
    config = make_config(tmp_path, n=12)
    run = write_run(tmp_path / "results", "only", config, {"alpha": {1}}, n=12, report=False)
    shutil.rmtree(config / "data")
    import polars as pl

    from vlmhyperbench.report import write_report
    from vlmhyperbench.results import PairKey
    from vlmhyperbench.scoring import score_pair_file

    scores, summary = score_pair_file(
        run.predictions(PairKey(model="alpha", dataset="docs-vqa")),
        {"model": "alpha", "dataset": "docs-vqa", "perturbation": ""},
        ["anls"],
        ["general", "by_doc_class"],
    )
    manifest = run.read_manifest()
    write_report(run, manifest, [scores], [summary], [], print_table=False)
    html = (run.root / "report.html").read_text(encoding="utf-8")
    assert "data:image/jpeg" not in html
    card = html[html.index('id="comparison-card"') : html.index('id="leaderboard"')]
    assert "nothing compared" in card and "no regression" not in html.lower(), "a first run claims nothing"
    assert "no earlier run of alpha on docs-vqa" in html
    assert pl.read_csv(run.root / "regressions.csv", separator=";").height == 0


def test_plots_are_deterministic_svg_text():
    from vlmhyperbench.report import plots

    points = [
        {"label": "a$b$<x>", "model": "a$b$<x>", "x": 0.4, "y": 0.7, "low": 0.6, "high": 0.8, "front": True},
        {"label": "slow", "model": "slow", "x": 1.2, "y": 0.6, "low": None, "high": None, "front": False},
    ]
    colors = plots.model_colors(["a$b$<x>", "slow"])
    one = plots.quality_latency(points, "anls", True, colors, "quality-1")
    two = plots.quality_latency(points, "anls", True, colors, "quality-1")
    assert one == two and one.startswith("<svg") and "<?xml" not in one
    assert "a$b$&lt;x&gt;" in one and "<x>" not in one  # text kept as escaped text, not math, not markup
    assert len(one) < 60_000
    assert plots.pareto_front([(1.0, 0.5), (2.0, 0.9), (3.0, 0.8), (0.5, 0.1)], True) == [3, 0, 1]
    assert plots.pareto_front([(1.0, 0.5), (2.0, 0.1), (3.0, 0.8)], False) == [0, 1]


def test_a_failing_plot_still_leaves_a_report(tmp_path, monkeypatch):
    from vlmhyperbench.report import plots

    def broken(*args, **kwargs):
        raise RuntimeError("no plot today")

    monkeypatch.setattr(plots, "quality_latency", broken)
    config = make_config(tmp_path, n=8)
    run = write_run(tmp_path / "results", "r", config, {"alpha": {1}}, n=8)
    html = (run.root / "report.html").read_text(encoding="utf-8")
    assert "could not be drawn" in html and "RuntimeError: no plot today" in html and "alpha" in html

"""Headless Chromium for the tests and bench/: Debian's `chromium` (.ci/run installs it) driven by Playwright
(its own browser download is never used). No network: the flags keep Chromium from calling home."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The Chromium executable; RuntimeError naming the Debian package when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "headless Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)"
    )


@contextmanager
def chromium():
    """A started headless Chromium (a Playwright Browser) with a fresh profile; closed on exit."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with tempfile.TemporaryDirectory(prefix="vlmhb-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=path, headless=True, args=FLAGS, viewport={"width": 1500, "height": 1000}
        )
        try:
            yield context
        finally:
            context.close()

"""Test set-up: Prefect runs against a temporary local API (one per session, and so one per xdist worker)
in its own PREFECT_HOME; tests that share something expensive run on one worker (see
pytest_collection_modifyitems)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HOME = tempfile.mkdtemp(prefix="vlmhb-prefect-home-")
os.environ.setdefault("PREFECT_HOME", _HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# CLI runs in tests start their own temporary Prefect API: give it time on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """Groups for `--dist loadgroup` (make test): a module whose tests share a module- or session-scoped
    fixture defined in it (a run, a server, a built environment, a Prefect stand) keeps those tests on one
    worker, so the fixture is made once. Every other test goes wherever a worker is free, Docker tests
    included: what they build and start is named per test or per process (containers carry their
    process's owner label, env images their spec's key), so two workers never touch each other's."""
    for item in items:
        if not item.get_closest_marker("xdist_group") and _shares_a_fixture_of_its_module(item):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Under --dist loadgroup, a worker whose collection lost its groups says so (xdist puts a test's group on
    its node id; a pytest that names nodes otherwise makes xdist drop every group without a word, and the
    tests that share a run or the Docker engine would then run side by side)."""
    if not getattr(session.config.option, "loadgroup", False):  # set in xdist's workers only
        return
    lost = [i.nodeid for i in session.items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
    if lost:
        raise pytest.UsageError(
            f"--dist loadgroup: {len(lost)} tests lost their xdist group (e.g. {lost[0]}); this pytest and "
            "pytest-xdist do not work together (see the pin in pyproject.toml)"
        )


def _shares_a_fixture_of_its_module(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for defs in info.name2fixturedefs.values():
        for fixturedef in defs:
            if fixturedef.scope in ("module", "session", "package") and getattr(
                fixturedef.func, "__module__", None
            ) == getattr(item.module, "__name__", None):
                return True
    return False


@pytest.fixture(scope="session")
def prefect_harness():
    """A real, temporary Prefect API for the whole session (SQLite in a temp folder)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=300):  # 4 workers start theirs at once on 2 cores
        yield


@pytest.fixture(scope="session")
def api_url(prefect_harness) -> str:
    """The session's Prefect API: a command line run as a subprocess (PREFECT_API_URL=api_url) uses it
    instead of starting a temporary API of its own, which only the tests of that path need."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture
def write_config(tmp_path):
    """Writes a config folder from {file name: text}; returns its path."""

    def write(files: dict[str, str], folder: str = "config") -> Path:
        root = tmp_path / folder
        root.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
        return root

    return write

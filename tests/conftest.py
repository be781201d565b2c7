"""Test set-up: Prefect runs against a temporary local API (one per session) in its own PREFECT_HOME."""

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

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO / "configs" / "default"


@pytest.fixture(scope="session")
def prefect_harness():
    """A real, temporary Prefect API for the whole session (SQLite in a temp folder)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


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


def require(condition: bool, reason: str) -> None:
    """Skips a test whose system part is missing, except in CI (CI set), where that is a failure:
    .ci/run installs every part, so a skip there would hide a broken set-up."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
    pytest.skip(reason)


def built_env_python(backend: str, packages: tuple[str, ...] = ()) -> str:
    """The python of a model environment built (or reused) by EnvManager, as the benchmark builds it."""
    from environments.manager import EnvManager
    from vlmhyperbench.catalog import ModelRow
    from vlmhyperbench.errors import EnvBuildError

    manager = EnvManager()
    row = ModelRow(name="test", backend=backend, model="test", packages=tuple(packages))
    try:
        return manager.ensure(manager.spec(row, "venv")).python
    except EnvBuildError as exc:
        require(False, f"cannot build the {backend} test environment: {exc}")
        raise


def synthetic_server():
    """bench/synthetic_server.py (the OpenAI-compatible server of known timings) as a module; bench/ is
    not a package, so it is loaded by path."""
    import importlib.util
    import sys

    if "synthetic_server" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "synthetic_server", REPO / "bench" / "synthetic_server.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["synthetic_server"] = module
        spec.loader.exec_module(module)
    return sys.modules["synthetic_server"]

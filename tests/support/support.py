"""Helpers the tests share: where the repository is, skipping a test whose system part is missing (a
failure in CI instead), and model environments built as the benchmark builds them."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "configs" / "default"


def require(condition: bool, reason: str) -> None:
    """Skips a test whose system part is missing, except in CI (CI set), where that is a failure:
    .ci/run installs every part, so a skip there would hide a broken set-up."""
    import pytest

    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
    pytest.skip(reason)


def built_env_python(backend: str, packages: tuple[str, ...] = ()) -> str:
    """The python of a model environment built (or reused) by EnvManager, as the benchmark builds it."""
    from environments.backends import BACKENDS
    from environments.manager import EnvManager
    from vlmhb_core.errors import EnvBuildError
    from vlmhyperbench.config import ModelRow

    manager = EnvManager()
    row = ModelRow(name="test", backend=backend, model="test", packages=tuple(packages))
    try:
        return manager.ensure(manager.spec(row, BACKENDS.get(backend), "venv")).python
    except EnvBuildError as exc:
        require(False, f"cannot build the {backend} test environment: {exc}")
        raise

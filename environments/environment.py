"""An environment: what every provider returns (Environment), lists (EnvInfo) and implements (Provider)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from filelock import FileLock

from environments.spec import EnvSpec


@dataclass
class Environment:
    """A built (or external) environment, ready to start a model server in."""

    spec: EnvSpec
    provider: str
    location: str
    """The venv folder, the Docker image tag, or '' for an external endpoint."""
    python: str = "python"
    """The interpreter inside the environment (an absolute path for venvs, a name inside images)."""
    server_path: str | None = None
    """Folder to put on PYTHONPATH so that `python -m vlmhb_server` works inside the environment."""
    freeze: list[str] = field(default_factory=list)
    build_s: float = 0.0
    """Seconds spent building it in this call (0 when it was cached)."""
    cached: bool = False
    ready_s: float = 0.0
    """Seconds `ensure` took (the cache-hit figure when cached)."""


@dataclass
class EnvInfo:
    """One environment in a provider's cache, for `python -m environments list|prune`."""

    key: str
    provider: str
    location: str
    backend: str
    packages: str
    size_mb: float | None
    last_used: float | None

    def last_used_text(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.last_used)) if self.last_used else "never"


class Provider(Protocol):
    name: str

    def ensure(self, spec: EnvSpec, log: Path | None = None) -> Environment:
        """Returns the environment of SPEC, building it first when it is not cached."""

    def list(self) -> list[EnvInfo]:
        """Every environment this provider has built."""

    def remove(self, key: str) -> None:
        """Deletes one environment."""


def build_once(
    root: Path, key: str, cached: Callable[[], Environment | None], build: Callable[[], Environment]
) -> Environment:
    """The cached environment KEY, else built under ROOT/KEY.lock: a second run that wants the same spec
    waits for the first build and then finds it cached."""
    env = cached()
    if env is None:
        root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(root / f"{key}.lock")):
            env = cached()  # built by another run while we waited
            if env is None:
                env = build()
    return env

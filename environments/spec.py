"""EnvSpec: what a model's environment is made of, and the content hash that names it."""

from __future__ import annotations

import hashlib
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel, ConfigDict

from environments.backends import Backend

SERVERS_DIR = Path(__file__).resolve().parents[1] / "vlmhb_server"
"""The project's model server (a package of its own: it is copied into environments, never imported here)."""
SPEC_VERSION = 1  # bump when the layout of built environments changes


class EnvSpec(BaseModel):
    """Everything that changes a model's environment; two equal specs share one environment."""

    model_config = ConfigDict(frozen=True)

    backend: str
    provider: Literal["none", "venv", "docker"]
    python: str
    packages: tuple[str, ...]
    base_image: str | None = None
    gpus: int = 0
    env_vars: tuple[tuple[str, str], ...] = ()
    server_digest: str | None = None
    """Hash of the project's own server code when the backend uses it: editing it rebuilds the env."""

    @property
    def key(self) -> str:
        payload = json.dumps({"v": SPEC_VERSION, **self.model_dump(mode="json")}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def installs(self) -> bool:
        return self.provider != "none"

    def labels(self) -> dict[str, str]:
        """The spec as flat strings (Docker labels, listings)."""
        return {
            "vlmhyperbench.key": self.key,
            "vlmhyperbench.backend": self.backend,
            "vlmhyperbench.python": self.python,
            "vlmhyperbench.packages": " ".join(self.packages),
            "vlmhyperbench.spec": self.model_dump_json(),
        }


@lru_cache(maxsize=1)
def server_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(SERVERS_DIR.rglob("*.py")):
        digest.update(path.relative_to(SERVERS_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def merge_requirements(defaults: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    """The backend's defaults plus the row's packages; a row's requirement replaces a default one of
    the same project (so `torch==2.13.0` in a row pins the default `torch`)."""

    def name(req: str) -> str:
        try:
            return canonicalize_name(Requirement(req).name)
        except InvalidRequirement:
            return req  # a path or URL: kept as written, pip reports it if it is wrong

    overridden = {name(r) for r in extra}
    return tuple([r for r in defaults if name(r) not in overridden] + list(extra))


def spec_for(model_row, backend: Backend, provider: str) -> EnvSpec:
    """The EnvSpec of a models.csv row served by BACKEND, built with PROVIDER (none, venv or docker)."""
    if backend.external:
        provider = "none"
    return EnvSpec(
        backend=backend.name,
        provider=provider,  # type: ignore[arg-type]
        python=model_row.python or f"{sys.version_info.major}.{sys.version_info.minor}",
        packages=() if backend.external else merge_requirements(backend.packages, model_row.packages),
        base_image=model_row.image if provider == "docker" else None,
        gpus=model_row.gpus,
        env_vars=tuple(sorted(model_row.env_vars.items())),
        server_digest=server_digest() if backend.own_server else None,
    )

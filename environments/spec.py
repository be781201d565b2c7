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
from environments.served_model import ServedModel

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVERS_DIR = REPO_ROOT / "vlmhb_server"
"""The project's model server (a package of its own: it is copied into environments, never imported here)."""
SERVER_CODE = "vlmhb_server"
CODE_PACKAGES = (SERVER_CODE, "vlmhb_scorers")
"""The project's packages that run inside environments: the model server, and the scorers' runner."""
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
    """Hash of the project's own code copied into the env (`code`), when it runs there: editing it
    rebuilds the env."""
    code: str | None = None
    """Which of the project's packages is copied into the env (CODE_PACKAGES): None is the model server,
    vlmhb_server; a scorer's environment gets vlmhb_scorers."""
    no_deps: tuple[str, ...] = ()
    """Requirements installed without their dependencies, after `packages` (a scorer that uses a few
    modules of a large package: olmocr's test classes without its pipeline). venv environments only."""

    @property
    def key(self) -> str:
        data = self.model_dump(mode="json")
        for name, default in (("code", None), ("no_deps", [])):
            if data[name] == default:  # a model's env: keys from before these fields existed stay the same
                del data[name]
        payload = json.dumps({"v": SPEC_VERSION, **data}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def code_package(self) -> str:
        """The package copied into the env when server_digest is set."""
        return self.code or SERVER_CODE

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


@lru_cache(maxsize=4)
def server_digest(package: str = SERVER_CODE) -> str:
    """The hash of one of the project's packages that runs inside environments (CODE_PACKAGES)."""
    if package not in CODE_PACKAGES:
        raise ValueError(f"{package!r} is not one of the packages copied into environments {CODE_PACKAGES}")
    folder = REPO_ROOT / package
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def merge_requirements(
    defaults: tuple[str, ...],
    extra: tuple[str, ...],
    replaced_by: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> tuple[str, ...]:
    """The backend's defaults plus the row's packages; a row's requirement replaces a default one of
    the same project (so `torch==2.13.0` in a row pins the default `torch`) and keeps that default's extras
    (a row's `transformers>=4.50` is `transformers[serving]>=4.50` where the backend needs the extra; a direct
    reference, `name @ URL`, is taken as written), and REPLACED_BY's projects replace the defaults they name
    (`rapidocr-onnxruntime==1.4.4` replaces `rapidocr` and `onnxruntime`)."""

    def parse(req: str) -> Requirement | None:
        try:
            return Requirement(req)
        except InvalidRequirement:
            return None  # a path or URL: kept as written, pip reports it if it is wrong

    def name(req: str) -> str:
        parsed = parse(req)
        return canonicalize_name(parsed.name) if parsed else req

    extras = {name(r): parsed.extras for r in defaults if (parsed := parse(r)) and parsed.extras}

    def with_default_extras(req: str) -> str:
        parsed = parse(req)
        wanted = extras.get(name(req), set())
        if parsed is None or parsed.url or wanted <= parsed.extras:
            return req
        parsed.extras |= wanted
        return str(parsed)

    overridden = {name(r) for r in extra}
    for project, replaced in replaced_by:
        if canonicalize_name(project) in overridden:
            overridden |= {canonicalize_name(p) for p in replaced}
    return tuple([r for r in defaults if name(r) not in overridden] + [with_default_extras(r) for r in extra])


def spec_for(model_row: ServedModel, backend: Backend, provider: str) -> EnvSpec:
    """The EnvSpec of a models.csv row served by BACKEND, built with PROVIDER (none, venv or docker)."""
    if backend.external:
        provider = "none"
    return EnvSpec(
        backend=backend.environment or backend.name,
        provider=provider,  # type: ignore[arg-type]
        python=model_row.python or f"{sys.version_info.major}.{sys.version_info.minor}",
        packages=()
        if backend.external
        else merge_requirements(backend.packages, model_row.packages, backend.replaced_by),
        base_image=model_row.image if provider == "docker" else None,
        gpus=model_row.gpus,
        env_vars=tuple(sorted(model_row.env_vars.items())),
        server_digest=server_digest() if backend.own_server else None,
    )

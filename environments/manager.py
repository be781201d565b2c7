"""EnvManager: turns a model row into its EnvSpec and a ready environment, through one provider per kind."""

from __future__ import annotations

import json
import time
from pathlib import Path

from environments.backends import Backend
from environments.environment import Environment, Provider
from environments.served_model import ServedModel
from environments.spec import EnvSpec, spec_for
from vlmhb_core.atomic import atomic_write_json
from vlmhb_core.settings import get_settings


class ExternalProvider:
    """`none`: an endpoint that already runs; there is nothing to build (serve checks that it answers)."""

    name = "none"

    def ensure(self, spec: EnvSpec, log: Path | None = None) -> Environment:
        return Environment(spec=spec, provider=self.name, location="", cached=True)

    def list(self):
        return []

    def remove(self, key: str) -> None:
        pass


class EnvManager:
    """Builds and caches model environments under CACHE_DIR, one provider per kind."""

    def __init__(self, cache_dir: Path | None = None, installer: str | None = None):
        settings = get_settings()
        self.cache_dir = Path(cache_dir or settings.cache_dir)
        self.installer = installer or settings.installer
        self._providers: dict[str, Provider] = {}

    def provider(self, kind: str) -> Provider:
        if kind not in self._providers:
            if kind == "none":
                self._providers[kind] = ExternalProvider()
            elif kind == "venv":
                from environments.venv import VenvProvider

                self._providers[kind] = VenvProvider(self.cache_dir, self.installer)
            elif kind == "docker":
                from environments.docker import DockerProvider

                self._providers[kind] = DockerProvider(self.cache_dir)
            else:
                raise ValueError(f"unknown environment kind {kind!r} (known: none, venv, docker)")
        return self._providers[kind]

    def spec(self, model_row: ServedModel, backend: Backend, override: str | None = None) -> EnvSpec:
        """The row's spec; OVERRIDE (the --env flag) wins over the row's `env`, which wins over settings."""
        return spec_for(model_row, backend, override or model_row.env or get_settings().env_provider)

    def ensure(self, spec: EnvSpec, log: Path | None = None, *, used_by: str | None = None) -> Environment:
        """The ready environment of SPEC; USED_BY (a config folder) is recorded as its latest user, so that
        `prune` knows which configs still use it."""
        env = self.provider(spec.provider).ensure(spec, log)
        if used_by and spec.installs:
            self.record_use(spec, used_by)
        return env

    # ---------------------------------------------------------------- who uses what

    def _usage_file(self, provider: str, key: str) -> Path:
        return self.cache_dir / "usage" / f"{provider}-{key}.json"

    def record_use(self, spec: EnvSpec, config: str) -> None:
        """Notes that CONFIG used SPEC's environment now (the cache is shared by every config)."""
        try:
            atomic_write_json(
                self._usage_file(spec.provider, spec.key),
                {"config": str(Path(config).resolve()), "used_at": time.time()},
            )
        except OSError:  # a read-only cache still serves: the record is a courtesy to prune
            pass

    def usage(self, provider: str, key: str) -> dict | None:
        """{config, used_at} of the environment's latest recorded use, or None."""
        try:
            return json.loads(self._usage_file(provider, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def forget_use(self, provider: str, key: str) -> None:
        self._usage_file(provider, key).unlink(missing_ok=True)

"""ServedModel: what environments/ reads of a models.csv row. config.ModelRow satisfies it; environments/
sits below config/ and names no row class of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable


@runtime_checkable
class ServedModel(Protocol):
    """A model as its environment, its server and the endpoint check see it (read-only)."""

    name: str
    model: str
    env: Literal["none", "venv", "docker"] | None
    python: str | None
    packages: tuple[str, ...]
    image: str | None
    args: tuple[str, ...]
    gpus: int
    env_vars: Mapping[str, str]
    memory_limit: str | None
    served_model_name: str | None
    base_url: str | None
    api_key_env: str | None
    api_version: str | None
    deployment: str | None
    headers: Mapping[str, str]

    def api_key(self) -> Any:
        """The key read from the variable api_key_env names (a SecretStr), or None."""

    def query_params(self) -> dict[str, str]:
        """The query parameters of every request, variables resolved."""

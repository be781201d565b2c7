"""Process-wide settings, read from the environment (prefix VLMHB_) or a .env file: the one Settings class."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_HEARTBEAT_S = 30
"""Prefect's floor for PREFECT_FLOWS_HEARTBEAT_FREQUENCY."""
MIN_LEASE_S = 60
"""The Prefect server's floor for a concurrency lease's duration."""


class Settings(BaseSettings):
    """Where things go and how the orchestrator behaves; every field has an env var VLMHB_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="VLMHB_", env_file=".env", extra="ignore")

    results_dir: Path = Path("results")
    """Where run folders are written (``--output`` overrides it)."""
    cache_dir: Path = Path.home() / ".cache" / "vlmhyperbench"
    """Model environments, wheelhouses and other reusable build products."""
    env_provider: Literal["venv", "docker"] = "venv"
    """Default environment provider for model rows whose ``env`` cell is empty."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level of the records the run's log file keeps (RUN_DIR/logs/run.log)."""
    installer: Literal["auto", "uv", "pip"] = "auto"
    """How venvs are filled: ``uv`` when it is on PATH (auto), or pip."""
    server_start_timeout_s: float = 600.0
    """How long a model server may take to become healthy (model loading included)."""
    request_timeout_s: float = 300.0
    """Timeout of one request to a model server."""
    max_error_rate: float = 0.5
    """A pair whose share of failed requests passes this (after a minimum count) stops early."""
    regression_threshold: float | None = None
    """Largest drop of a metric tolerated against the previous run before it is flagged (None: the
    drop's 95 % paired bootstrap interval decides); thresholds.csv in the config overrides it."""
    container_memory_limit: str | None = None
    """Memory limit of model server containers whose row sets none (e.g. 64g); default 90 % of the host."""
    max_parallel_models: int | None = None
    """How many per-model subflows run side by side, whatever their kind. Unset: by kind (flows.benchmark
    PARALLEL_BY_KIND): 16 remote endpoints, 2 model servers on CPU, 1 GPU model at a time."""

    # ---- Docker images and placement on work pools (docs/guides/production.md)
    base_image: str | None = None
    """The base image of Docker environments (default: the local one, deployments/build_base_image.sh)."""
    orchestrator_image: str | None = None
    """The orchestrator image's name; with a registry host in it, the image is pushed after its build."""
    job_image_repo: str | None = None
    """Where per-model job images are tagged (and pushed, with a registry host)."""
    dispatch: Literal["local", "pool"] = "local"
    """`pool`: each model's subflow runs as a deployment run in its own container (flows/dispatch.py)."""
    model_deployment: str = "evaluate-model-job/models"
    """The per-model deployment (flow name/deployment name) that pool dispatch runs."""
    gpu_host: str | None = None
    """This host's name in the concurrency limit gpu:<host> (default: the hostname)."""
    job_poll_s: float = 2.0
    """How often pool dispatch polls a per-model run."""

    # ---- hosts that die (docs/guides/production.md, "Hosts that die": how death is detected)
    heartbeat_s: int = Field(30, ge=MIN_HEARTBEAT_S)
    """How often a per-model run on a pool sends a heartbeat (PREFECT_FLOWS_HEARTBEAT_FREQUENCY in its
    job's environment; Prefect's minimum is 30)."""
    dead_after_s: float = 120.0
    """A per-model run silent this long is dead: the automation `vlmhb deploy` creates marks it Crashed,
    and the benchmark dispatches its model once more elsewhere (at least two heartbeats)."""
    gpu_lease_s: float = Field(60.0, ge=MIN_LEASE_S)
    """Lease of a job's gpu:<host> slot: renewed every 3/4 of it while the job lives, so a dead host's slot
    is free at most this long after its last renewal, plus the server's repossessor loop (15 s)."""
    gpu_devices: Literal["nvidia", "none"] = "nvidia"
    """How a pool job's container gets its model's GPUs: `nvidia` (Docker device requests, the NVIDIA
    container toolkit) or `none` (no device request: hosts whose default runtime exposes the GPUs, or a
    stand-in where there is no GPU, as in the tests of placement)."""
    alert_webhook_url: SecretStr | None = None
    """Where `vlmhb deploy`'s alert automation posts when a benchmark run ends Failed or Crashed."""

    @model_validator(mode="after")
    def _dead_after_two_heartbeats(self) -> Settings:
        if self.dead_after_s < 2 * self.heartbeat_s:
            raise ValueError(
                f"VLMHB_DEAD_AFTER_S={self.dead_after_s:g} must be at least two heartbeats "
                f"(2 x VLMHB_HEARTBEAT_S={self.heartbeat_s}): a run that missed one would be taken for dead"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""Process-wide settings, read from the environment (prefix VLMHB_) or a .env file: the one Settings class."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

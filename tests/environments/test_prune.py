"""A safe prune: the environment cache is shared by every config and checkout on the machine, so `prune`
asks which configs still matter (or how old is too old), says what it judged against, and `list` shows
which config used each environment last. The environments are built for real, into a cache of the test's
own, through the command a user runs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from environments.manager import EnvManager
from environments.spec import EnvSpec
from tests.support.support import REPO

pytestmark = pytest.mark.slow  # builds environments


def command(*args: str, cache) -> subprocess.CompletedProcess:
    env = {**os.environ, "VLMHB_CACHE_DIR": str(cache), "VLMHB_INSTALLER": "uv"}
    return subprocess.run(
        [sys.executable, "-m", "environments", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def test_prune_asks_which_configs_matter_and_list_shows_who_used_what(tmp_path):
    cache = tmp_path / "cache"
    config = tmp_path / "team-a"
    config.mkdir()
    (config / "models.csv").write_text("name;backend;env;env_vars\ntess-a;tesseract;venv;RUN=team-a\n")
    (config / "datasets.csv").write_text("name;task;path\n")
    built = command("build", "--config", str(config), cache=cache)
    assert built.returncode == 0, built.stderr
    used_key = built.stdout.split("venv ")[1].split()[0]
    other = EnvManager(cache, installer="uv").ensure(
        EnvSpec(
            backend="other",
            provider="venv",
            python=f"{sys.version_info[0]}.{sys.version_info[1]}",
            packages=(),
        )
    )
    other_key = other.spec.key

    refused = command("prune", cache=cache)
    assert refused.returncode == 2
    assert "prune needs --config DIR (one or more: keep what they use) or --unused-days N" in refused.stderr

    listing = command("list", "--env", "venv", cache=cache)
    assert listing.returncode == 0, listing.stderr
    lines = {line.split()[1]: line for line in listing.stdout.splitlines() if line.startswith("venv ")}
    assert str(config.resolve()) in lines[used_key] and str(config.resolve()) not in lines[other_key]
    assert "used by" in listing.stdout

    kept = command("prune", "--unused-days", "1", "--env", "venv", cache=cache)
    assert (
        "prune: removing what was unused for 1 days" in kept.stdout
        and "removing" not in kept.stdout.split("\n", 1)[1]
    )

    dry = command("prune", "--config", str(config), "--env", "venv", "--dry-run", cache=cache)
    assert f"prune: keeping what these configs use: {config.resolve()}" in dry.stdout
    assert f"would remove venv {other_key}" in dry.stdout and used_key not in dry.stdout.split("\n", 1)[1]
    assert (cache / "venv" / other_key).is_dir(), "a dry run removes nothing"

    done = command("prune", "--config", str(config), "--env", "venv", cache=cache)
    assert done.returncode == 0 and f"removing venv {other_key}" in done.stdout
    assert not (cache / "venv" / other_key).exists() and (cache / "venv" / used_key).is_dir()

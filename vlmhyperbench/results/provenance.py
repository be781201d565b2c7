"""Where a run comes from: its id, the code's git commit, and the versions of what it ran on."""

from __future__ import annotations

import platform
import secrets
import subprocess
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def new_run_id() -> str:
    """Sortable and unique: UTC time to the second plus a short random suffix."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("vlmhyperbench", "prefect", "polars", "jiwer", "anls", "rapidfuzz", "aiohttp", "openai"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return found

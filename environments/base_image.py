"""The base image of Docker environments, made on first use: built here, or pulled from a registry.

    ensure_base_image(client, "vlmhyperbench-base:bookworm-py3.11", cache_dir)

A name in the local repository `vlmhyperbench-base` (any tag) is built on this machine by
deployments/build_base_image.sh: debootstrap of a minimal Debian bookworm with Python 3.11, then
`docker import`; no image registry is involved. Any other name (`registry.example:5000/vlmhb/base:1`,
`myteam/base:py3.11`, `python:3.11-slim`) is pulled. Either happens once per machine: a file lock makes
the models that want the base at the same moment wait for the first one, and find the image when it
ends. What cannot be done is said in one line that says how to fix it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from environments.process import run_logged
from vlmhb_core.errors import EnvBuildError

DEFAULT_BASE_IMAGE = "vlmhyperbench-base:bookworm-py3.11"
LOCAL_REPOSITORY = "vlmhyperbench-base"
"""Names in this repository are built here; any other name is pulled."""
BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "deployments" / "build_base_image.sh"
SCRIPT_PREFIX = "[build_base_image] "


class BaseImageError(EnvBuildError):
    """The base image is missing and cannot be made here; the message says how to fix it."""


def built_here(image: str) -> bool:
    """True for a name this machine builds (repository `vlmhyperbench-base`, no registry, no namespace)."""
    repository = re.sub(r"@.*$", "", image)
    repository = repository.rsplit(":", 1)[0] if ":" in repository.rsplit("/", 1)[-1] else repository
    return repository == LOCAL_REPOSITORY


def _exists(client, image: str) -> bool:
    import docker

    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def ensure_base_image(client, image: str, cache_dir: Path, progress: Callable[[str], None] = _say) -> bool:
    """Makes IMAGE available to the engine CLIENT talks to; returns True when it had to be made.

    The rootfs of a local build is cached in CACHE_DIR/base-image (a later build only imports it, in
    seconds). PROGRESS gets a line when the work starts and when it ends (stderr by default)."""
    if _exists(client, image):
        return False
    lock_dir = Path(cache_dir) / "base-image"
    lock_dir.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", image)
    with FileLock(str(lock_dir / f"{safe}.lock")):  # not the script's own .lock: it takes that one itself
        if _exists(client, image):  # made by another model or run while this one waited
            return False
        started = time.perf_counter()
        if built_here(image):
            _build(image, Path(cache_dir), progress)
        else:
            _pull(client, image, progress)
        progress(f"base image {image} ready in {time.perf_counter() - started:.0f} s")
    return True


def _pull(client, image: str, progress: Callable[[str], None]) -> None:
    import docker

    progress(f"pulling the base image {image} (once)")
    try:
        client.images.pull(image)
    except docker.errors.APIError as exc:
        raise BaseImageError(
            f"the base image {image} is not here and cannot be pulled ({exc.explanation or exc}): check the "
            f"name and `docker login`, or unset VLMHB_BASE_IMAGE to build {DEFAULT_BASE_IMAGE} here"
        ) from None


def _build(image: str, cache_dir: Path, progress: Callable[[str], None]) -> None:
    """Runs the build script (argv, no shell) with its output in CACHE_DIR/base-image/build-TAG.log; its
    step lines are the progress."""
    if not BUILD_SCRIPT.is_file():
        raise BaseImageError(
            f"the base image {image} is missing and this installation has no {BUILD_SCRIPT.name}: build "
            "it from a checkout (deployments/build_base_image.sh), or set VLMHB_BASE_IMAGE to an image in "
            "a registry"
        )
    if shutil.which("bash") is None:
        raise BaseImageError(
            f"the base image {image} is missing and building it needs bash (apt-get install bash)"
        )
    log_path = cache_dir / "base-image" / f"build-{re.sub(r'[^A-Za-z0-9_.-]+', '_', image)}.log"
    env = {**os.environ, "VLMHB_BASE_IMAGE": image, "VLMHB_CACHE_DIR": str(cache_dir)}
    progress(
        f"building the base image {image} (once per machine: debootstrap of Debian bookworm, about 2 "
        f"minutes; from a cached root filesystem, seconds); log: {log_path}"
    )
    last_error = ""
    started = time.perf_counter()

    def on_line(line: str) -> None:
        nonlocal last_error
        if line.startswith(SCRIPT_PREFIX):
            text = line[len(SCRIPT_PREFIX) :].strip()
            if text.startswith("error: "):
                last_error = text[len("error: ") :]
            else:
                progress(f"  base image [{time.perf_counter() - started:4.0f} s]: {text}")

    code = run_logged(["bash", str(BUILD_SCRIPT)], log_path, on_line, env=env)
    if code != 0:
        reason = last_error or f"{BUILD_SCRIPT.name} exited {code} (see {log_path})"
        raise BaseImageError(f"cannot build the base image {image}: {reason}")

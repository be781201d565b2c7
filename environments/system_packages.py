"""Debian packages an engine needs (tesseract-ocr, libgl1 for OpenCV): a base image with them installed.

environments/engines.py lists them per engine (EngineInfo.apt_packages). They go into an
intermediate image, vlmhyperbench-sys:<hash of base image id + packages>, shared by every env that
needs the same set, made in two steps so that no layer of the final image holds .deb files:

1. download: a helper container from the base image runs `apt-get install --download-only` into
   <root>/docker/debs/<hash>/ (the one step that needs the Debian mirror; an air-gapped machine copies
   that folder in, with its `debs.json`);
2. install: `dpkg -i` in a container with no network and the folder mounted read-only, committed.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import time
from pathlib import Path

from filelock import FileLock

from environments.engines import ENGINES
from environments.spec import EnvSpec
from environments.venv import tail
from vlmhb_core.atomic import atomic_folder
from vlmhb_core.errors import EnvBuildError

SYS_REPO = "vlmhyperbench-sys"
MARKER = "debs.json"
_APT = "apt-get -o APT::Sandbox::User=root -o Dpkg::Use-Pty=0"


def apt_packages(spec: EnvSpec) -> list[str]:
    """The Debian packages SPEC's engine needs: only the project's own server declares any."""
    if not spec.server_digest or spec.code:  # only model servers' engines declare any
        return []
    info = ENGINES.find(spec.backend)
    return sorted(set(info.apt_packages)) if info is not None else []


def ensure_system_image(client, base: str, packages: list[str], root: Path, output: list[str]) -> str:
    """The tag of BASE with PACKAGES installed (BASE itself when there are none); built when missing."""
    import docker

    if not packages:
        return base
    key = hashlib.sha256(json.dumps([client.images.get(base).id, packages]).encode()).hexdigest()[:16]
    tag = f"{SYS_REPO}:{key}"
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"sys-{key}.lock")):
        try:
            client.images.get(tag)
            output.append(f"# reusing {tag} ({' '.join(packages)})\n")
            return tag
        except docker.errors.ImageNotFound:
            pass
        debs = root / "debs" / key
        if not (debs / MARKER).is_file():
            _download(client, base, packages, debs, output)
        _install(client, base, packages, debs, tag, output)
    return tag


def _download(client, base: str, packages: list[str], debs: Path, output: list[str]) -> None:
    script = (
        f"set -e; {_APT} update -qq; {_APT} -o Dir::Cache::archives=/debs install -y -qq "
        f"--no-install-recommends --download-only {' '.join(map(shlex.quote, packages))}"
    )
    with atomic_folder(debs) as tmp:
        (tmp / "partial").mkdir()
        # The Debian mirror is the only thing reached; the host network because the engine has no bridge.
        _run(
            client,
            base,
            script,
            output,
            what="apt-get download",
            network_mode="host",
            cap_drop=["ALL"],
            volumes={str(tmp): {"bind": "/debs", "mode": "rw"}},
        )
        shutil.rmtree(tmp / "partial", ignore_errors=True)
        (tmp / "lock").unlink(missing_ok=True)
        meta = {"packages": packages, "base": base, "downloaded_at": time.time()}
        (tmp / MARKER).write_text(json.dumps(meta), encoding="utf-8")


def _install(client, base: str, packages: list[str], debs: Path, tag: str, output: list[str]) -> None:
    script = (
        "set -e; if ls /debs/*.deb >/dev/null 2>&1; then dpkg -i /debs/*.deb; fi; "
        "rm -rf /var/log/dpkg.log /var/log/apt /var/cache/debconf/*-old /var/cache/ldconfig/aux-cache"
    )
    container = _run(
        client,
        base,
        script,
        output,
        what="dpkg -i",
        network_mode="none",
        remove=False,
        volumes={str(debs): {"bind": "/debs", "mode": "ro"}},
    )
    try:
        repository, _, name = tag.partition(":")
        container.commit(
            repository=repository,
            tag=name,
            message=f"apt: {' '.join(packages)}",
            changes=['CMD ["python3"]', f'LABEL vlmhyperbench.apt="{" ".join(packages)}"'],
        )
    finally:
        container.remove(force=True)


def _run(client, image: str, script: str, output: list[str], *, what: str, remove: bool = True, **kwargs):
    output.append(f"$ {what}: {script}\n")
    container = client.containers.run(image, ["-c", script], entrypoint=["/bin/sh"], detach=True, **kwargs)
    try:
        code = container.wait().get("StatusCode", 1)
        logs = container.logs().decode("utf-8", "replace")
        output.append(logs)
        if code != 0:
            raise EnvBuildError(f"`{what}` of Debian packages exited {code}:\n{tail(logs)}")
    except BaseException:
        container.remove(force=True)
        raise
    if remove:
        container.remove(force=True)
    return container

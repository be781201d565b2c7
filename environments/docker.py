"""The docker provider: one image per EnvSpec hash, built offline from a wheelhouse resolved on the host.

    ensure(spec)  ->  image vlmhyperbench-env:<key>  (cache hit: the tag exists)
      1. probe the base image's interpreter (X.Y, arch, glibc)            docker run --network none
      2. wheels for it into <root>/docker/wheelhouse/<key>/                pip wheel | pip download (host)
      3. generated Dockerfile, built with no network:                      FROM base AS venv
           python -m venv /opt/venv; pip install --no-index /wheels/*.whl; pip freeze > freeze.txt
         then a clean stage with /opt/venv, the server code and ENV (the wheels stay out of the image)
      4. a last, instant build that adds the labels: the spec and the freeze ->  tagged

Nothing is tagged until the build is complete, and a failed build leaves no image (its intermediate
images carry a vlmhyperbench.build label and are pruned). Builds of one key are serialised by a file
lock. `start_server` runs a built image as a model server container; see containers.py.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
import time
import uuid
from pathlib import Path

from filelock import FileLock

from environments.base_image import DEFAULT_BASE_IMAGE, BaseImageError, ensure_base_image
from environments.containers import (
    OWNER_LABEL,
    SERVER_LABEL,
    ContainerServer,
    cleanup_stale,
    owner,
    register,
    stop_all,
)
from environments.environment import EnvInfo, Environment, build_once
from environments.spec import EnvSpec
from environments.system_packages import apt_packages, ensure_system_image
from environments.venv import copy_server, tail
from environments.wheelhouse import (
    INSTALLED_SCRIPT,
    Target,
    ensure_wheelhouse,
    link_wheels,
    parse_installed,
    provided_by_image,
    run_probe,
)
from vlmhb_core.errors import EnvBuildError, ServerError

__all__ = ["BASE_IMAGE", "ContainerServer", "DockerProvider", "cleanup_stale", "stop_all"]

BASE_IMAGE = DEFAULT_BASE_IMAGE
"""Built here on first use by deployments/build_base_image.sh (debootstrap + docker import, no registry)."""
IMAGE_REPO = "vlmhyperbench-env"
VENV = "/opt/venv"
SERVER_PATH = "/opt/vlmhb/server"
FREEZE_FILE = "/opt/vlmhb/freeze.txt"
FREEZE_LABEL = "vlmhyperbench.freeze"
BUILD_LABEL = "vlmhyperbench.build"
KEY_LABEL = "vlmhyperbench.key"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


PIDS_LIMIT = 4096
"""A fork bomb or a runaway tokenizer pool in a model server never exhausts the host's process table."""


def default_memory_limit() -> str:
    """A container's memory limit when its row sets none: VLMHB_CONTAINER_MEMORY_LIMIT, else 90 % of the
    host's memory, so that a runaway model is OOM-killed alone instead of taking the host down."""
    from vlmhb_core.settings import get_settings

    configured = get_settings().container_memory_limit
    if configured:
        return configured
    import psutil

    return f"{int(psutil.virtual_memory().total * 0.9 / 2**20)}m"


class DockerProvider:
    name = "docker"

    def __init__(self, root: Path, base_image: str | None = None, base_cache: Path | None = None):
        self.root = Path(root) / "docker"
        from vlmhb_core.settings import get_settings

        # VLMHB_BASE_IMAGE (settings.base_image), which deployments/build_base_image.sh reads too.
        self.base_image = base_image or get_settings().base_image or BASE_IMAGE
        self.base_cache = Path(base_cache or root)
        """Where the base image's root filesystem is cached (its base-image/ folder), as the script does."""

    # -------------------------------------------------------------- public

    def ensure(self, spec: EnvSpec, log: Path | None = None) -> Environment:
        started = time.perf_counter()
        try:
            client = _client()
        except EnvBuildError as exc:
            raise EnvBuildError(f"{exc}, or run the model with --env venv") from None
        try:
            env = build_once(
                self.root,
                spec.key,
                lambda: self._cached(client, spec),
                lambda: self._build(client, spec, log),
            )
        finally:
            client.close()
        env.ready_s = time.perf_counter() - started
        return env

    def list(self) -> list[EnvInfo]:
        client = _client()
        try:
            images = client.images.list(filters={"label": KEY_LABEL})
        finally:
            client.close()
        out = []
        for image in images:
            labels = image.labels
            tags = [t for t in image.tags if t.startswith(f"{IMAGE_REPO}:")]
            if not tags:
                continue
            key = labels[KEY_LABEL]
            out.append(
                EnvInfo(
                    key=key,
                    provider=self.name,
                    location=tags[0],
                    backend=labels.get("vlmhyperbench.backend", ""),
                    packages=labels.get("vlmhyperbench.packages", ""),
                    size_mb=round(image.attrs.get("Size", 0) / 1e6, 1),
                    last_used=self._last_used(key),
                )
            )
        return sorted(out, key=lambda e: e.key)

    def remove(self, key: str) -> None:
        import docker

        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / f"{key}.lock")):
            client = _client()
            try:
                client.images.remove(_tag(key))
            except docker.errors.ImageNotFound:
                pass
            except docker.errors.APIError as exc:
                raise EnvBuildError(f"cannot remove the image {_tag(key)}: {exc.explanation}") from None
            finally:
                client.close()
            shutil.rmtree(self.root / "wheelhouse" / key, ignore_errors=True)
            (self.root / f"{key}.used").unlink(missing_ok=True)

    def start_server(
        self,
        env: Environment,
        launch_argv: list[str],
        *,
        name: str,
        port: int,
        gpus: int = 0,
        memory_limit: str | None = None,
        env_vars: dict[str, str] | None = None,
        log_path: Path,
        mounts: dict[str | Path, str] | None = None,
        run_id: str = "",
        shm_size: str | None = None,
    ) -> ContainerServer:
        """Starts `python LAUNCH_ARGV` from ENV's image as a detached container on the host's network (the
        server binds 127.0.0.1:PORT itself), with no capabilities, MOUNTS read-only, GPUS GPUs and at most
        MEMORY_LIMIT ('8g') of memory. SHM_SIZE defaults to 8g with GPUs (NCCL and vLLM use /dev/shm)."""
        import docker
        from docker.types import DeviceRequest

        memory_limit = memory_limit or default_memory_limit()
        environment = {k: str(v) for k, v in (env_vars or {}).items()}
        if env.server_path:
            environment["PYTHONPATH"] = env.server_path
        volumes = {}
        for host, inside in (mounts or {}).items():
            if not Path(host).exists():  # Docker would create an empty folder in its place
                raise ServerError(f"cannot mount {host} into the {name} container: it does not exist")
            volumes[str(Path(host).resolve())] = {"bind": inside, "mode": "ro"}
        labels = {
            SERVER_LABEL: name,
            OWNER_LABEL: owner(),
            "vlmhyperbench.run": run_id,
            KEY_LABEL: env.spec.key,
            "vlmhyperbench.port": str(port),
        }
        client = _client()
        try:
            container = client.containers.run(
                env.location,
                [env.python, *launch_argv],
                name=f"vlmhb-{_safe(name)}-{uuid.uuid4().hex[:6]}",
                detach=True,
                auto_remove=False,
                network_mode="host",
                privileged=False,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                init=True,  # init: PID 1 forwards SIGTERM to python
                environment=environment,
                labels=labels,
                volumes=volumes or None,
                device_requests=[DeviceRequest(count=gpus, capabilities=[["gpu"]])] if gpus > 0 else None,
                mem_limit=memory_limit,
                memswap_limit=memory_limit,  # no swap: over the limit is an OOM kill
                pids_limit=PIDS_LIMIT,
                shm_size=shm_size or ("8g" if gpus > 0 else None),
            )
        except docker.errors.APIError as exc:
            client.close()
            raise ServerError(
                f"cannot start the {name} container from {env.location}: {exc.explanation or exc}"
            ) from None
        server = ContainerServer(client, container, name=name, port=port, log_path=log_path)
        register(server)
        return server

    # -------------------------------------------------------------- internals

    def _cached(self, client, spec: EnvSpec) -> Environment | None:
        import docker

        try:
            image = client.images.get(_tag(spec.key))
        except docker.errors.ImageNotFound:
            return None
        self._touch(spec.key)
        freeze = image.labels.get(FREEZE_LABEL, "")
        return self._environment(spec, freeze.splitlines(), cached=True)

    def _environment(
        self, spec: EnvSpec, freeze: list[str], cached: bool, build_s: float = 0.0
    ) -> Environment:
        return Environment(
            spec=spec,
            provider=self.name,
            location=_tag(spec.key),
            python=f"{VENV}/bin/python",
            server_path=SERVER_PATH if spec.server_digest else None,
            freeze=freeze,
            cached=cached,
            build_s=build_s,
        )

    def _build(self, client, spec: EnvSpec, log: Path | None) -> Environment:
        started = time.perf_counter()
        output = _BuildLog(log)
        context = self.root / f".build-{spec.key}-{uuid.uuid4().hex[:8]}"
        try:
            if spec.no_deps:
                raise EnvBuildError(
                    f"packages installed without their dependencies ({' '.join(spec.no_deps)}) are not "
                    "supported in Docker environments yet: use env=venv for this one"
                )
            base = spec.base_image or self.base_image
            target = self._probe(client, base, spec, output)
            output.step("probed the base image")
            apt = apt_packages(spec)
            build_base = ensure_system_image(client, base, apt, self.root, output)
            if apt:
                output.step(f"system packages: {' '.join(apt)}")
            # A row's own image (vLLM's, say) is the environment: what it has and satisfies is used, not
            # installed again, and the venv sees it (system site-packages).
            installed = self._installed(client, base, target) if spec.base_image else {}
            packages, provided = provided_by_image(spec.packages, installed, target)
            if provided:
                output.append(f"# provided by the image: {', '.join(provided)}\n")
            wheels = ensure_wheelhouse(self.root / "wheelhouse" / spec.key, packages, target, output)
            output.step(f"{len(wheels)} wheels")
            _fill_context(context, wheels, spec, installed)
            (context / "Dockerfile").write_text(
                dockerfile(spec, build_base, target, bool(spec.packages)), encoding="utf-8"
            )
            output.append("# Dockerfile\n" + (context / "Dockerfile").read_text(encoding="utf-8"))
            labels = {**spec.labels(), "vlmhyperbench.base_image": base, "vlmhyperbench.apt": " ".join(apt)}
            image_id = _stream_build(
                client,
                output,
                path=str(context),
                network_mode="none",
                rm=True,
                forcerm=True,
                pull=False,
                labels=labels,
            )
            output.step("docker build")
            # The freeze is known only once pip has run, hence this second, metadata-only build.
            freeze = _read_file(client, image_id, FREEZE_FILE).splitlines()
            _stream_build(
                client,
                output,
                fileobj=io.BytesIO(f"FROM {image_id}\n".encode()),
                tag=_tag(spec.key),
                labels={FREEZE_LABEL: "\n".join(freeze)},
                network_mode="none",
                rm=True,
                forcerm=True,
            )
            output.step("labelled and tagged")
        except BaseException as exc:
            _forget(client, spec.key)
            if isinstance(exc, BaseImageError):  # its own line says what to do: no image name around it
                raise
            if isinstance(exc, EnvBuildError | OSError):
                raise EnvBuildError(
                    f"building the {spec.backend} image {_tag(spec.key)} failed: {exc}"
                ) from None
            raise
        finally:
            shutil.rmtree(context, ignore_errors=True)
            output.close()
        _prune_build(client, spec.key)  # the wheels stage: not needed by the tagged image
        self._touch(spec.key)
        return self._environment(spec, freeze, cached=False, build_s=time.perf_counter() - started)

    def _probe(self, client, base: str, spec: EnvSpec, output: list[str]) -> Target:
        import docker

        if base == self.base_image:  # the provider's base: built here (or pulled) once, on first use
            ensure_base_image(client, base, self.base_cache)
        else:  # a row's own image (vLLM's, say): pulled when it is not here
            try:
                client.images.get(base)
            except docker.errors.ImageNotFound:
                try:
                    client.images.pull(base)
                except docker.errors.APIError as exc:
                    raise EnvBuildError(
                        f"the image {base} is not here and cannot be pulled: {exc.explanation or exc}"
                    ) from None
        try:
            target = run_probe(client, base, spec.python)
        except docker.errors.ContainerError as exc:
            raise EnvBuildError(
                f"the base image {base} has no usable Python: "
                f"{(exc.stderr or b'').decode(errors='replace').strip()}"
            ) from None
        output.append(f"# {base}: {target}\n")
        if target.python != spec.python:
            raise EnvBuildError(
                f"the spec asks for Python {spec.python} but {base} has {target.python} "
                f"({target.executable}): set the model's python to {target.python} or its "
                f"image to one with Python {spec.python}"
            )
        return target

    @staticmethod
    def _installed(client, base: str, target: Target) -> dict[str, str]:
        out = client.containers.run(
            base,
            [target.executable, "-c", INSTALLED_SCRIPT],
            entrypoint=[],
            network_mode="none",
            remove=True,
            stdout=True,
            stderr=False,
            cap_drop=["ALL"],
        )
        return parse_installed(out.decode())

    def _touch(self, key: str) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / f"{key}.used").touch()
        except OSError:
            pass

    def _last_used(self, key: str) -> float | None:
        stamp = self.root / f"{key}.used"
        return stamp.stat().st_mtime if stamp.exists() else None


def dockerfile(spec: EnvSpec, base: str, target: Target, has_wheels: bool) -> str:
    """The generated Dockerfile: a `venv` stage that installs the wheels offline, then a clean stage."""
    lines = [
        f"# generated by environments/docker.py for {spec.backend} {spec.key}",
        f"FROM {base} AS venv",
        f"LABEL {BUILD_LABEL}={spec.key}",  # first, so every intermediate image can be pruned by it
        "COPY wheels /wheels",
        venv_install_run(target.executable, VENV, has_wheels, FREEZE_FILE, system_site=bool(spec.base_image)),
        "",
        f"FROM {base}",
        f"LABEL {BUILD_LABEL}={spec.key}",
        f"COPY --from=venv {VENV} {VENV}",
        f"COPY --from=venv {FREEZE_FILE} {FREEZE_FILE}",
    ]
    if spec.server_digest:
        lines.append(f"COPY server {SERVER_PATH}")
    env = {
        "VIRTUAL_ENV": VENV,
        "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        **dict(spec.env_vars),
    }
    lines.append("ENV " + " ".join(f"{k}={_quote(k, v)}" for k, v in env.items()))
    lines += ["ENTRYPOINT []", f'CMD ["{VENV}/bin/python"]', ""]
    return "\n".join(lines)


def venv_install_run(
    py: str, venv: str, has_wheels: bool, freeze_file: str | None = None, system_site: bool = False
) -> str:
    """A RUN line that makes VENV with the image's interpreter PY (seeing the image's own packages with
    SYSTEM_SITE) and installs /wheels/requirements.txt offline.

    The image's own pip fills the venv (`pip --python`, pip >= 22.3), which saves seeding pip into it
    (4 s, 15 MB); an image without such a pip gets a venv with pip inside. By name==version from
    requirements.txt (`link_wheels`), not by file: the freeze then reads as name==version.
    """
    install = (
        " \\\n && $PIP install --no-index --no-cache-dir --find-links /wheels -r /wheels/requirements.txt"
        if has_wheels
        else ""
    )
    site = " --system-site-packages" if system_site else ""
    freeze = (
        f" \\\n && mkdir -p {Path(freeze_file).parent} && $PIP freeze > {freeze_file}" if freeze_file else ""
    )
    return "\n".join(
        [
            "RUN export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off \\",
            f" && {py} -m venv --without-pip{site} {venv} \\",
            f" && if {py} -m pip --python {venv}/bin/python --version >/dev/null 2>&1; \\",
            f"    then PIP='{py} -m pip --python {venv}/bin/python'; \\",
            f"    else rm -rf {venv} && {py} -m venv{site} {venv} && PIP={venv}/bin/pip; fi{install}{freeze}",
        ]
    )


def _quote(name: str, value: str) -> str:
    if not _ENV_NAME.match(name):
        raise EnvBuildError(
            f"env var name {name!r} is not valid (letters, digits and _, not starting with a digit)"
        )
    if "\n" in value or "\r" in value:
        raise EnvBuildError(f"env var {name} has a line break in its value; Dockerfile ENV cannot hold it")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def _fill_context(context: Path, wheels: list[Path], spec: EnvSpec, installed: dict[str, str]) -> None:
    link_wheels(wheels, context / "wheels", installed, spec.packages)
    if spec.server_digest:
        copy_server(context / "server", spec.code_package)


def _stream_build(client, output: list[str], **kwargs) -> str:
    """Runs one build through the low-level API so that its log reaches OUTPUT as it is produced; returns
    the image id. (images.build would only hand the log over at the end.)"""
    import docker

    image_id = None
    try:
        for chunk in client.api.build(decode=True, **kwargs):
            text = chunk.get("stream") or chunk.get("status") or ""
            if "error" in chunk:
                text += chunk["error"] + "\n"
            if text:
                output.append(text)
            if "error" in chunk:
                raise EnvBuildError(f"docker build failed:\n{tail(_without_build_noise(''.join(output)))}")
            image_id = (chunk.get("aux") or {}).get("ID", image_id)
            if text.startswith("Successfully built "):
                image_id = image_id or text.split()[-1]
    except docker.errors.APIError as exc:
        raise EnvBuildError(f"docker build failed: {exc.explanation or exc}") from None
    if not image_id:
        raise EnvBuildError(f"docker build returned no image:\n{tail(''.join(output))}")
    return image_id


def _read_file(client, image_id: str, path: str) -> str:
    container = client.containers.create(image_id, network_disabled=True)
    try:
        stream, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile(tar.getmembers()[0])
            return member.read().decode("utf-8") if member else ""
    finally:
        container.remove(force=True)


def _forget(client, key: str) -> None:
    """Leaves nothing of a failed build: no tag, no intermediate image."""
    import docker

    try:
        client.images.remove(_tag(key), force=True)
    except docker.errors.APIError:
        pass
    _prune_build(client, key)


def _prune_build(client, key: str) -> None:
    import docker

    try:
        client.images.prune(filters={"dangling": True, "label": f"{BUILD_LABEL}={key}"})
    except docker.errors.APIError:
        pass


def _client():
    try:
        import docker
    except ImportError:
        raise EnvBuildError(
            "the docker provider needs the Docker SDK: pip install 'vlmhyperbench[docker]'"
        ) from None
    try:
        client = docker.from_env()
        client.ping()
        return client
    except docker.errors.DockerException:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise EnvBuildError(
            f"no Docker engine answers at {where}: start it (`sudo systemctl start docker`, or "
            "deployments/ci-docker.sh)"
        ) from None


def _tag(key: str) -> str:
    return f"{IMAGE_REPO}:{key}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "server"


class _BuildLog(list):
    """The build's output, kept for the error tail and written to the log file as it comes."""

    def __init__(self, path: Path | None):
        super().__init__()
        self._file = None
        self._last = time.perf_counter()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")

    def append(self, text: str) -> None:
        super().append(text)
        if self._file:
            self._file.write(text)
            self._file.flush()

    def step(self, what: str) -> None:
        now = time.perf_counter()
        self.append(f"# {what}: {now - self._last:.1f} s\n")
        self._last = now

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None


def _without_build_noise(text: str) -> str:
    return "\n".join(
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith((" ---> ", "Removing intermediate container"))
    )

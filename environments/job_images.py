"""Images for work pools: the orchestrator (this project and its dependencies), alone or on top of a
model's env image, built offline like the env images themselves.

    orchestrator image  vlmhyperbench-orchestrator:<digest>   deployments/Dockerfile
        FROM the base image (deployments/build_base_image.sh)
        /opt/orchestrator    a venv with the project's dependencies, from a host-resolved wheelhouse
        /opt/vlmhyperbench   the project's code and bundled configs (PYTHONPATH, working directory)
    job image           vlmhyperbench-job:<env key>-<digest>   (generated Dockerfile, below)
        FROM the model's env image vlmhyperbench-env:<key> (its /opt/venv and /opt/vlmhb/server)
        + both folders above, copied from the orchestrator image; when the env image's interpreter is not
          the orchestrator's (a row's own `image`, such as vLLM's, with Python 3.11+ elsewhere or of
          another release), /opt/orchestrator is made anew with the env image's interpreter from wheels
          resolved for it, since a copied venv would point at an interpreter that is not there
        + /opt/venv registered as an already built venv environment of the model, so the per-model
          flow's EnvManager finds it cached (VLMHB_CACHE_DIR=/opt/vlmhb/cache) and starts the server
          from it as a subprocess: nothing is built, and no Docker is needed inside the job container.

<digest> hashes the code and the dependency list, so an unchanged checkout reuses its images and a
changed one gets new tags (a deployment then points at exactly the code it was deployed with).
An image reference whose first part is a registry host (`registry.example:5000/vlmhb/orchestrator`)
is pushed after its build; a plain name stays on the host that built it.

    python -m environments.job_images digest|context|build|push REF

Each code change leaves its images behind; `python -m environments prune --images` removes those of
other code than this checkout's (`stale_images`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from environments.wheelhouse import ensure_wheelhouse, link_wheels, run_probe
from vlmhb_core.atomic import atomic_folder
from vlmhb_core.errors import EnvBuildError
from vlmhb_core.settings import get_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_PARTS = (
    "pyproject.toml",
    "prefect.yaml",
    "flows",
    "tasks",
    "environments",
    "metrics",
    "vlmhb_core",
    "vlmhyperbench",
    "vlmhb_server",
    "vlmhb_scorers",
    "configs",
    "deployments",
)
"""What goes into the images (and into the digest): code, bundled configs, deployment files."""
IN_IMAGE_ROOT = "/opt/vlmhyperbench"
ORCHESTRATOR_VENV = "/opt/orchestrator"
ORCHESTRATOR_REPO = "vlmhyperbench-orchestrator"
JOB_REPO = "vlmhyperbench-job"
JOB_CACHE_DIR = "/opt/vlmhb/cache"
REF_ENV = "VLMHB_ORCHESTRATOR_REF"
"""Set inside the orchestrator and job images to the orchestrator image they come from."""
_SKIP = {"__pycache__", ".pytest_cache", ".hypothesis"}


# ------------------------------------------------------------------ orchestrator image


def requirements(root: Path = PROJECT_ROOT) -> list[str]:
    """The project's dependencies with the `docker` extra (a nightly orchestrator builds env images)."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [*project["dependencies"], *project.get("optional-dependencies", {}).get("docker", [])]


def _project_files(root: Path = PROJECT_ROOT):
    for part in PROJECT_PARTS:
        path = root / part
        if path.is_file():
            yield path
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(root).parts
                if (
                    file.is_file()
                    and not _SKIP.intersection(rel)
                    and file.suffix != ".pyc"
                    and not any(p.endswith(".egg-info") for p in rel)
                ):
                    yield file


def source_digest(root: Path = PROJECT_ROOT) -> str:
    """Hash of the code and dependencies that go into the orchestrator image (16 hex digits)."""
    digest = hashlib.sha256(json.dumps(requirements(root)).encode())
    for file in _project_files(root):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def orchestrator_ref() -> str:
    """The orchestrator image for this code: the one we run in, else <VLMHB_ORCHESTRATOR_IMAGE>:<digest>."""
    if os.environ.get(REF_ENV):
        return os.environ[REF_ENV]
    return f"{os.environ.get('VLMHB_ORCHESTRATOR_IMAGE') or ORCHESTRATOR_REPO}:{source_digest()}"


def base_image() -> str:
    from environments.docker import BASE_IMAGE

    return get_settings().base_image or BASE_IMAGE


def _probe_base(client):
    """The base image's interpreter; the base is built (or pulled) first when it is missing."""
    from environments.base_image import ensure_base_image

    ensure_base_image(client, base_image(), get_settings().cache_dir)
    return _probe(client, base_image())


def prepare_context(output: list[str] | None = None) -> Path:
    """A build context for deployments/Dockerfile: wheels/ (offline install), project/, Dockerfile."""
    output = output if output is not None else []
    root = get_settings().cache_dir / "orchestrator"
    context = root / f"context-{source_digest()}"
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".lock")):
        if (context / ".complete").is_file():
            return context
        client = _client()
        try:
            target = _probe_base(client)
        finally:
            client.close()
        wheels = orchestrator_wheels(target, output)
        for old in root.glob("context-*"):  # one context at a time is enough
            shutil.rmtree(old, ignore_errors=True)
        with atomic_folder(context) as tmp:
            link_wheels(wheels, tmp / "wheels")  # hard links: the wheelhouse is ~150 MB
            for file in _project_files():
                dest = tmp / "project" / file.relative_to(PROJECT_ROOT)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, dest)
            shutil.copy2(PROJECT_ROOT / "deployments" / "Dockerfile", tmp / "Dockerfile")
            (tmp / ".complete").touch()
    return context


def orchestrator_wheels(target, output: list[str]) -> list[Path]:
    """The orchestrator's dependencies as wheels for TARGET (an image's interpreter), resolved once."""
    reqs = requirements()
    key = hashlib.sha256(
        json.dumps([reqs, target.python, target.python_full, target.machine, target.glibc]).encode()
    )
    return ensure_wheelhouse(
        get_settings().cache_dir / "docker" / "wheelhouse" / f"orchestrator-{key.hexdigest()[:16]}",
        tuple(reqs),
        target,
        output,
    )


def ensure_orchestrator_image(log: list[str] | None = None) -> str:
    """The orchestrator image of this code, built (offline) when missing; returns its reference. Callers on
    one host wait for the one build (a deploy and a job image at once, say) instead of building it twice."""
    ref = orchestrator_ref()
    root = get_settings().cache_dir / "orchestrator"
    root.mkdir(parents=True, exist_ok=True)
    client = _client()
    try:
        with FileLock(str(root / f".build-{ref.rsplit(':', 1)[1]}.lock")):
            if _exists(client, ref):
                return ref
            context = prepare_context(log)
            _build(
                client,
                log,
                path=str(context),
                tag=ref,
                buildargs={"ORCHESTRATOR_REF": ref, "BASE_IMAGE": base_image()},
            )
        push(ref)
    finally:
        client.close()
    return ref


# ------------------------------------------------------------------ job images


def job_dockerfile(
    orchestrator: str, env_image: str, venv_key: str, ref: str, python: str | None = None
) -> str:
    """The job image's Dockerfile. Without PYTHON the orchestrator's venv is copied as it is (the env image
    has the orchestrator's interpreter); with it (the env image's interpreter, as on a `image` row such as
    vLLM's) the venv is made anew with that interpreter from wheels/, resolved for it on the host."""
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    lines = [
        "# generated by environments/job_images.py: a model's env image + the orchestrator",
        f"FROM {orchestrator} AS orchestrator",
    ]
    if python:
        from environments.docker import BUILD_LABEL, venv_install_run

        lines += [
            f"FROM {env_image} AS venv",
            f"LABEL {BUILD_LABEL}=job-{venv_key}",
            "COPY wheels /wheels",
            venv_install_run(python, ORCHESTRATOR_VENV, True),
            f"FROM {env_image}",
            f"COPY --from=venv {ORCHESTRATOR_VENV} {ORCHESTRATOR_VENV}",
        ]
    else:
        lines += [f"FROM {env_image}", f"COPY --from=orchestrator {ORCHESTRATOR_VENV} {ORCHESTRATOR_VENV}"]
    return "\n".join(
        [
            *lines,
            f"COPY --from=orchestrator {IN_IMAGE_ROOT} {IN_IMAGE_ROOT}",
            "COPY vlmhb-env.json /opt/venv/vlmhb-env.json",
            f"RUN mkdir -p {JOB_CACHE_DIR}/venv && ln -s /opt/venv {JOB_CACHE_DIR}/venv/{venv_key}"
            " && ln -sfn /opt/vlmhb/server /opt/venv/server",
            f"ENV PATH={ORCHESTRATOR_VENV}/bin:{path} VIRTUAL_ENV={ORCHESTRATOR_VENV} "
            f"PYTHONPATH={IN_IMAGE_ROOT} VLMHB_CACHE_DIR={JOB_CACHE_DIR} {REF_ENV}={orchestrator} "
            f"VLMHB_JOB_IMAGE={ref} "
            "PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 PYTHONUNBUFFERED=1",
            f"WORKDIR {IN_IMAGE_ROOT}",
            f"LABEL vlmhyperbench.job={venv_key} vlmhyperbench.orchestrator={orchestrator}",
            'CMD ["prefect", "flow-run", "execute"]',
            "",
        ]
    )


def ensure_job_image(env, venv_spec, log: list[str] | None = None) -> str:
    """The job image of ENV (a built docker Environment) for VENV_SPEC (the same model's `venv` spec, the
    one the per-model flow computes inside the container); built when missing; returns its reference."""
    orchestrator = ensure_orchestrator_image(log)
    repo = os.environ.get("VLMHB_JOB_IMAGE_REPO") or JOB_REPO
    ref = f"{repo}:{env.spec.key}-{orchestrator.rsplit(':', 1)[1][:12]}"
    output = log if log is not None else []
    client = _client()
    context = get_settings().cache_dir / "orchestrator" / f".job-{env.spec.key}-{os.getpid()}"
    try:
        if _exists(client, ref):
            return ref
        own, theirs = _probe_base(client), _probe(client, env.location)
        python = None
        if theirs != own:  # another interpreter (or another build of it): the copied venv would not run
            if tuple(map(int, theirs.python.split("."))) < (3, 11):
                raise EnvBuildError(
                    f"{env.location} has Python {theirs.python} ({theirs.executable}); a job image "
                    "needs 3.11 or newer for the orchestrator: run this model with "
                    "VLMHB_DISPATCH=local, or base its image on one with a newer Python"
                )
            python = theirs.executable
            output.append(
                f"# {env.location} runs {theirs.executable} {theirs.python_full}, not the "
                f"orchestrator's {own.executable} {own.python_full}: its own orchestrator venv\n"
            )
            link_wheels(orchestrator_wheels(theirs, output), context / "wheels")
        marker = {"spec": venv_spec.model_dump(mode="json"), "freeze": env.freeze, "built_from": env.location}
        context.mkdir(parents=True, exist_ok=True)
        (context / "Dockerfile").write_text(
            job_dockerfile(orchestrator, env.location, venv_spec.key, ref, python), encoding="utf-8"
        )
        (context / "vlmhb-env.json").write_text(json.dumps(marker, indent=2), encoding="utf-8")
        _build(client, log, path=str(context), tag=ref)
        if python:
            from environments.docker import _prune_build

            _prune_build(client, f"job-{venv_spec.key}")  # the wheels stage: not needed by the job image
    finally:
        client.close()
        shutil.rmtree(context, ignore_errors=True)
    push(ref)
    return ref


# ------------------------------------------------------------------ pruning


def stale_images(client, older_than_days: float | None = None) -> list[tuple[str, str]]:
    """(tag, created) of the orchestrator and job images built from other code than this checkout's,
    oldest first; with OLDER_THAN_DAYS, only those created before then."""
    digest = source_digest()
    orchestrator_repo = os.environ.get("VLMHB_ORCHESTRATOR_IMAGE") or ORCHESTRATOR_REPO
    job_repo = os.environ.get("VLMHB_JOB_IMAGE_REPO") or JOB_REPO
    cutoff = time.time() - older_than_days * 86400 if older_than_days is not None else None
    stale = []
    for image in client.images.list():
        created = image.attrs.get("Created", "")
        when = datetime.fromisoformat(created[:19]).replace(tzinfo=UTC).timestamp() if created else 0.0
        for tag in image.tags:
            repo, _, version = tag.rpartition(":")
            current = (repo == orchestrator_repo and version == digest) or (
                repo == job_repo and version.endswith(f"-{digest[:12]}")
            )
            if repo in (orchestrator_repo, job_repo) and not current and (cutoff is None or when < cutoff):
                stale.append((when, tag, created[:19].replace("T", " ")))
    return [(tag, created) for _, tag, created in sorted(stale)]


# ------------------------------------------------------------------ docker helpers


def has_registry(ref: str) -> bool:
    """Docker's rule: the first path part names a registry when it has a '.' or ':' or is localhost."""
    first, sep, _ = ref.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def push(ref: str) -> bool:
    """Pushes REF when it names a registry (workers on other hosts pull it); returns whether it did."""
    if not has_registry(ref):
        return False
    client = _client()
    try:
        repo, _, tag = ref.rpartition(":")
        for line in client.api.push(repo, tag=tag, stream=True, decode=True):
            if "error" in line:
                raise EnvBuildError(f"pushing {ref} failed: {line['error']}")
    finally:
        client.close()
    return True


def _client():
    from environments.docker import _client as client

    return client()


def _exists(client, ref: str) -> bool:
    import docker

    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def _probe(client, image: str):
    import docker

    if not _exists(client, image):
        raise EnvBuildError(f"the image {image} is missing")
    try:
        return run_probe(client, image, "3")
    except docker.errors.ContainerError as exc:
        raise EnvBuildError(f"the base image {image} has no usable Python: {exc}") from None


def _build(client, log: list[str] | None, **kwargs) -> str:
    """A build with no network and no pull (everything is local); raises EnvBuildError with the log's tail."""
    from environments.docker import _stream_build

    output = log if log is not None else []
    return _stream_build(client, output, network_mode="none", pull=False, rm=True, forcerm=True, **kwargs)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else ""
    if command == "digest":
        print(source_digest())
    elif command == "context":  # progress to stderr: prefect.yaml reads the path from stdout
        log: list[str] = []
        path = prepare_context(log)
        sys.stderr.write("".join(log))
        print(path)
    elif command == "build":
        print(ensure_orchestrator_image())
    elif command == "push" and len(args) == 2:
        print(f"pushed {args[1]}" if push(args[1]) else f"{args[1]} names no registry: it stays on this host")
    else:
        print(__doc__.rstrip().rsplit("\n", 1)[-1].strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

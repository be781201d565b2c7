"""Resolving a Docker image's packages on the host, into a folder of wheels the build installs offline.

The build itself runs with no network (it works the same on an air-gapped machine whose wheelhouse was
copied in), so everything pip needs must already be wheels in the folder. Two ways to fill it:

- `pip wheel` on the host when the image's interpreter is the host's (same X.Y, same architecture, and
  a glibc at least as new as the host's): pip can then also build sdists into wheels, and what it builds
  for this interpreter runs in the image.
- `pip download --only-binary=:all: --python-version X.Y --platform manylinux_2_N_<arch>...` otherwise:
  pip cannot build an sdist for an interpreter it does not run, so only published wheels for the
  image's Python and glibc are accepted, and a package without one fails here with pip's message.

pip evaluates environment markers for the host's interpreter even with ``--python-version``, so a
marker on the full version (``async-timeout; python_full_version < "3.11.3"``: bookworm has 3.11.2)
can leave out a wheel the image needs. After pip, the wheelhouse is closed under the image's own
markers (``close_under_target``): every wheel's requirements that hold in the image and have no wheel
yet are fetched the same way, until none is missing.

A wheelhouse is built in a temporary folder and renamed into place with a `wheelhouse.json` marker, so
only a complete one is ever reused.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
import zipfile
from dataclasses import asdict, dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from environments.venv import run_logged
from vlmhb_core.atomic import atomic_folder
from vlmhb_core.errors import EnvBuildError

MARKER = "wheelhouse.json"
# The oldest glibc tag worth offering pip: manylinux1 (2.5) wheels still exist for old pure-C packages.
_OLDEST_GLIBC_MINOR = 5


@dataclass(frozen=True)
class Target:
    """The interpreter inside a base image, as far as choosing wheels for it goes."""

    python: str
    """X.Y"""
    executable: str
    """Absolute path of the interpreter in the image (what creates the venv)."""
    machine: str
    """x86_64, aarch64, ..."""
    glibc: str | None
    """X.Y, or None for a musl (Alpine) image, which manylinux wheels do not fit."""
    python_full: str | None = None
    """X.Y.Z, what ``python_full_version`` markers see (X.Y.0 assumed when unknown)."""

    @staticmethod
    def host() -> Target:
        libc, version = platform.libc_ver()
        return Target(
            python=f"{sys.version_info.major}.{sys.version_info.minor}",
            executable=sys.executable,
            machine=platform.machine(),
            glibc=version if libc == "glibc" else None,
            python_full=platform.python_version(),
        )

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values inside the image (a Linux CPython)."""
        full = self.python_full or f"{self.python}.0"
        return {
            **default_environment(),
            "python_version": self.python,
            "python_full_version": full,
            "implementation_name": "cpython",
            "implementation_version": full,
            "platform_python_implementation": "CPython",
            "platform_machine": self.machine,
            "platform_system": "Linux",
            "sys_platform": "linux",
            "os_name": "posix",
        }

    def runs_host_wheels(self) -> bool:
        """True when wheels built by the host's pip run in the image (same X.Y, arch; glibc not older)."""
        host = Target.host()
        return (
            self.python == host.python
            and self.machine == host.machine
            and self.glibc is not None
            and host.glibc is not None
            and _version(self.glibc) >= _version(host.glibc)
        )

    def platform_tags(self) -> list[str]:
        if self.glibc is None:
            raise EnvBuildError(
                f"the image's libc is not glibc ({self.machine}): manylinux wheels do not "
                "run there; use a Debian/Ubuntu-based image"
            )
        major, minor = _version(self.glibc)
        return [f"manylinux_{major}_{m}_{self.machine}" for m in range(minor, _OLDEST_GLIBC_MINOR - 1, -1)]


# Run inside the base image with `sh -c`: prints the interpreter (the file itself, so that python3, python3.11
# and a venv's python made from it all read the same), X.Y, X.Y.Z, machine and glibc version.
PROBE_SCRIPT = (
    "P=$(command -v python{version} || command -v python3) "
    '|| {{ echo "no python3 in the image" >&2; exit 3; }}; '
    '"$P" -c "import json,os,platform,sys; l=platform.libc_ver(); print(json.dumps(dict('
    "executable=os.path.realpath(sys.executable), python='%d.%d' % sys.version_info[:2], "
    "python_full=platform.python_version(), "
    "machine=platform.machine(), "
    "glibc=l[1] if l[0]=='glibc' else None)))\""
)


def parse_probe(output: str) -> Target:
    return Target(**json.loads(output.strip().splitlines()[-1]))


def run_probe(client, image: str, version: str) -> Target:
    """IMAGE's interpreter, from PROBE_SCRIPT run in a throwaway container (ContainerError when it has no
    usable Python). A container that has just exited may hand back its logs before they are written (seen
    with several builds at once): an empty answer is asked for once more before it is an error."""
    for _ in range(2):
        out = client.containers.run(
            image,
            ["-c", PROBE_SCRIPT.format(version=version)],
            entrypoint=["/bin/sh"],
            network_mode="none",
            remove=True,
            stdout=True,
            stderr=False,
            cap_drop=["ALL"],
        ).decode()
        if out.strip():
            return parse_probe(out)
    raise EnvBuildError(f"the interpreter probe of {image} printed nothing, twice")


def ensure_wheelhouse(
    folder: Path, packages: tuple[str, ...], target: Target, output: list[str]
) -> list[Path]:
    """FOLDER filled with wheels for PACKAGES on TARGET (reused when complete); returns the wheels."""
    marker = folder / MARKER
    if marker.is_file():
        output.append(f"# reusing the wheelhouse {folder}\n")
        return sorted(folder.glob("*.whl"))
    with atomic_folder(folder) as tmp:
        if packages:
            argv = _pip_argv(tmp, packages, target)
            run_logged(argv, output, label=f"pip {argv[3]} (on the host)")
            close_under_target(tmp, packages, target, output)
        leftovers = [p.name for p in tmp.iterdir() if not p.name.endswith(".whl")]
        if leftovers:  # `pip download` of a wheel-only target never leaves these; be sure anyway
            raise EnvBuildError(
                "the wheelhouse has files pip cannot install offline: " + ", ".join(leftovers)
            )
        meta = {"packages": list(packages), "target": asdict(target), "resolved_at": time.time()}
        (tmp / MARKER).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return sorted(folder.glob("*.whl"))


def link_wheels(
    wheels: list[Path], dest: Path, installed: dict[str, str] | None = None, packages: tuple[str, ...] = ()
) -> None:
    """DEST/ with the wheels (hard links: a multi-GB wheelhouse costs no copy) and a requirements.txt that
    pins each by name==version, so that an offline `pip install -r` installs exactly them and the freeze
    reads as name==version.

    With INSTALLED (the image's own distributions, for a venv that sees them), a wheel of a package the
    image has is not pinned, and the PACKAGES naming one are listed as written: pip in the image then
    keeps the image's version wherever it meets every requirement, and takes the wheel only where not.
    """
    dest.mkdir(parents=True, exist_ok=True)
    installed = installed or {}
    lines = []
    for wheel in wheels:
        try:
            os.link(wheel, dest / wheel.name)
        except OSError:
            shutil.copy2(wheel, dest / wheel.name)
        name, version, _, _ = parse_wheel_filename(wheel.name)
        if canonicalize_name(name) not in installed:
            lines.append(f"{name}=={version}\n")
    for text in packages:
        req = _requirement(text)
        if req is not None and canonicalize_name(req.name) in installed:
            lines.append(f"{text}\n")
    (dest / "requirements.txt").write_text("".join(lines), encoding="utf-8")


# Run with the image's interpreter: {name: version} of every distribution it can import.
INSTALLED_SCRIPT = (
    "import json, importlib.metadata as m; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions() if d.metadata['Name']}))"
)


def parse_installed(output: str) -> dict[str, str]:
    return {canonicalize_name(k): v for k, v in json.loads(output.strip().splitlines()[-1]).items()}


def provided_by_image(
    packages: tuple[str, ...], installed: dict[str, str], target: Target
) -> tuple[tuple[str, ...], list[str]]:
    """(what still needs resolving, 'name version' of what the image already satisfies) for PACKAGES."""
    env = target.marker_environment()
    needed, provided = [], []
    for text in packages:
        req = _requirement(text)
        version = installed.get(canonicalize_name(req.name)) if req is not None and not req.url else None
        if (
            version is not None
            and (req.marker is None or req.marker.evaluate(env))
            and req.specifier.contains(version, prereleases=True)
        ):
            provided.append(f"{req.name} {version}")
        else:
            needed.append(text)
    return tuple(needed), provided


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None  # a path or URL


def close_under_target(
    folder: Path, packages: tuple[str, ...], target: Target, output: list[str], rounds: int = 5
) -> None:
    """Fetch into FOLDER what the image's markers ask for that the host's resolution left out."""
    for _ in range(rounds):
        missing = missing_requirements(sorted(folder.glob("*.whl")), packages, target)
        if not missing:
            return
        output.append(
            f"# the image (Python {target.python_full or target.python}) also needs: {', '.join(missing)}\n"
        )
        argv = _pip_argv(folder, tuple(missing), target)
        run_logged(argv, output, label=f"pip {argv[3]} (on the host, for the image's markers)")
    raise EnvBuildError(f"the wheelhouse is still missing {', '.join(missing)} after {rounds} rounds")


def missing_requirements(wheels: list[Path], packages: tuple[str, ...], target: Target) -> list[str]:
    """Requirements of WHEELS (and PACKAGES) that hold under TARGET's markers and have no wheel here.

    Every wheel counts as installed (the host's resolution needed it); extras are followed from the
    top-level packages and from the requirements that hold. Returned without markers, sorted.
    """
    env = target.marker_environment()
    requires = {canonicalize_name(parse_wheel_filename(w.name)[0]): _requires_dist(w) for w in wheels}
    extras: dict[str, set[str]] = {name: set() for name in requires}
    # A path or URL has no name to look for: its wheel is here under its own name and is checked below.
    wanted = [req for req in map(_requirement, packages) if req is not None]
    missing: dict[str, Requirement] = {}
    seen: set[tuple[str, str]] = set()
    while True:
        for req in wanted:
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            name = canonicalize_name(req.name)
            if name not in requires:
                missing.setdefault(name, req)
            else:
                extras[name].update(req.extras)
        wanted = []
        for name, reqs in requires.items():
            for extra in ("", *sorted(extras[name])):
                if (name, extra) in seen:
                    continue
                seen.add((name, extra))
                wanted.extend(
                    r for r in reqs if r.marker is None or r.marker.evaluate({**env, "extra": extra})
                )
        if not wanted:
            break
    out = []
    for req in missing.values():
        req.marker = None
        out.append(str(req))
    return sorted(out)


def _requires_dist(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        meta = HeaderParser().parsestr(zf.read(name).decode("utf-8", errors="replace"))
    return [Requirement(text) for text in meta.get_all("Requires-Dist") or []]


def _pip_argv(dest: Path, packages: tuple[str, ...], target: Target) -> list[str]:
    pip = [sys.executable, "-m", "pip"]
    common = ["--no-input", "--progress-bar", "off", "--disable-pip-version-check"]
    if target.runs_host_wheels():
        return [*pip, "wheel", *common, "--wheel-dir", str(dest), *packages]
    platforms = [a for tag in target.platform_tags() for a in ("--platform", tag)]
    abi = "cp" + target.python.replace(".", "")
    return [
        *pip,
        "download",
        *common,
        "--dest",
        str(dest),
        "--only-binary=:all:",
        "--python-version",
        target.python,
        "--implementation",
        "cp",
        "--abi",
        abi,
        *platforms,
        *packages,
    ]


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)

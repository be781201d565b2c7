"""The venv provider: one virtual environment per EnvSpec hash under the cache folder.

A build happens in a temporary folder next to its final place and is renamed into place only when it
is complete, under a file lock, so a crash or a failed install never leaves something that counts as
built, and two runs that want the same environment wait for each other instead of clobbering it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from filelock import FileLock

from environments.environment import EnvInfo, Environment, build_once
from environments.process import Interrupted, run_child
from environments.spec import REPO_ROOT, SERVER_CODE, EnvSpec
from vlmhb_core.atomic import atomic_write_json
from vlmhb_core.errors import EnvBuildError

MARKER = "vlmhb-env.json"
FREEZE = "freeze.txt"
TAIL_LINES = 25


def copy_server(dest: Path, package: str = SERVER_CODE) -> Path:
    """Copies one of the project's in-environment packages (the model server by default) to DEST/PACKAGE;
    returns the folder for PYTHONPATH."""
    target = dest / package
    shutil.copytree(REPO_ROOT / package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class VenvProvider:
    name = "venv"

    def __init__(self, root: Path, installer: str = "auto"):
        self.root = Path(root) / "venv"
        self.installer = installer

    # -------------------------------------------------------------- public

    def ensure(self, spec: EnvSpec, log: Path | None = None) -> Environment:
        started = time.perf_counter()
        final = self.root / spec.key
        env = build_once(
            self.root, spec.key, lambda: self._cached(spec, final), lambda: self._build(spec, final, log)
        )
        env.ready_s = time.perf_counter() - started
        return env

    def list(self) -> list[EnvInfo]:
        out = []
        for marker in sorted(self.root.glob(f"*/{MARKER}")):
            meta = json.loads(marker.read_text(encoding="utf-8"))
            folder = marker.parent
            out.append(
                EnvInfo(
                    key=folder.name,
                    provider=self.name,
                    location=str(folder),
                    backend=meta["spec"]["backend"],
                    packages=" ".join(meta["spec"]["packages"]),
                    size_mb=_size_mb(folder),
                    last_used=_last_used(folder),
                )
            )
        return out

    def remove(self, key: str) -> None:
        with FileLock(str(self.root / f"{key}.lock")):
            folder = self.root / key
            if folder.exists():
                # Unmark first: a half-deleted folder must never look built.
                (folder / MARKER).unlink(missing_ok=True)
                shutil.rmtree(folder, ignore_errors=True)

    # -------------------------------------------------------------- internals

    def _cached(self, spec: EnvSpec, final: Path) -> Environment | None:
        marker = final / MARKER
        if not marker.is_file():
            return None
        meta = json.loads(marker.read_text(encoding="utf-8"))
        _touch(final)
        return Environment(
            spec=spec,
            provider=self.name,
            location=str(final),
            python=str(_python(final)),
            server_path=str(final / "server"),
            freeze=meta.get("freeze", []),
            cached=True,
        )

    def _build(self, spec: EnvSpec, final: Path, log: Path | None) -> Environment:
        started = time.perf_counter()
        tmp = self.root / f".build-{spec.key}-{uuid.uuid4().hex[:8]}"
        output: list[str] = []
        try:
            uv = self._uv()
            base_python = _find_python(spec.python)
            if uv:
                run_logged([uv, "venv", "--quiet", "--python", base_python, str(tmp)], output)
                install = [uv, "pip", "install", "--python", str(_python(tmp))]
            else:
                run_logged([base_python, "-m", "venv", str(tmp)], output)
                install = [
                    str(_python(tmp)),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--progress-bar",
                    "off",
                ]
            if spec.packages:
                run_logged([*install, *spec.packages], output)
            if spec.no_deps:
                run_logged([*install, "--no-deps", *spec.no_deps], output)
            freeze = self._freeze(tmp, uv, output)
            if spec.server_digest:
                copy_server(tmp / "server", spec.code_package)
            _relocate(tmp, final)
            atomic_write_json(
                tmp / MARKER,
                {
                    "spec": spec.model_dump(mode="json"),
                    "freeze": freeze,
                    "built_at": time.time(),
                    "build_s": time.perf_counter() - started,
                },
            )
            (tmp / FREEZE).write_text("\n".join(freeze) + "\n", encoding="utf-8")
            if final.exists():  # a leftover without a marker: never complete, safe to replace
                shutil.rmtree(final)
            os.replace(tmp, final)
            _touch(final)  # a build is a use
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, EnvBuildError | OSError):
                raise EnvBuildError(
                    f"building the {spec.backend} venv {spec.key} failed: {exc}",
                    transient=getattr(exc, "transient", False),
                ) from None
            raise
        finally:
            if log is not None:
                log.parent.mkdir(parents=True, exist_ok=True)
                log.write_text("".join(output), encoding="utf-8")
        return Environment(
            spec=spec,
            provider=self.name,
            location=str(final),
            python=str(_python(final)),
            server_path=str(final / "server") if spec.server_digest else None,
            freeze=freeze,
            build_s=time.perf_counter() - started,
        )

    def _uv(self) -> str | None:
        """uv when asked for (on PATH or beside this interpreter), or, with `auto`, when it is on PATH."""
        if self.installer == "pip":
            return None
        uv = shutil.which("uv")
        if uv is None and self.installer == "uv":
            beside = Path(sys.executable).parent / "uv"
            uv = str(beside) if beside.is_file() else None
            if uv is None:
                raise EnvBuildError("VLMHB_INSTALLER=uv but no `uv` is on PATH (pip install uv)")
        return uv

    def _freeze(self, folder: Path, uv: str | None, output: list[str]) -> list[str]:
        argv = (
            [uv, "pip", "freeze", "--python", str(_python(folder))]
            if uv
            else [str(_python(folder)), "-m", "pip", "freeze", "--disable-pip-version-check"]
        )
        text = run_logged(argv, [])
        return sorted(line for line in text.splitlines() if line and not line.startswith("#"))


def run_logged(argv: list[str], output: list[str], label: str | None = None) -> str:
    """Runs an installer command, appending the command and its output to OUTPUT; EnvBuildError with the
    output's tail (LABEL names the command there, by default its first words) when it fails, marked
    transient when the package index could not be reached.

    pip reports an index it could not reach only in its debug log (on the console it says "No matching
    distribution", as for a requirement that does not exist), so pip runs keep that log and it is read
    when they fail."""
    output.append("$ " + " ".join(argv) + "\n")
    debug_log = None
    if argv[1:3] == ["-m", "pip"] and len(argv) > 3:
        fd, name = tempfile.mkstemp(prefix="vlmhb-pip-", suffix=".log")
        os.close(fd)
        debug_log = Path(name)
        argv = [*argv[:4], "--log", str(debug_log), *argv[4:]]
    try:
        try:
            proc = run_child(argv)
        except Interrupted as exc:
            raise EnvBuildError(str(exc)) from None
        output.append(proc.stdout)
        if proc.returncode != 0:
            label = label or f"{Path(argv[0]).name} {' '.join(argv[1:3])}"
            detail = debug_log.read_text(encoding="utf-8", errors="replace") if debug_log else ""
            raise EnvBuildError(
                f"`{label}` exited {proc.returncode}:\n" + tail(_without_noise(proc.stdout)),
                transient=network_failure(proc.stdout) or network_failure(detail),
            )
    finally:
        if debug_log is not None:
            debug_log.unlink(missing_ok=True)
    return proc.stdout


# What pip and uv print when the package index (or a mirror) could not be reached: a retry may cure it.
# A bad requirement on a reachable index prints none of these (an index's 404 for an unknown project is a
# "Client Error"), only "No matching distribution found".
_NETWORK_FAILURE = re.compile(
    r"connection (?:reset|refused|aborted|broken)|connectionerror|newconnectionerror|read timed out|"
    r"timed out|temporary failure in name resolution|name or service not known|network is unreachable|"
    r"max retries exceeded|remotedisconnected|incompleteread|protocolerror|"
    r"http(?:s)? error 5\d\d|status code 5\d\d|\b50[234] (?:server error|service unavailable|bad gateway)|"
    r"failed to fetch|request failed after \d+ retries|error sending request|operation timed out",
    re.IGNORECASE,
)


def network_failure(output: str) -> bool:
    """Whether an installer's OUTPUT says the index could not be reached (a transient failure)."""
    return bool(_NETWORK_FAILURE.search(output))


def _python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _find_python(version: str) -> str:
    """An interpreter of VERSION: this one when it matches, else `pythonX.Y` on PATH."""
    if version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return getattr(sys, "_base_executable", sys.executable)
    found = shutil.which(f"python{version}")
    if not found:
        raise EnvBuildError(
            f"no Python {version} found on PATH (python{version}); install it or use the "
            "docker provider with an image that has it"
        )
    return found


def _relocate(tmp: Path, final: Path) -> None:
    """Rewrites the build folder's path to the final one in bin/ scripts (shebangs, activate)."""
    old, new = str(tmp).encode(), str(final).encode()
    for script in (tmp / "bin").iterdir() if (tmp / "bin").is_dir() else []:
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if old in data:
            script.write_bytes(data.replace(old, new))
    cfg = tmp / "pyvenv.cfg"
    if cfg.exists():
        cfg.write_bytes(cfg.read_bytes().replace(old, new))


def _without_noise(text: str) -> str:
    # pip warns once per package about this machine's unused local index; those lines hide the error.
    return "\n".join(line for line in text.splitlines() if "is ignored: it is neither a file nor" not in line)


def _touch(folder: Path) -> None:
    try:
        (folder / ".last-used").touch()
    except OSError:
        pass


def _last_used(folder: Path) -> float | None:
    stamp = folder / ".last-used"
    return stamp.stat().st_mtime if stamp.exists() else None


def _size_mb(folder: Path) -> float:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return round(total / 1e6, 1)

"""Offline bundles: a benchmark's files with a manifest of their sha256 hashes and the source revision,
as a folder or a tarball, to carry into a closed network.

    bundle = export_bundle(BENCHMARKS.get("docvqa"), resolve_source("hf://lmms-lab/DocVQA"), Path("docvqa"))
    folder = import_bundle(Path("docvqa.tar.gz"), Path("/data/docvqa"))   # every hash checked first

The manifest is `vlmhb-bundle.json` at the bundle's root. `verify_bundle` checks every file against it: a
missing, changed or unexpected file raises BundleError naming it, and nothing is read from such a bundle.
An import unpacks into a temporary folder beside its destination and renames it into place only once
every hash matched.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vlmhb_core.errors import BundleError
from vlmhyperbench.benchmarks._hashing import sha256_file

if TYPE_CHECKING:
    from vlmhyperbench.benchmarks._registry import Benchmark
    from vlmhyperbench.benchmarks._sources import DataSource

MANIFEST = "vlmhb-bundle.json"
FORMAT = "vlmhyperbench-bundle"
TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz")


@dataclass
class BundleManifest:
    """What vlmhb-bundle.json holds."""

    benchmark: str
    source: str
    """Where the files came from: `hf://ORG/NAME`, or the folder they were exported from."""
    revision: str | None
    """The hub commit of the files, when known."""
    split: str | None
    files: dict[str, dict] = field(default_factory=dict)
    """Relative path (POSIX) -> {"sha256": ..., "size": ...}."""
    synthetic: bool = False
    """Synthetic sample data in the benchmark's layout (`vlmhb bundle sample`), not the benchmark's."""
    created_at: str = ""
    format: str = FORMAT
    version: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def is_tarball(path: Path) -> bool:
    return path.name.endswith(TARBALL_SUFFIXES)


def is_bundle(path: Path) -> bool:
    """PATH is a bundle folder (it has the manifest) or a tarball."""
    return (path.is_dir() and (path / MANIFEST).is_file()) or (path.is_file() and is_tarball(path))


def read_manifest(folder: Path) -> BundleManifest:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{folder}: not a bundle: {MANIFEST} is missing") from None
    except (OSError, ValueError) as e:
        raise BundleError(f"{path}: cannot read the bundle manifest: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
        raise BundleError(f"{path}: not a {FORMAT} manifest (format, files)")
    known = {f for f in BundleManifest.__dataclass_fields__}
    try:
        return BundleManifest(**{k: v for k, v in data.items() if k in known})
    except TypeError as e:
        raise BundleError(f"{path}: bad bundle manifest: {e}") from None


def _files(folder: Path) -> list[str]:
    """Every file under FOLDER as a relative POSIX path, the manifest and hub download metadata aside."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != ".cache")
        for name in filenames:
            rel = Path(dirpath, name).relative_to(folder).as_posix()
            if rel != MANIFEST:
                out.append(rel)
    return sorted(out)


def verify_bundle(folder: Path, shown: str | None = None) -> BundleManifest:
    """Checks every file of the bundle FOLDER against its manifest; BundleError names the first missing,
    changed or unexpected file (and how many more there are). SHOWN names the bundle in messages when
    FOLDER is where it was unpacked (a tarball's members are shown as `TARBALL:MEMBER`)."""
    manifest = read_manifest(folder)

    def name(rel: str) -> str:
        return f"{shown}:{rel}" if shown else str(folder / rel)

    problems: list[str] = []
    for rel, meta in sorted(manifest.files.items()):
        path = folder / rel
        if not path.is_file():
            problems.append(f"{name(rel)}: missing (the bundle manifest lists it)")
        elif path.stat().st_size != meta.get("size"):
            problems.append(
                f"{name(rel)}: changed: {path.stat().st_size} bytes, the manifest says {meta.get('size')}"
            )
        elif (digest := sha256_file(path)) != meta.get("sha256"):
            problems.append(
                f"{name(rel)}: changed: its sha256 is {digest}, the manifest says {meta.get('sha256')}"
            )
    for rel in _files(folder):
        if rel not in manifest.files:
            problems.append(f"{name(rel)}: unexpected file (not in the bundle manifest)")
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise BundleError(f"bundle {shown or folder} is corrupt: {problems[0]}{more}; nothing was run on it")
    return manifest


def benchmark_files(root: Path, benchmark: Benchmark, split: str | None) -> list[str]:
    """The files under ROOT that BENCHMARK needs (its split's shards, or all of them, and a README)."""
    patterns = benchmark.file_patterns(split)
    return [rel for rel in _files(root) if any(fnmatch.fnmatch(rel, p) for p in patterns)]


def export_bundle(
    benchmark: Benchmark, source: DataSource, out: Path, split: str | None = None, *, synthetic: bool = False
) -> Path:
    """Writes BENCHMARK's files from SOURCE, with their manifest, to OUT: a folder, or a tarball when OUT
    ends in .tar, .tar.gz or .tgz. OUT must not exist yet. SYNTHETIC marks sample data (see _samples), whose
    README.md goes with it. Returns OUT."""
    out = Path(out)
    if out.exists():
        raise BundleError(f"{out}: already exists; choose a new folder or file for the bundle")
    files = benchmark_files(source.path, benchmark, split)
    if synthetic and (source.path / "README.md").is_file() and "README.md" not in files:
        files.append("README.md")
    if not files or (not benchmark.files and not any(f.endswith(".parquet") for f in files)):
        raise BundleError(
            f"{source.path}: no file of benchmark '{benchmark.name}'"
            + (f" split '{split}'" if split else "")
            + f" (looked for {', '.join(benchmark.file_patterns(split))})"
        )
    manifest = BundleManifest(
        benchmark=benchmark.name,
        source=source.spec,
        revision=source.revision,
        split=split,
        synthetic=synthetic,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        folder = Path(tmp) / "bundle"
        for rel in files:
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.path / rel, target)  # the hub's cache holds symlinks: copy the content
            manifest.files[rel] = {"sha256": sha256_file(target), "size": target.stat().st_size}
        (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        if is_tarball(out):
            partial = Path(tmp) / out.name
            mode = "w:gz" if out.name.endswith(("gz", ".tgz")) else "w"
            with tarfile.open(partial, mode) as tar:
                for rel in [MANIFEST, *files]:
                    tar.add(folder / rel, arcname=rel, recursive=False)
            os.replace(partial, out)
        else:
            os.replace(folder, out)
    return out


def import_bundle(bundle: Path, dest: Path) -> Path:
    """Checks the bundle BUNDLE (a folder or a tarball) and puts it at DEST, which must not exist yet.
    Nothing is left at DEST unless every file matched its hash. Returns DEST."""
    bundle, dest = Path(bundle), Path(dest)
    if dest.exists():
        raise BundleError(f"{dest}: already exists; import into a new folder")
    if not bundle.exists():
        raise BundleError(f"{bundle}: no such bundle")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
        staged = Path(tmp) / "bundle"
        if bundle.is_dir():
            verify_bundle(bundle)
            shutil.copytree(bundle, staged)
            verify_bundle(staged, shown=f"{bundle} (copied to {dest})")
        else:
            unpack(bundle, staged)
            verify_bundle(staged, shown=str(bundle))
        os.replace(staged, dest)
    return dest


def unpack(tarball: Path, folder: Path) -> None:
    """Unpacks TARBALL into FOLDER; only plain files and folders inside it (the `data` filter)."""
    try:
        with tarfile.open(tarball) as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError) as e:
        raise BundleError(f"{tarball}: cannot unpack the bundle: {e}") from None

"""Where a benchmark's files come from, for datasets.csv's `path`:

- a local folder (or file) with the hub's files, as `hf download --repo-type dataset` or a copy leaves them;
- `hf://ORG/NAME[@REVISION]`: the Hugging Face hub's cache (huggingface_hub), read offline when the cache
  has the files, else downloaded from the hub or the mirror that HF_ENDPOINT names;
- an offline bundle (see _bundle): a folder with `vlmhb-bundle.json`, checked file by file before use, or
  a tarball, imported once into the cache folder (VLMHB_CACHE_DIR/bundles) and checked there.

    source = resolve_source("hf://lmms-lab/DocVQA@2a5b...", root=folder, benchmark=docvqa, split="test")
    source.path, source.revision          # the folder to read, the hub commit (None if unknown)
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vlmhb_core.errors import DatasetError
from vlmhyperbench.benchmarks._bundle import is_bundle, is_tarball, verify_bundle
from vlmhyperbench.benchmarks._hashing import sha256_file

if TYPE_CHECKING:
    from vlmhyperbench.benchmarks._registry import Benchmark

HUB_PREFIX = "hf://"
_HUB = re.compile(r"^hf://(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<revision>[\w./-]+))?/?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_lock = threading.Lock()
_resolved: dict[tuple, DataSource] = {}


@dataclass(frozen=True)
class DataSource:
    """A benchmark's files, found."""

    spec: str
    """The path as datasets.csv writes it."""
    path: Path
    """The local folder (or file) to read."""
    kind: Literal["folder", "hub", "bundle"]
    revision: str | None = None
    """The hub commit the files are from, when known (a hub snapshot, a bundle, a download's metadata)."""
    synthetic: bool = False
    """A bundle of synthetic sample data (`vlmhb bundle sample`), not the benchmark's own."""


def is_hub(spec: str) -> bool:
    return spec.startswith(HUB_PREFIX)


def parse_hub(spec: str) -> tuple[str, str | None]:
    """(`ORG/NAME`, revision or None) of `hf://ORG/NAME[@REVISION]`; DatasetError when it is not one."""
    match = _HUB.match(spec)
    if not match:
        raise DatasetError(f"{spec!r} is not a hub path: write hf://ORG/NAME or hf://ORG/NAME@REVISION")
    return match.group("repo"), match.group("revision")


def resolve_source(
    spec: str, root: Path | None = None, benchmark: Benchmark | None = None, split: str | None = None
) -> DataSource:
    """The files SPEC names (relative paths from ROOT); DatasetError (BundleError for a bad bundle) says
    why they cannot be used. Hub look-ups and tarball imports are done once per process."""
    if is_hub(spec):
        key = (spec, benchmark.name if benchmark else None, split)
        with _lock:
            if key not in _resolved:
                _resolved[key] = _from_hub(spec, benchmark, split)
            return _resolved[key]
    path = Path(spec).expanduser()
    if not path.is_absolute() and root is not None:
        path = root / path
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if is_bundle(path):
        if is_tarball(path):
            return _from_tarball(spec, path)
        manifest = verify_bundle(path)
        return DataSource(spec, path, "bundle", manifest.revision, manifest.synthetic)
    return DataSource(spec, path, "folder", local_revision(path))


def local_revision(path: Path) -> str | None:
    """The hub commit of a local copy: the snapshot folder of the hub's cache it sits in
    (`.../snapshots/<commit>/...`), or the metadata that `hf download --local-dir` leaves."""
    parts = path.resolve().parts if path.exists() else path.parts
    for i, part in enumerate(parts[:-1]):
        if part == "snapshots" and _COMMIT.match(parts[i + 1]):
            return parts[i + 1]
    folder = path if path.is_dir() else path.parent
    for meta_dir in (
        folder / ".cache" / "huggingface" / "download",
        folder.parent / ".cache" / "huggingface" / "download",
    ):
        if meta_dir.is_dir():
            for meta in sorted(meta_dir.rglob("*.metadata")):
                first = meta.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
                if first and _COMMIT.match(first[0].strip()):
                    return first[0].strip()
    return None


def _from_hub(spec: str, benchmark: Benchmark | None, split: str | None) -> DataSource:
    repo, revision = parse_hub(spec)
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise DatasetError(
            f"{spec}: hf:// paths need the package huggingface_hub: pip install 'vlmhyperbench[hub]' "
            "(or pip install huggingface_hub); or use a local folder or an offline bundle"
        ) from None
    patterns = benchmark.file_patterns(split) if benchmark is not None else None
    args = {"repo_type": "dataset", "revision": revision, "allow_patterns": patterns}
    try:  # the cache first: a closed network never waits on a time-out for data it already has
        folder = snapshot_download(repo, local_files_only=True, **args)
    except Exception as cached_error:
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
            raise DatasetError(
                f"{spec}: not in the Hugging Face cache and HF_HUB_OFFLINE is set ({cached_error})"
            ) from None
        try:
            folder = snapshot_download(repo, **args)
        except Exception as e:
            endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
            raise DatasetError(
                f"{spec}: not in the Hugging Face cache and cannot be downloaded from {endpoint} "
                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); set HF_ENDPOINT to a "
                "mirror, or use a local folder or an offline bundle"
            ) from None
    folder = Path(folder)
    return DataSource(spec, folder, "hub", folder.name if _COMMIT.match(folder.name) else revision)


def _from_tarball(spec: str, tarball: Path) -> DataSource:
    """A tarball bundle, imported once into the cache (keyed by its sha256) and checked there."""
    from vlmhb_core.settings import get_settings
    from vlmhyperbench.benchmarks._bundle import import_bundle

    key = (str(tarball.resolve()), "tarball")
    with _lock:
        if key in _resolved:
            return _resolved[key]
        folder = get_settings().cache_dir / "bundles" / sha256_file(tarball)
        if not folder.exists():
            import_bundle(tarball, folder)
        manifest = verify_bundle(folder)
        _resolved[key] = DataSource(spec, folder, "bundle", manifest.revision, manifest.synthetic)
        return _resolved[key]

"""sha256 of a benchmark's files, each file hashed once per process while it is unchanged on disk
(a run checks its data in the command line, in the flow's plan and in each model's subflow)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_CHUNK = 1 << 20
_lock = threading.Lock()
_known: dict[tuple[str, int, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """The file's sha256 (hex), from memory when its size, mtime and inode have not changed."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino)
    with _lock:
        if key in _known:
            return _known[key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    with _lock:
        _known[key] = value
    return value


def data_hash(file_hashes: list[str]) -> str:
    """One sha256 for a set of files: over their sorted sha256s, so the same data gives the same hash
    whether it sits in a folder, the hub's cache or a bundle."""
    return hashlib.sha256("\n".join(sorted(file_hashes)).encode()).hexdigest()

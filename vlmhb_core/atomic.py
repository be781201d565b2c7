"""Writing files and folders so that a reader sees the old one or the new one, never half of one.

A file is written to a temporary name beside it and renamed over the old one (`os.replace` is atomic
on POSIX file systems, NFS and CephFS included); a folder is built under a temporary name and renamed
into place only when it is complete. A crash or a full disk leaves the old version and, at worst, a
temporary file that the next write replaces.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")


def atomic_write(path: str | Path, data: str | bytes, *, fsync: bool = False) -> None:
    """Writes DATA (text as UTF-8) to PATH atomically; FSYNC also survives a power cut."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if fsync:
        _fsync_dir(path.parent)


def atomic_write_json(path: str | Path, data: Any, **dumps: Any) -> None:
    """DATA as JSON (indent 2, UTF-8, anything unknown as str unless DUMPS say otherwise)."""
    options = {"indent": 2, "ensure_ascii": False, "default": str, **dumps}
    atomic_write(path, json.dumps(data, **options) + "\n")


def write_parquet_atomic(df, path: str | Path, *, fsync: bool = True) -> None:
    """A polars DataFrame as Parquet at PATH, atomically (fsynced by default: predictions are the record)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        df.write_parquet(tmp)
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if fsync:
        _fsync_dir(path.parent)


@contextmanager
def atomic_folder(final: str | Path) -> Iterator[Path]:
    """Yields a temporary folder beside FINAL; when the block ends without an error it replaces FINAL,
    else it is removed and FINAL is left as it was."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        tmp.replace(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

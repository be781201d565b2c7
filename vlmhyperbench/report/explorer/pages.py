"""The sample explorer's page images, referenced and never inlined.

A page that is a file of its own is referenced where it lies (by a path relative to the run folder; the
viewer falls back to its absolute path when the run folder was moved without it). A page that is no file
(a Parquet cell, a PDF page, inline bytes) is written once to `RUN/samples/pages/KEY.EXT`. Each page gets one
thumbnail, `RUN/samples/thumbs/KEY.jpg`, made once: a file already there (a rescore, a resumed run) is kept.
Thumbnails are made within a time budget (THUMB_BUDGET_S), so that the report of a large run stays quick
(at 5,000 distinct pages they cost minutes on two cores): a page left without one shows in the list as the
page itself, scaled by the browser (only the rows on screen load), and the next report makes more.
KEY names the page's source (path, size and modification time; Parquet row; PDF digest and page), so two
samples on one page share both files, and a changed source gets new ones.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

PAGES = "samples/pages"
THUMBS = "samples/thumbs"
THUMB_PX = 240
THUMB_BUDGET_S = 20.0
"""Seconds a report spends making thumbnails (pages that are no file are always written)."""
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif",
              "image/bmp": "bmp", "image/tiff": "tif"}  # fmt: skip


@dataclass
class Page:
    """One page as the viewer loads it: URLs relative to the run folder (None: not available, `error` says
    why)."""

    src: str | None
    thumb: str | None
    error: str | None = None

    def record(self) -> dict:
        out = {"src": self.src, "thumb": self.thumb}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class _Job:
    key: str
    source: object  # the dataset's image source (ImageRef, PdfPage...)
    file: Path | None  # a file of its own, referenced where it lies
    page: Page


class PageWriter:
    """Collects the pages of a run's samples (`page`), then writes what is missing (`finish`)."""

    def __init__(self, run_root: Path, thumbnails: bool = True):
        self.root = Path(run_root).resolve()
        self.thumbnails = thumbnails
        self._jobs: dict[str, _Job] = {}
        self.made = {"pages": 0, "thumbs": 0, "kept": 0, "failed": 0, "deferred": 0}
        self._deadline = 0.0

    def page(self, source) -> Page:
        """The Page of an image SOURCE (shared by every sample on it)."""
        key, file = _identity(source)
        job = self._jobs.get(key)
        if job is None:
            if file is not None:
                src = _relative_url(file, self.root)
            else:
                src = None  # known once written (its extension comes from its bytes)
            thumb = f"{THUMBS}/{key}.jpg" if self.thumbnails else None
            job = self._jobs[key] = _Job(key, source, file, Page(src, thumb))
        return job.page

    def finish(self, workers: int | None = None, budget_s: float = THUMB_BUDGET_S) -> None:
        """Writes the pages that are no file, and the thumbnails not made yet for BUDGET_S seconds, in threads
        (Pillow decodes without the GIL)."""
        self._deadline = time.monotonic() + budget_s
        (self.root / PAGES).mkdir(parents=True, exist_ok=True)
        (self.root / THUMBS).mkdir(parents=True, exist_ok=True)
        existing = {p.name.split(".", 1)[0]: p.name for p in (self.root / PAGES).iterdir()}
        thumbs = {p.name for p in (self.root / THUMBS).iterdir()}
        todo = []
        for job in self._jobs.values():
            if job.file is None:
                done = existing.get(job.key)
                if done is not None:
                    job.page.src = f"{PAGES}/{done}"
            need_page = job.page.src is None
            need_thumb = self.thumbnails and f"{job.key}.jpg" not in thumbs
            if need_page or need_thumb:
                todo.append((job, need_page, need_thumb))
            else:
                self.made["kept"] += 1
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
            for outcome in pool.map(lambda t: self._write(*t), todo):
                for k in outcome:
                    self.made[k] += 1

    def _write(self, job: _Job, need_page: bool, need_thumb: bool) -> list[str]:
        from vlmhyperbench.datasets import sniff_mime

        done = []
        if need_thumb and time.monotonic() > self._deadline:  # over budget: the next report makes it
            need_thumb = False
            job.page.thumb = None
            done.append("deferred")
            if not need_page:
                return done
        try:
            data = job.source.read_bytes()
            if need_page:
                ext = EXTENSIONS.get(sniff_mime(data[:16]), "bin")
                name = f"{job.key}.{ext}"
                _write_file(self.root / PAGES / name, data)
                job.page.src = f"{PAGES}/{name}"
                done.append("pages")
            if need_thumb:
                _write_file(self.root / THUMBS / f"{job.key}.jpg", _thumbnail(data))
                done.append("thumbs")
        except Exception as exc:  # one unreadable page: that page says so, the explorer stands
            job.page.error = f"{type(exc).__name__}: {exc}"
            if not (self.root / THUMBS / f"{job.key}.jpg").is_file():
                job.page.thumb = None
            done.append("failed")
        return done


def _identity(source) -> tuple[str, Path | None]:
    """(KEY, the file to reference or None) of an image source."""
    path = getattr(source, "path", None)
    if getattr(source, "data", None) is not None:
        return _hash("data", hashlib.blake2b(source.data, digest_size=16).hexdigest()), None
    if path is None:
        return _hash("unknown", repr(source)), None
    path = Path(path).resolve()
    try:
        st = path.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    if hasattr(source, "dpi") and hasattr(source, "index") and not hasattr(source, "row"):  # a PDF page
        return _hash("pdf", str(path), stamp, str(source.index), str(source.dpi)), None
    row = getattr(source, "row", None)
    if row is not None:
        return _hash("parquet", str(path), stamp, str(row), source.column, str(source.index)), None
    return _hash("file", str(path), stamp), path


def _hash(*parts: str) -> str:
    return hashlib.blake2b("\0".join(parts).encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()


def _relative_url(file: Path, root: Path) -> str:
    """FILE as a URL relative to ROOT (the folder of samples.html); absolute where no relative path exists
    (another drive)."""
    try:
        rel = os.path.relpath(file, root)
    except ValueError:
        return file.as_uri()
    return quote(rel.replace(os.sep, "/"))


def _thumbnail(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (THUMB_PX * 2, THUMB_PX * 2))  # JPEG: decoded at a fraction of its size, far faster
        img = img.convert("RGB")
        img.thumbnail((THUMB_PX, THUMB_PX))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=70)
    return buf.getvalue()


def _write_file(path: Path, data: bytes) -> None:
    """Written under a temporary name, then renamed: a reader never sees half a file (no fsync: a lost page
    or thumbnail is made again by the next report)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

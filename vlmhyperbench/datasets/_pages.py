"""PDF pages as images: rendered with pypdfium2 when first read, once per (file hash, page, dpi).

    doc = open_pdf(path)                       # PdfInfo: page count, file hash; SampleError if unusable
    page = PdfPage(path, index=0, dpi=144, digest=doc.digest)
    png = page.read_bytes()                    # rendered now, or read from the page cache

A rendered page is kept twice: in memory (the last few pages, for the several readers of one run) and
on disk under `VLMHB_CACHE_DIR/pages/<file hash>/<page>-<dpi>.png`, written atomically, so a second
model, a resumed run or the report's thumbnails never render it again. The key is the file's content
hash, so a PDF that is replaced is rendered afresh and a copy under another name is not.

PDFium is not thread-safe; Prefect runs pairs in threads, so every call into it holds one lock.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vlmhyperbench.datasets._sample import SampleError

DEFAULT_DPI = 144
MAX_PAGE_PIXELS = 50_000_000
"""A page larger than this at the asked DPI (an A0 poster at 200 dpi is 48 M) fails its sample: rendering
it would take gigabytes, and no model reads it at that size anyway."""
MAX_DOCUMENT_PAGES = 1000
"""A whole-document sample of more pages fails unless max_pages cuts it: nobody sends 5,000 pages."""
PNG_LEVEL = 1
"""zlib level of rendered pages: level 1 costs a quarter of level 6's time for 10 % more bytes."""

_PDFIUM = threading.RLock()
_MEMORY: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
_MEMORY_PAGES = 32


@dataclass(frozen=True)
class PdfInfo:
    """What opening a PDF tells: its page count, its content hash and each page's size in points."""

    path: Path
    pages: int
    digest: str
    sizes: tuple[tuple[float, float], ...]


def file_digest(path: Path) -> str:
    """The content hash (blake2b, 32 hex digits) of a file, computed once per (path, size, mtime)."""
    st = path.stat()
    return _digest(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=4096)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _why(exc: Exception, path: Path) -> str:
    """PDFium's reason in words a user acts on (pypdfium2 says 'Failed to load document (PDFium: ...)')."""
    text = str(exc)
    if "password" in text.lower():
        return "the PDF is encrypted (password-protected); decrypt it first (e.g. qpdf --decrypt)"
    if "format" in text.lower() or "file" in text.lower():
        if _empty_page_tree(path):  # PDFium refuses a document without pages as a format error
            return "the PDF has no pages"
        return f"not a readable PDF (corrupt or truncated): {text}"
    return text


def _empty_page_tree(path: Path) -> bool:
    try:
        data = path.read_bytes()[: 1 << 20]
    except OSError:
        return False
    return bool(re.search(rb"/Count\s+0\b", data)) and not re.search(rb"/Type\s*/Page(?![s\w])", data)


@contextmanager
def _document(path: Path):
    """PATH opened by PDFium under the process's PDFium lock (PDFium is not thread-safe), closed after;
    SampleError in words a user acts on when PDFium cannot open it."""
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as e:
            raise SampleError(f"{path}: {_why(e, path)}") from None
        try:
            yield pdf
        finally:
            pdf.close()


def open_pdf(path: Path) -> PdfInfo:
    """Opens PATH and reads its page count and page sizes; SampleError saying why it cannot be used."""
    try:
        digest = file_digest(path)
    except OSError as e:
        raise SampleError(f"{path}: cannot read: {e.strerror or e}") from None
    with _document(path) as pdf:
        n = len(pdf)
        sizes = tuple(tuple(pdf.get_page_size(i)) for i in range(n))
    if n == 0:
        raise SampleError(f"{path}: the PDF has no pages")
    return PdfInfo(path=path, pages=n, digest=digest, sizes=sizes)  # type: ignore[arg-type]


def check_page_size(info: PdfInfo, index: int, dpi: int) -> None:
    """SampleError when page INDEX is too large to render at DPI (see MAX_PAGE_PIXELS)."""
    width, height = info.sizes[index]
    pixels = (width * dpi / 72) * (height * dpi / 72)
    if pixels > MAX_PAGE_PIXELS:
        raise SampleError(
            f"{info.path}: page {index + 1} is {width / 72 * 25.4:.0f} x {height / 72 * 25.4:.0f} mm: at "
            f"{dpi} dpi that is {pixels / 1e6:.0f} megapixels, over the limit of {MAX_PAGE_PIXELS / 1e6:.0f} "
            "(give the dataset a lower dpi)"
        )


def page_text(path: Path, indices: list[int]) -> list[str]:
    """The text layer of the pages INDICES (0-based), one string per page, lines joined by '\\n'."""
    out = []
    with _document(path) as pdf:
        for i in indices:
            page = pdf[i]
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_bounded()
            finally:
                textpage.close()
                page.close()
            lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
            out.append("\n".join(line for line in lines if line.strip()))
    return out


def _cache_root() -> Path:
    from vlmhb_core.settings import get_settings

    return Path(get_settings().cache_dir) / "pages"


def render_page(path: Path, index: int, dpi: int, digest: str) -> bytes:
    """Page INDEX of PATH as PNG at DPI: from memory, else from the page cache, else rendered now."""
    key = (digest, index, dpi)
    with _PDFIUM:
        hit = _MEMORY.get(key)
        if hit is not None:
            _MEMORY.move_to_end(key)
            return hit
    cached = _cache_root() / digest / f"{index + 1}-{dpi}.png"
    try:
        data = cached.read_bytes()
    except OSError:
        data = _render(path, index, dpi)
        try:
            _write_atomic(cached, data)
        except OSError:  # a read-only or full cache costs a render next time, nothing more
            pass
    with _PDFIUM:
        _MEMORY[key] = data
        while len(_MEMORY) > _MEMORY_PAGES:
            _MEMORY.popitem(last=False)
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    """A temporary file beside PATH renamed over it: a reader sees the whole page or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


RENDERS = {"count": 0}
"""How many pages this process has rendered (bench/ and tests check that each page is rendered once)."""


def _render(path: Path, index: int, dpi: int) -> bytes:
    with _document(path) as pdf:
        if not 0 <= index < len(pdf):
            raise SampleError(f"{path}: page {index + 1} does not exist (the PDF has {len(pdf)})")
        page = pdf[index]
        try:
            pixels = page.render(scale=dpi / 72, may_draw_forms=True, rev_byteorder=True).to_numpy()
        finally:
            page.close()
        RENDERS["count"] += 1
    return encode_png(pixels[..., :3] if pixels.ndim == 3 else pixels)


def encode_png(pixels) -> bytes:
    """An RGB (h, w, 3) or grey (h, w) uint8 array as PNG: no row filter, zlib level PNG_LEVEL.

    Pillow tries every PNG filter on every row: 80-120 ms for an A4 page at 144 dpi, four times the
    render. Unfiltered rows compress as well on rendered pages (white runs) in 30 ms; the file is a
    plain PNG that every reader decodes to the same pixels."""
    import struct
    import zlib

    import numpy as np

    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    rows = np.zeros((height, width * channels + 1), np.uint8)  # a leading 0 on each row: filter "none"
    rows[:, 1:] = pixels.reshape(height, -1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2 if channels == 3 else 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_LEVEL))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True, slots=True)
class PdfPage:
    """One page of a PDF as an image source (what `Sample.images` holds): rendered when read."""

    path: Path
    index: int
    """0-based page number."""
    dpi: int = DEFAULT_DPI
    digest: str = ""
    """The file's content hash (PdfInfo.digest); computed on first read when empty."""

    mime = "image/png"

    def read_bytes(self) -> bytes:
        digest = self.digest
        if not digest:
            try:
                digest = file_digest(self.path)
            except OSError as e:
                raise SampleError(f"{self.path}: cannot read: {e.strerror or e}") from None
        return render_page(self.path, self.index, self.dpi, digest)


def clear_memory() -> None:
    """Forgets the in-memory pages (tests and bench/ measure the disk cache and rendering)."""
    with _PDFIUM:
        _MEMORY.clear()


def cache_files(digest: str) -> list[str]:
    """The cached renders of one file (tests)."""
    folder = _cache_root() / digest
    return sorted(os.listdir(folder)) if folder.is_dir() else []

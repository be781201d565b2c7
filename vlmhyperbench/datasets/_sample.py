"""The sample model every dataset format is read into; images stay on disk until asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from vlmhb_core.errors import BenchError

# Parquet images are read in blocks of this many rows: the row-group size that Hugging Face
# writes for image datasets, so that a block costs one row group and file-order reads hit the cache.
PARQUET_BLOCK_ROWS = 100

_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"WEBP", 8, "image/webp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"%PDF", 0, "application/pdf"),
]


class SampleError(BenchError):
    """One sample cannot be used (missing or unreadable image); it fails alone, not the dataset."""


def sniff_mime(head: bytes) -> str:
    """The media type of image bytes from their magic number (application/octet-stream if unknown)."""
    for magic, offset, mime in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if mime == "image/webp" and head[:4] != b"RIFF":
                continue
            return mime
    return "application/octet-stream"


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One page image: a file (`path`), inline bytes (`data`), or row `row` of Parquet file `path`.

    Nothing is read until `read_bytes()` or `mime`; a failure there raises SampleError.
    """

    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)
    row: int | None = None
    column: str = "image"
    """The Parquet column of a row's image; for a file, the dataset field that names it (image_path...)."""
    index: int | None = None
    """With `row`: the position in a list-of-images column (multi-page Parquet rows)."""

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.path is None:
            raise SampleError("image reference has neither a path nor data")
        if self.row is not None:
            return _parquet_image(self.path, self.row, self.column, self.index)
        try:
            return self.path.read_bytes()
        except (OSError, ValueError) as e:  # ValueError: a path no file system takes (a NUL in it)
            raise SampleError(f"{self.path}: cannot read image: {getattr(e, 'strerror', None) or e}") from e

    @property
    def mime(self) -> str:
        if self.data is not None or self.row is not None:
            return sniff_mime(self.read_bytes()[:16])
        assert self.path is not None
        try:
            with open(self.path, "rb") as f:
                return sniff_mime(f.read(16))
        except OSError as e:
            raise SampleError(f"{self.path}: cannot read image: {e.strerror or e}") from e


@dataclass(frozen=True, slots=True)
class Sample:
    """One question about one document (one or several page images), with its references.

    Task fields: `label` + `classes` (classification), `fields` (KIE reference object), `order`
    (page ordering). `images` are image sources: ImageRef (files, Parquet cells) or PdfPage (a PDF
    page, rendered when read). `error` is set on a sample that could not be built (an image path that leaves
    the dataset folder, say): it is kept so that the run records it as a failed sample.
    """

    id: str
    images: tuple[Any, ...]
    question: str = ""
    references: tuple[str, ...] = ()
    doc_class: str = ""
    question_type: str = ""
    split: str = ""
    label: str | None = None
    classes: tuple[str, ...] = ()
    fields: dict[str, Any] | None = None
    order: tuple[int, ...] | None = None
    error: str | None = None
    error_field: str | None = None
    """The field of the row that `error` is about, when the error is in the data itself and found without
    reading an image (a path that leaves the folder, an empty path, a missing PDF): the plan reports it as
    `FILE:LINE: field 'NAME'` before anything runs. None for an error found by decoding (a corrupt PDF),
    which fails only its sample."""
    dpi: int | None = None
    """The resolution the sample's PDF pages are rendered at (None: image files, sent as they are)."""
    annotation: Any = None
    """The dataset's own annotation of the sample (JSON-able), for official scorers that need more than
    the references: an OmniDocBench page's layout elements, an olmOCR-bench page's unit tests."""
    where: str = ""
    """Where the sample is written: `FILE:LINE`, `FILE: data[N]` or `FILE: row N` (for error messages)."""
    keys: tuple[str, ...] = ()
    """The fields its row gives (with a value; for a CSV file, the header's columns)."""
    unknown: tuple[str, ...] = ()
    """Fields of its row that the format does not know: ignored, and reported once per dataset."""


@lru_cache(maxsize=4)
def _parquet_block(path: Path, mtime_ns: int, start: int, column: str) -> list[Any]:
    """Rows start..start+PARQUET_BLOCK_ROWS of one column (mtime_ns: a rewritten file is reread)."""
    import polars as pl

    try:
        frame = pl.scan_parquet(path).slice(start, PARQUET_BLOCK_ROWS).select(column).collect()
    except Exception as e:  # polars raises several kinds for unreadable files
        raise SampleError(f"{path}: cannot read column '{column}': {e}") from e
    return frame.to_series().to_list()


def _parquet_image(path: Path, row: int, column: str, index: int | None) -> bytes:
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError as e:
        raise SampleError(f"{path}: cannot read image: {e.strerror or e}") from e
    start = row - row % PARQUET_BLOCK_ROWS
    values = _parquet_block(path, mtime_ns, start, column)
    if row - start >= len(values):
        raise SampleError(f"{path}: row {row} not found")
    value = values[row - start]
    if index is not None:
        value = value[index] if value is not None and index < len(value) else None
    if isinstance(value, dict):
        if value.get("bytes") is not None:
            return value["bytes"]
        if value.get("path"):
            return _parquet_side_file(path, value["path"], row)
        value = None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and value:  # base64 text (CC-OCR's layout, VLMEvalKit's TSVs)
        import base64
        import binascii

        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SampleError(f"{path}: row {row}: column '{column}' is text but not base64") from None
    raise SampleError(f"{path}: row {row}: column '{column}' has no image bytes")


def _parquet_side_file(path: Path, rel: str, row: int) -> bytes:
    """An image that a Parquet row names by path only: relative to the file, confined to its folder."""
    from vlmhyperbench.datasets._paths import confine

    ref, error = confine(path.parent, rel)
    if ref is None:
        raise SampleError(f"{path}: row {row}: {error}")
    return ref.read_bytes()

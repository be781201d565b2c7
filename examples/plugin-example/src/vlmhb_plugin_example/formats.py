"""textfolder: a folder of page images, each with its transcription beside it (`scan1.png` + `scan1.txt`).

Sub-folders are document classes: `invoices/a.png` is sample `invoices/a` of doc_class `invoices`.
"""

from __future__ import annotations

import os
from pathlib import Path

from vlmhb_core.errors import DatasetError
from vlmhyperbench.datasets import ImageRef, Sample

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}


def read_textfolder(path: Path) -> list[Sample]:
    """One OCR sample per image under PATH whose `.txt` transcription is beside it."""
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root}: a textfolder dataset is a folder of images and .txt transcriptions")
    real_root = os.path.realpath(root)
    samples = []
    for image in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        rel = image.relative_to(root)
        sample_id = rel.with_suffix("").as_posix()
        text = image.with_suffix(".txt")
        if not text.is_file():
            raise DatasetError(f"{image}: no transcription {text.name} beside it")
        inside = os.path.realpath(image).startswith(real_root + os.sep)
        samples.append(
            Sample(
                id=sample_id,
                images=(ImageRef(path=image),) if inside else (),
                references=(text.read_text(encoding="utf-8").strip(),),
                doc_class=rel.parent.as_posix() if rel.parent != Path(".") else "",
                question_type="full_text",
                error=None if inside else f"image {rel} leaves the dataset folder {root}",
            )
        )
    if not samples:
        raise DatasetError(f"{root}: no image with a .txt transcription")
    return samples

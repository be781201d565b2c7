"""Image paths confined to the dataset's folder, symlinks included."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from vlmhyperbench.datasets._sample import ImageRef


@lru_cache(maxsize=4096)
def _real_dir(path: str) -> str:
    # Folders repeat across samples: resolving each once keeps 100k images to ~1 syscall apiece.
    return os.path.realpath(path)


def confine(root: Path, rel: str, field: str = "image") -> tuple[ImageRef | None, str | None]:
    """The image `rel` names under `root`, or None and why when it is empty or leaves `root`. FIELD: the
    dataset field that names it (the ImageRef's `column`, for messages: `field 'image_path'`).

    The check is on the real path, so `..`, absolute paths and symlinks that point outside are all
    refused; the file itself need not exist here (the plan stats every image before anything runs:
    datasets.file_problems; one that vanishes later fails its sample when read).
    """
    rel = rel.strip()
    if not rel:
        return None, "empty image path"
    if "\x00" in rel:  # no file system takes it; os calls would raise ValueError, not OSError
        return None, f"image path {rel!r} contains a NUL character"
    real_root = _real_dir(str(root))
    joined = os.path.join(str(root), rel)
    parent, name = os.path.split(joined)
    if name in ("", ".", ".."):
        real = _real_dir(joined)
    else:
        real = os.path.join(_real_dir(parent), name)
        if os.path.islink(real):
            real = os.path.realpath(real)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        return None, f"image path '{rel}' leaves the dataset folder {root}"
    return ImageRef(path=Path(real), column=field), None

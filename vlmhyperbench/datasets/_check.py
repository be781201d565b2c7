"""The data checks of the plan: what can be found wrong in a dataset without decoding an image.

    file_problems(samples)  # ["data/annotation.csv:7: field 'image_path': image '...p7.png' not found"]

Each sample's error that is in the data itself (`Sample.error_field`: a path that leaves the dataset's
folder, an empty path, a missing PDF) and each image file it names, checked by one stat: it exists, is a
file, is not empty, and may be read. Decoding is left to the run: an image that is there but corrupt fails
its sample alone, with its reason.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vlmhyperbench.datasets._sample import ImageRef, Sample


def file_problems(samples: list[Sample]) -> list[str]:
    """`WHERE: field 'NAME': what is wrong` for each sample whose data is wrong (see the module docstring)."""
    problems = []
    for sample in samples:
        if sample.error and sample.error_field:
            problems.append(f"{sample.where}: field '{sample.error_field}': {sample.error}")
            continue
        for image in sample.images:
            if not isinstance(image, ImageRef) or image.path is None or image.row is not None:
                continue  # inline bytes, a Parquet cell (its file was read), a PDF page (its file was opened)
            problem = image_problem(image.path)
            if problem is not None:
                problems.append(f"{sample.where}: field '{image.column}': {problem}")
                break
    return problems


def image_problem(path: Path) -> str | None:
    """Why the image file PATH cannot be sent (one stat and an access check), or None."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"image {str(path)!r} not found"
    except OSError as exc:
        return f"image {str(path)!r} cannot be read: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"image {str(path)!r} is not a file"
    if st.st_size == 0:
        return f"image {str(path)!r} is empty (0 bytes)"
    if not os.access(path, os.R_OK):
        return f"image {str(path)!r} cannot be read (permission denied)"
    return None
